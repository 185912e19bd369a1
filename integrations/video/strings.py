"""Thai and English texts of the video integration: stream reasons and page strings."""

from __future__ import annotations

from typing import Final

from hub.i18n import register_by_lang, register_pairs

__all__ = ("REASONS", "STRINGS", "disk_help", "disk_text", "reason_text")

#: Why a stream is not playing, by code (``Restream.status.reason``).
REASONS: Final[dict[str, tuple[str, str]]] = {
    "idle": ("ไม่มีผู้ดูหรือการบันทึก สตรีมหยุดไว้", "Nobody is watching or recording; the stream is paused"),
    "starting": ("กำลังเชื่อมต่อกล้อง…", "Connecting to the camera…"),
    "offline": ("กล้องออฟไลน์", "Camera offline"),
    "stalled": ("กล้องออฟไลน์: ไม่มีภาพเข้ามา", "Camera offline: no video is arriving"),
    "no_keyframe": (
        "สตรีมเสีย: ไม่มีคีย์เฟรมเกิน {seconds} วินาที",
        "Broken stream: no keyframe for over {seconds} s",
    ),
    "corrupt": ("สตรีมจากกล้องอ่านไม่ได้ (ข้อมูลเสีย)", "The camera's stream cannot be read (corrupt data)"),
    "auth": ("กล้องไม่รับชื่อผู้ใช้หรือรหัสผ่าน", "The camera refused the username or password"),
    "no_stream": ("กล้องยังไม่แจ้งที่อยู่สตรีม", "The camera has not given a stream address yet"),
    "no_sub": ("กล้องไม่มีสตรีมความละเอียดต่ำ", "The camera has no low-resolution substream"),
    "no_video": ("สตรีมไม่มีภาพวิดีโอ", "The stream has no video"),
    "h265": (
        "ไม่รองรับ H.265: กรุณาตั้งกล้องเป็น H.264",
        "H.265 is not supported: set the camera to H.264",
    ),
    "codec": (
        "ไม่รองรับรหัสภาพ {codec}: กรุณาตั้งกล้องเป็น H.264",
        "Codec {codec} is not supported: set the camera to H.264",
    ),
    "ffmpeg_missing": ("ไม่ได้ติดตั้ง ffmpeg บนฮับ", "ffmpeg is not installed on the hub"),
    "failed": ("สตรีมหยุดทำงาน กำลังลองใหม่", "The stream stopped; retrying"),
}

register_pairs("video.reasons", REASONS, prefix="video.reason.")


def reason_text(code: str | None, lang: str = "th", **fmt: object) -> str:
    """Return the plain-language text of a stream reason code (Thai by default)."""
    if not code:
        return ""
    th, en = REASONS.get(code, REASONS["failed"])
    text = th if lang == "th" else en
    try:
        return text.format(**fmt) if fmt else text.replace("{seconds}", "10").replace("{codec}", "?")
    except (KeyError, IndexError):
        return text


_DISK: Final[dict[str, tuple[str, str]]] = {
    "budget": (
        "พื้นที่บันทึกวิดีโอเต็ม: ภาพที่เหลือถูกล็อกเป็นหลักฐานทั้งหมด",
        "Recording storage full: everything left is evidence-locked",
    ),
    "disk": ("ดิสก์ของฮับเต็ม: หยุดบันทึกวิดีโอชั่วคราว", "The hub's disk is full: recording is paused"),
}
_DISK_HELP: Final = (
    "ปิดเหตุที่จบแล้วและปลดล็อกภาพหลักฐาน (video.release) หรือเพิ่ม disk_budget_gb / พื้นที่ดิสก์ "
    "การแจ้งเหตุ SOS ยังทำงานตามปกติ",
    "Close finished incidents and release their footage (video.release), or raise disk_budget_gb / "
    "add disk space. SOS alerts keep working.",
)

register_pairs("video.disk", {**_DISK, "help": _DISK_HELP}, prefix="video.disk.")


def disk_text(reason: str, lang: str = "th") -> str:
    """Return the disk alarm's headline (``budget`` or ``disk``)."""
    th, en = _DISK.get(reason, _DISK["disk"])
    return th if lang == "th" else en


def disk_help(lang: str = "th") -> str:
    """Return what an admin can do about the disk alarm."""
    return _DISK_HELP[0] if lang == "th" else _DISK_HELP[1]


STRINGS: dict[str, dict[str, str]] = {
    "th": {
        "video": "วิดีโอ",
        "live": "ภาพสด",
        "play_live": "ดูภาพสด",
        "stop": "หยุด",
        "online": "ออนไลน์",
        "offline": "ออฟไลน์",
        "idle": "พัก",
        "starting": "กำลังเชื่อมต่อ",
        "fps": "เฟรม/วินาที",
        "bitrate": "บิตเรต",
        "recordings": "ภาพที่บันทึกไว้",
        "no_recordings": "ยังไม่มีภาพบันทึกในช่วงนี้",
        "recording_on": "บันทึกอยู่",
        "recording_off": "ไม่ได้ตั้งให้บันทึก",
        "mode_continuous": "บันทึกต่อเนื่อง",
        "mode_events": "บันทึกเมื่อมีเหตุ",
        "locked": "ล็อกเป็นหลักฐาน",
        "day": "วันที่",
        "play": "เล่น",
        "disk_alarm": "พื้นที่บันทึกเต็ม",
        "no_mse": "เบราว์เซอร์นี้เล่นภาพสดไม่ได้",
        "live_admin_only": "ภาพสดในฮับสำหรับผู้ดูแลระบบ",
        "prev": "วันก่อน",
        "next": "วันถัดไป",
    },
    "en": {
        "video": "Video",
        "live": "Live",
        "play_live": "Watch live",
        "stop": "Stop",
        "online": "Online",
        "offline": "Offline",
        "idle": "Paused",
        "starting": "Connecting",
        "fps": "fps",
        "bitrate": "Bitrate",
        "recordings": "Recordings",
        "no_recordings": "No recordings in this period",
        "recording_on": "Recording",
        "recording_off": "Recording is not set up",
        "mode_continuous": "Continuous recording",
        "mode_events": "Recording on events",
        "locked": "Evidence-locked",
        "day": "Day",
        "play": "Play",
        "disk_alarm": "Recording storage full",
        "no_mse": "This browser cannot play live video",
        "live_admin_only": "The hub's live view, for admins",
        "prev": "Previous day",
        "next": "Next day",
    },
}
# One catalogue for the whole UI: the table is registered with hub.i18n (same shape back).
STRINGS = register_by_lang("video", STRINGS, prefix="video.page.")
