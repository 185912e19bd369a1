"""A fake ONVIF camera that speaks real SOAP 1.2 on 127.0.0.1: for tests and benchmarks.

ipycam (the real ONVIF device used in the tests) has no event service, so this
responder covers what it cannot: PullPoint subscriptions (create, long-poll
PullMessages, Renew, Unsubscribe, SetSynchronizationPoint), webhook
subscriptions (Subscribe, then ``Notify`` posted to the consumer), WS-Security
UsernameToken digests checked against a settable device clock, a snapshot URL
with real HTTP Digest or Basic auth, and fault injection (malformed XML, wrong
content, unknown subscriptions after a "reboot").  It is not imported by the
hub; other integrations' tests may use it too (the station needs cameras).

    device = FakeOnvifDevice(username="admin", password="secret")
    await device.start()                  # device.port is the ONVIF/HTTP port
    device.push(notification("tns1:RuleEngine/CellMotionDetector/Motion",
                             {"VideoSourceConfigurationToken": "vsc1"}, {"IsMotion": "true"}))
    ...
    await device.stop()

``python -m integrations.onvif.testing --count 200`` serves many cameras from
one process (the benchmark's responder) and prints ``READY {"ports": [...]}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import io
import json
import random
import re
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import ClientSession, ClientTimeout, web
from lxml import etree

__all__ = ("FakeOnvifDevice", "notification", "sample_jpeg")

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tev="http://www.onvif.org/ver10/events/wsdl" '
    'xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:wsa="http://www.w3.org/2005/08/addressing" '
    'xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:ter="http://www.onvif.org/ver10/error" '
    'xmlns:wsrf-rw="http://docs.oasis-open.org/wsrf/rw-2">'
    "<s:Body>{body}</s:Body></s:Envelope>"
)
_PRE_AUTH = frozenset({"GetSystemDateAndTime"})
_MAX_WAIT = 60.0


def notification(
    topic: str,
    source: dict[str, str],
    data: dict[str, str],
    *,
    operation: str = "Changed",
    when: dt.datetime | None = None,
) -> str:
    """Return a ``wsnt:NotificationMessage`` element (namespaces declared on it) for :meth:`push`."""
    utc = (when or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def items(values: dict[str, str]) -> str:
        return "".join(f'<tt:SimpleItem Name="{escape(k)}" Value="{escape(v)}"/>' for k, v in values.items())

    return (
        '<wsnt:NotificationMessage xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" '
        'xmlns:tns1="http://www.onvif.org/ver10/topics" xmlns:tt="http://www.onvif.org/ver10/schema">'
        f'<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{escape(topic)}</wsnt:Topic>'
        f'<wsnt:Message><tt:Message UtcTime="{utc}" PropertyOperation="{operation}">'
        f"<tt:Source>{items(source)}</tt:Source><tt:Data>{items(data)}</tt:Data>"
        "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
    )


def sample_jpeg(width: int = 320, height: int = 180, label: str = "FAKE CAM") -> bytes:
    """Return a real JPEG (drawn with Pillow)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (30, 60, 90))
    ImageDraw.Draw(img).text((10, 10), label, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _duration(text: str | None, default: float) -> float:
    """Parse an xs:duration like PT1M / PT60S / PT0.5S (what zeep sends for a timedelta)."""
    if not text:
        return default
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", text.strip())
    if not match:
        return default
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return d * 86400 + h * 3600 + m * 60 + s


@dataclass
class _Subscription:
    sid: str
    expires: float
    consumer: str | None = None
    queue: list[str] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class FakeOnvifDevice:
    """One fake camera on its own port.  Counters in :attr:`calls` name every SOAP action received."""

    def __init__(
        self,
        *,
        username: str = "admin",
        password: str = "secret",
        host: str = "127.0.0.1",
        port: int = 0,
        manufacturer: str = "FakeVendor",
        model: str = "EventCam-2",
        snapshot_auth: str = "digest",
        clock_offset: float = 0.0,
        max_pull_wait: float = _MAX_WAIT,
        with_events: bool = True,
        with_snapshot_uri: bool = True,
        stream_uri: str | None = None,
        jpeg: bytes | None = None,
        term_seconds: float | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.manufacturer = manufacturer
        self.model = model
        #: "digest", "basic" or "none": what the snapshot URL accepts.
        self.snapshot_auth = snapshot_auth
        #: "jpeg", "html" (a login page instead of an image) or "huge" (a JPEG header, then 9 MiB).
        self.snapshot_content = "jpeg"
        #: Seconds the device clock is ahead (+) or behind (-) the real one.
        self.clock_offset = clock_offset
        self.max_pull_wait = max_pull_wait
        self.with_events = with_events
        self.with_snapshot_uri = with_snapshot_uri
        self.stream_uri = stream_uri
        #: Override the term granted to subscriptions (None: what the client asked).
        self.term_seconds = term_seconds
        self.jpeg = jpeg
        #: action → raw reply body to send instead (malformed XML from cheap firmware).
        self.broken: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.auth_failures = 0
        self.snapshot_requests = 0
        self.subscriptions: dict[str, _Subscription] = {}
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._nonces: set[str] = set()

    # -- lifecycle -------------------------------------------------------------------

    @property
    def base(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Serve on ``host:port`` (0 picks a free port, kept across stop/start)."""
        if self.jpeg is None:
            self.jpeg = await asyncio.get_running_loop().run_in_executor(None, sample_jpeg)
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_post("/onvif/subscription/{sid}", self._soap)
        app.router.add_get("/snapshot.jpg", self._snapshot)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving (like pulling the camera's plug); subscriptions survive unless :meth:`reboot`."""
        for sub in self.subscriptions.values():
            sub.wake.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    def reboot(self) -> None:
        """Forget every subscription, as a rebooted camera does."""
        for sub in self.subscriptions.values():
            sub.wake.set()
        self.subscriptions.clear()

    # -- events ------------------------------------------------------------------------

    def push(self, message: str) -> None:
        """Deliver a ``wsnt:NotificationMessage`` to every subscription (queued or posted)."""
        for sub in list(self.subscriptions.values()):
            if sub.consumer is None:
                sub.queue.append(message)
                sub.wake.set()
            else:
                asyncio.get_running_loop().create_task(self._post_notify(sub.consumer, [message]))

    async def _post_notify(self, consumer: str, messages: list[str]) -> None:
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        body = _ENVELOPE.format(body="<wsnt:Notify>" + "".join(messages) + "</wsnt:Notify>")
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            async with self._client.post(
                consumer, data=body.encode(), headers={"Content-Type": "application/soap+xml"}
            ) as resp:
                await resp.read()

    @property
    def active_subscriptions(self) -> int:
        """Return subscriptions not yet expired or unsubscribed."""
        now = self.now()
        return sum(1 for s in self.subscriptions.values() if s.expires > now)

    # -- SOAP ------------------------------------------------------------------------------

    def now(self) -> float:
        """Return the device clock (UNIX seconds)."""
        return time.time() + self.clock_offset

    def _stamp(self, ts: float) -> str:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def _soap(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            envelope = etree.fromstring(raw)
            body = envelope.find(f"{{{SOAP}}}Body")
            operation = body[0] if body is not None and len(body) else None
        except etree.XMLSyntaxError:
            operation = None
        if operation is None:
            return self._fault("s:Sender", "ter:WellFormed", "request is not a SOAP envelope")
        action = etree.QName(operation).localname
        self.calls[action] += 1
        if action not in _PRE_AUTH and not self._authorized(envelope):
            self.auth_failures += 1
            return self._fault("s:Sender", "ter:NotAuthorized", "Sender not Authorized")
        if action in self.broken:
            return web.Response(text=self.broken[action], content_type="application/soap+xml")
        handler = getattr(self, f"_op_{action}", None)
        if handler is None:
            return self._fault("s:Receiver", "ter:ActionNotSupported", f"{action} is not supported")
        result: web.Response = await handler(request, operation)
        return result

    def _authorized(self, envelope: Any) -> bool:
        if not self.username:
            return True
        token = envelope.find(f".//{{{WSSE}}}UsernameToken")
        if token is None:
            return False
        user = token.findtext(f"{{{WSSE}}}Username") or ""
        password = token.find(f"{{{WSSE}}}Password")
        nonce = token.findtext(f"{{{WSSE}}}Nonce") or ""
        created = token.findtext(f"{{{WSU}}}Created") or ""
        if password is None or not nonce or not created or user != self.username:
            return False
        try:
            when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.UTC)
        except ValueError:
            return False
        if abs(when.timestamp() - self.now()) > 300:
            # What real cameras do: a request "from the past" is a replay.
            return False
        digest = base64.b64encode(
            hashlib.sha1(base64.b64decode(nonce) + created.encode() + self.password.encode()).digest()
        ).decode()
        return secrets.compare_digest(digest, password.text or "")

    def _reply(self, body: str) -> web.Response:
        return web.Response(text=_ENVELOPE.format(body=body), content_type="application/soap+xml")

    def _fault(self, code: str, subcode: str, reason: str) -> web.Response:
        body = (
            f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode>"
            f'</s:Code><s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason></s:Fault>'
        )
        return web.Response(text=_ENVELOPE.format(body=body), status=400, content_type="application/soap+xml")

    async def _op_GetSystemDateAndTime(self, request: web.Request, op: Any) -> web.Response:
        t = dt.datetime.fromtimestamp(self.now(), dt.UTC)
        return self._reply(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:TimeZone><tt:TZ>UTC</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
            f"<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute><tt:Second>{t.second}</tt:Second>"
            f"</tt:Time><tt:Date><tt:Year>{t.year}</tt:Year><tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day>"
            "</tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    async def _op_GetServices(self, request: web.Request, op: Any) -> web.Response:
        services = [
            ("http://www.onvif.org/ver10/device/wsdl", "device_service"),
            ("http://www.onvif.org/ver10/media/wsdl", "media_service"),
        ]
        if self.with_events:
            services.append(("http://www.onvif.org/ver10/events/wsdl", "event_service"))
        items = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{self.base}/onvif/{path}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
            for ns, path in services
        )
        return self._reply(f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>")

    async def _op_GetDeviceInformation(self, request: web.Request, op: Any) -> web.Response:
        return self._reply(
            f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(self.manufacturer)}</tds:Manufacturer>"
            f"<tds:Model>{escape(self.model)}</tds:Model><tds:FirmwareVersion>2.1.0</tds:FirmwareVersion>"
            f"<tds:SerialNumber>FK-{self.port}</tds:SerialNumber><tds:HardwareId>FK</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    async def _op_GetProfiles(self, request: web.Request, op: Any) -> web.Response:
        profile = (
            '<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
            '<tt:VideoEncoderConfiguration token="vec_{token}"><tt:Name>enc</tt:Name><tt:UseCount>1</tt:UseCount>'
            "<tt:Encoding>{enc}</tt:Encoding><tt:Resolution><tt:Width>640</tt:Width><tt:Height>360</tt:Height>"
            "</tt:Resolution><tt:Quality>5</tt:Quality></tt:VideoEncoderConfiguration></trt:Profiles>"
        )
        body = profile.format(token="mjpeg_profile", name="mjpeg", enc="JPEG") + profile.format(
            token="main", name="MainStream", enc="H264"
        )
        return self._reply(f"<trt:GetProfilesResponse>{body}</trt:GetProfilesResponse>")

    def _media_uri(self, tag: str, uri: str) -> web.Response:
        return self._reply(
            f"<trt:{tag}Response><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>"
            f"<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{tag}Response>"
        )

    async def _op_GetStreamUri(self, request: web.Request, op: Any) -> web.Response:
        return self._media_uri("GetStreamUri", self.stream_uri or f"rtsp://{self.host}:554/main")

    async def _op_GetSnapshotUri(self, request: web.Request, op: Any) -> web.Response:
        if not self.with_snapshot_uri:
            return self._fault("s:Receiver", "ter:ActionNotSupported", "no snapshot URI")
        return self._media_uri("GetSnapshotUri", f"{self.base}/snapshot.jpg")

    def _granted(self, op: Any, tag: str) -> float:
        text = (op.findtext(f"{{*}}{tag}") or "").strip()
        if text and not text.startswith("P"):
            try:  # an absolute termination time
                asked = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() - self.now()
            except ValueError:
                asked = 600.0
        else:
            asked = _duration(text, 600.0)
        return self.term_seconds if self.term_seconds is not None else asked

    def _new_subscription(self, seconds: float, consumer: str | None = None) -> _Subscription:
        sid = secrets.token_hex(6)
        sub = _Subscription(sid, self.now() + seconds, consumer)
        self.subscriptions[sid] = sub
        return sub

    async def _op_CreatePullPointSubscription(self, request: web.Request, op: Any) -> web.Response:
        seconds = self._granted(op, "InitialTerminationTime")
        sub = self._new_subscription(seconds)
        now = self.now()
        return self._reply(
            "<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference>"
            f"<wsa:Address>{self.base}/onvif/subscription/{sub.sid}</wsa:Address></tev:SubscriptionReference>"
            f"<wsnt:CurrentTime>{self._stamp(now)}</wsnt:CurrentTime>"
            f"<wsnt:TerminationTime>{self._stamp(sub.expires)}</wsnt:TerminationTime>"
            "</tev:CreatePullPointSubscriptionResponse>"
        )

    async def _op_Subscribe(self, request: web.Request, op: Any) -> web.Response:
        consumer = op.findtext("{*}ConsumerReference/{*}Address")
        if not consumer:
            return self._fault("s:Sender", "ter:InvalidArgVal", "no consumer address")
        sub = self._new_subscription(self._granted(op, "InitialTerminationTime"), consumer)
        now = self.now()
        return self._reply(
            "<wsnt:SubscribeResponse><wsnt:SubscriptionReference>"
            f"<wsa:Address>{self.base}/onvif/subscription/{sub.sid}</wsa:Address></wsnt:SubscriptionReference>"
            f"<wsnt:CurrentTime>{self._stamp(now)}</wsnt:CurrentTime>"
            f"<wsnt:TerminationTime>{self._stamp(sub.expires)}</wsnt:TerminationTime></wsnt:SubscribeResponse>"
        )

    def _subscription(self, request: web.Request) -> _Subscription | None:
        sub = self.subscriptions.get(request.match_info.get("sid", ""))
        if sub is None or sub.expires <= self.now():
            return None
        return sub

    def _unknown(self) -> web.Response:
        return self._fault("s:Sender", "wsrf-rw:ResourceUnknownFault", "no such subscription")

    async def _op_PullMessages(self, request: web.Request, op: Any) -> web.Response:
        sub = self._subscription(request)
        if sub is None:
            return self._unknown()
        wait = min(_duration(op.findtext("{*}Timeout"), 10.0), self.max_pull_wait)
        limit = int(op.findtext("{*}MessageLimit") or 100)
        if not sub.queue:
            sub.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.wake.wait(), wait)
        if self.subscriptions.get(sub.sid) is not sub:
            return self._unknown()
        messages, sub.queue = sub.queue[:limit], sub.queue[limit:]
        now = self.now()
        return self._reply(
            f"<tev:PullMessagesResponse><tev:CurrentTime>{self._stamp(now)}</tev:CurrentTime>"
            f"<tev:TerminationTime>{self._stamp(sub.expires)}</tev:TerminationTime>{''.join(messages)}"
            "</tev:PullMessagesResponse>"
        )

    async def _op_Renew(self, request: web.Request, op: Any) -> web.Response:
        sub = self._subscription(request)
        if sub is None:
            return self._unknown()
        now = self.now()
        sub.expires = now + self._granted(op, "TerminationTime")
        return self._reply(
            f"<wsnt:RenewResponse><wsnt:TerminationTime>{self._stamp(sub.expires)}</wsnt:TerminationTime>"
            f"<wsnt:CurrentTime>{self._stamp(now)}</wsnt:CurrentTime></wsnt:RenewResponse>"
        )

    async def _op_Unsubscribe(self, request: web.Request, op: Any) -> web.Response:
        sub = self._subscription(request)
        if sub is None:
            return self._unknown()
        del self.subscriptions[sub.sid]
        sub.wake.set()
        return self._reply("<wsnt:UnsubscribeResponse/>")

    async def _op_SetSynchronizationPoint(self, request: web.Request, op: Any) -> web.Response:
        if self._subscription(request) is None:
            return self._unknown()
        return self._reply("<tev:SetSynchronizationPointResponse/>")

    # -- snapshot URL -----------------------------------------------------------------------

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        self.snapshot_requests += 1
        if not self._snapshot_authorized(request):
            if self.snapshot_auth == "digest":
                nonce = secrets.token_hex(16)
                self._nonces.add(nonce)
                challenge = f'Digest realm="FakeCam", qop="auth", nonce="{nonce}", algorithm=MD5, opaque="0"'
            else:
                challenge = 'Basic realm="FakeCam"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge}, text="Unauthorized")
        if self.snapshot_content == "html":
            return web.Response(text="<html><body>Please log in</body></html>", content_type="text/html")
        if self.snapshot_content == "huge":
            assert self.jpeg is not None
            return web.Response(
                body=self.jpeg[:-2] + b"\0" * (9 * 1024 * 1024) + b"\xff\xd9", content_type="image/jpeg"
            )
        return web.Response(body=self.jpeg, content_type="image/jpeg")

    def _snapshot_authorized(self, request: web.Request) -> bool:
        if self.snapshot_auth == "none":
            return True
        header = request.headers.get("Authorization", "")
        if self.snapshot_auth == "basic" and header.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return user == self.username and pw == self.password
        if self.snapshot_auth == "digest" and header.startswith("Digest "):
            params = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
            if params.get("nonce") not in self._nonces or params.get("username") != self.username:
                return False

            def md5(text: str) -> str:
                return hashlib.md5(text.encode()).hexdigest()

            ha1 = md5(f"{self.username}:{params.get('realm', '')}:{self.password}")
            ha2 = md5(f"{request.method}:{params.get('uri', '')}")
            if params.get("qop"):
                expected = md5(
                    f"{ha1}:{params['nonce']}:{params.get('nc')}:{params.get('cnonce')}:{params['qop']}:{ha2}"
                )
            else:
                expected = md5(f"{ha1}:{params['nonce']}:{ha2}")
            return secrets.compare_digest(expected, params.get("response", ""))
        return False


# -- many cameras in one process (the benchmark's responder) -------------------------------


async def _serve_many(count: int, motion_every: float, max_pull_wait: float) -> None:
    devices = [FakeOnvifDevice(max_pull_wait=max_pull_wait, snapshot_auth="digest") for _ in range(count)]
    jpeg = sample_jpeg()
    for device in devices:
        device.jpeg = jpeg
        await device.start()
    sys.stdout.write("READY " + json.dumps({"ports": [d.port for d in devices]}) + "\n")
    sys.stdout.flush()

    async def blink(device: FakeOnvifDevice) -> None:
        await asyncio.sleep(random.uniform(0, motion_every))
        on = True
        while True:
            device.push(
                notification(
                    "tns1:RuleEngine/CellMotionDetector/Motion",
                    {
                        "VideoSourceConfigurationToken": "vsc",
                        "VideoAnalyticsConfigurationToken": "vac",
                        "Rule": "MyMotionDetectorRule",
                    },
                    {"IsMotion": "true" if on else "false"},
                )
            )
            on = not on
            await asyncio.sleep(motion_every / 2)

    tasks = [asyncio.create_task(blink(d)) for d in devices] if motion_every > 0 else []
    try:
        await asyncio.Event().wait()
    finally:
        for task in tasks:
            task.cancel()
        for device in devices:
            await device.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve ``--count`` fake cameras on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument(
        "--motion-every", type=float, default=10.0, help="seconds per on/off motion cycle (0: none)"
    )
    parser.add_argument("--max-pull-wait", type=float, default=_MAX_WAIT)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_many(args.count, args.motion_every, args.max_pull_wait))


if __name__ == "__main__":
    main()
