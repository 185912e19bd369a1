"""The live player's words in Thai and English (the console's catalogue plus these)."""

from __future__ import annotations

from hub.i18n import register_pairs

__all__ = ("live_labels",)

_TEXT: dict[str, tuple[str, str]] = {
    "live.title": ("ภาพสด", "Live view"),
    "live.watch": ("ดูภาพสด", "Watch live"),
    "live.idle": ("ยังไม่เริ่ม", "not started"),
    "live.starting": ("กำลังขอภาพจากฮับ…", "asking the hub for video…"),
    "live.live": ("ภาพสด", "live"),
    "live.offline": ("กล้องออฟไลน์ — จะกลับมาเองเมื่อกล้องกลับมา", "camera offline — resumes by itself"),
    "live.ended": ("สิ้นสุดการดูภาพสด", "live view ended"),
    "live.refused": ("เจ้าของกล้องไม่อนุญาต", "refused by the camera owner's policy"),
    "live.failed": ("เปิดภาพสดไม่สำเร็จ", "the live view could not start"),
    "live.expired": (
        "สิทธิ์ดูภาพหมดเวลาแล้ว เปิดกล้องใหม่พร้อมเหตุผล",
        "the view has ended: open the camera again with a reason",
    ),
    "live.reason": ("เหตุผลที่เปิดดู", "Reason for viewing"),
    "live.until": ("ดูได้ถึง", "Grant ends at"),
    "live.profile": ("ความละเอียด", "Resolution"),
    "live.profile_sub": ("ต่ำ (ประหยัดเน็ต)", "low (saves the shop's uplink)"),
    "live.profile_main": ("สูง", "high"),
    "live.viewers": ("ผู้ชมที่สถานี", "viewers at the station"),
    "live.bitrate": ("อัตราบิต", "bitrate"),
    "live.no_mse": (
        "เบราว์เซอร์นี้เล่นภาพสดไม่ได้ (ไม่มี Media Source Extensions)",
        "this browser cannot play live video (no Media Source Extensions)",
    ),
    "live.codec": ("กล้องส่งภาพแบบที่เบราว์เซอร์เล่นไม่ได้", "the camera sends video this browser cannot play"),
    "live.back": ("กลับ", "Back"),
    "why.no_viewers": ("ไม่มีผู้ชมแล้ว", "no one is watching"),
    "why.grant_expired": ("สิทธิ์ดูภาพหมดเวลาแล้ว", "the view grant expired"),
    "why.hub_timeout": ("ฮับไม่ได้เชื่อมต่อเข้ามาทันเวลา", "the hub did not connect in time"),
    "why.hub_closed": ("ฮับหยุดส่งภาพ", "the hub stopped sending"),
    "why.no_video": ("ไม่มีภาพจากกล้องเกิน 4 วินาที", "no video from the camera for several seconds"),
    "why.camera_offline": ("กล้องออฟไลน์", "camera offline"),
    "why.window_closed": ("ช่วงเวลาที่เจ้าของอนุญาตสิ้นสุดแล้ว", "the owner's sharing window closed"),
    "why.stream_closed": ("ฮับหยุดสตรีมของกล้อง", "the hub closed the camera's stream"),
    "why.hub_stopping": ("ฮับกำลังปิดระบบ", "the hub is shutting down"),
    "why.unsupported_codec": (
        "กล้องส่งภาพ H.265 ซึ่งเบราว์เซอร์ไม่รองรับ ตั้งกล้องให้ส่ง H.264",
        "the camera sends H.265, which browsers cannot play: set it to H.264",
    ),
    "why.bad_media": ("ข้อมูลภาพจากฮับเสียหาย", "the hub sent broken video"),
    "why.no_camera": ("ฮับไม่มีกล้องนี้", "the hub has no such camera"),
    "why.no_video_source": ("ฮับยังไม่ได้ตั้งค่าวิดีโอของกล้องนี้", "the hub has no video set up for this camera"),
    "why.no_station_url": ("ฮับยังไม่ได้ตั้งที่อยู่เว็บของสถานี", "the hub does not know the station's web address"),
    "why.hub_offline": (
        "ฮับออฟไลน์อยู่ จึงขอภาพสดไม่ได้ ลองใหม่เมื่อฮับกลับมา หรือโทรหาเจ้าของ",
        "the hub is offline: try again when it is back, or call the owner",
    ),
    "why.hub_refused": (
        "ฮับไม่อนุญาตภาพสด (เจ้าของปิดไว้)",
        "the hub does not allow live video (its owner turned it off)",
    ),
    "why.hub_error": ("ฮับเปิดภาพสดไม่สำเร็จ", "the hub could not start the live video"),
    "why.not_sent": ("ส่งคำขอไปยังฮับไม่ได้", "the request could not be sent to the hub"),
    "why.left": ("ผู้ชมออกแล้ว", "the viewer left"),
    "why.station_closed": ("สถานีปิดการเชื่อมต่อ", "the station closed the stream"),
    "why.policy_never": ("เจ้าของไม่อนุญาตให้แชร์ข้อมูลใด ๆ ของกล้องนี้", "the owner shares nothing from this camera"),
    "why.registry_only": (
        "เจ้าของแชร์เพียงตำแหน่งและเบอร์ติดต่อ ไม่แชร์ภาพ",
        "the owner shares location and contact only, no images",
    ),
    "why.outside_alarm_window": (
        "ไม่มีเหตุที่ฮับนี้ในช่วงเวลาที่อนุญาต จึงไม่แชร์ภาพ",
        "no incident at this hub within the allowed window",
    ),
    "why.station_stopping": ("สถานีกำลังปิดระบบ", "the station is shutting down"),
    "why.worker_lost": (
        "เครื่องของสถานีที่ส่งต่อภาพนี้หยุดทำงาน เปิดดูใหม่อีกครั้ง",
        "the station server carrying this stream stopped; open the view again",
    ),
}


def live_labels(lang: str) -> dict[str, str]:
    """Return the live player's strings in ``lang`` (Thai unless ``en``)."""
    i = 1 if lang == "en" else 0
    return {key: pair[i] for key, pair in _TEXT.items()}


# The console's pairs join the one catalogue (hub.i18n) as ``station.live.<key>``.
register_pairs("station.live", _TEXT, prefix="station.live.")
