"""Run the PyPI ``ipycam`` package as a real ONVIF camera on 127.0.0.1 (a test peer).

Started by the tests as a subprocess in a temp folder (ipycam writes ptz_presets.json
to its working directory), optionally under Debian ``faketime``::

    python ipycam_peer.py ONVIF_PORT RTSP_PORT USER PASSWORD [--fix-ptz-ns] [--preauth-time]

It prints ``READY`` once the ONVIF service answers, then streams synthetic
frames (a moving box) until killed.  What is changed from stock ipycam, and why
(the field problems are in the ONVIF notes):

* WS-Discovery is replaced by a no-op: stock ipycam multicasts Hello/Bye to
  239.255.255.250, and the tests must stay on loopback.
* The HTTP (ONVIF + snapshot) and native RTSP servers bind 127.0.0.1, not all
  interfaces; go2rtc/WebRTC detection is turned off so the native RTSP server
  (ffmpeg) is always used.
* ``--fix-ptz-ns`` declares the ``ptz:``/``tptz:`` prefixes that ipycam's PTZ
  response templates use without declaring (zeep cannot parse GetPresets
  otherwise).  Without the flag the camera behaves like a cheap camera with
  broken XML, which the hub must survive.
* ``--preauth-time`` lets GetSystemDateAndTime through without WS-Security, as
  the ONVIF core spec requires; stock ipycam demands auth for it, which makes
  clock-skew compensation impossible.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

import ipycam.camera as ipycam_camera
import numpy as np
from ipycam import CameraConfig, IPCamera

PTZ_NS = 'xmlns:ptz="http://www.onvif.org/ver20/ptz/wsdl" xmlns:tptz="http://www.onvif.org/ver20/ptz/wsdl"'


class _NoDiscovery:
    """Stands in for ipycam's WSDiscoveryServer: no multicast on the test machine."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class _LoopbackHTTPServer(ipycam_camera.ReusableThreadingTCPServer):  # type: ignore[misc]  # ipycam is untyped
    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        super().__init__(("127.0.0.1", address[1]), handler)


def main(argv: list[str]) -> None:
    onvif_port, rtsp_port, user, password = int(argv[0]), int(argv[1]), argv[2], argv[3]
    flags = set(argv[4:])
    ipycam_camera.WSDiscoveryServer = _NoDiscovery
    ipycam_camera.ReusableThreadingTCPServer = _LoopbackHTTPServer
    ipycam_camera.NativeRTSPServer = functools.partial(ipycam_camera.NativeRTSPServer, host="127.0.0.1")
    ipycam_camera.check_go2rtc_running = lambda **_: False
    ipycam_camera.is_webrtc_available = lambda: False

    config = CameraConfig(
        name="LoopCam",
        manufacturer="TestVendor",
        model="LoopCam-1",
        serial_number="SN-0001",
        local_ip="127.0.0.1",
        onvif_port=onvif_port,
        rtsp_port=rtsp_port,
        username=user,
        password=password,
        main_width=320,
        main_height=240,
        main_fps=5,
        main_bitrate="300K",
        sub_width=160,
        sub_height=120,
        sub_fps=5,
        sub_bitrate="100K",
        hw_accel="cpu",
    )
    cam = IPCamera(config)
    if "--fix-ptz-ns" in flags:
        envelope = cam.onvif._templates["envelope"]
        cam.onvif._templates["envelope"] = envelope.replace("<s:Envelope ", f"<s:Envelope {PTZ_NS} ", 1)
    if "--preauth-time" in flags:
        verify = cam.onvif.verify_usernametoken

        def verify_or_time(body: str) -> bool:
            return "GetSystemDateAndTime" in body or verify(body)

        cam.onvif.verify_usernametoken = verify_or_time
    # Two named presets at distinct positions, as an installer would leave them.
    cam.ptz.absolute_move(0.5, -0.2, 0.5)
    cam.ptz.set_preset("1", "Gate")
    cam.ptz.absolute_move(-0.6, 0.1, 0.0)
    cam.ptz.set_preset("2", "Fish stalls")
    cam.ptz.goto_home()
    if not cam.start():
        raise SystemExit("ipycam did not start")
    print("READY", flush=True)
    frame = np.zeros((240, 320, 3), dtype=np.uint8)
    x = 0
    try:
        while True:
            frame[:] = (40, 32, 24)
            frame[100:160, x : x + 40] = (60, 60, 220)
            x = (x + 8) % 280
            cam.stream(frame)
    except KeyboardInterrupt:
        pass
    finally:
        cam.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
    time.sleep(0)
