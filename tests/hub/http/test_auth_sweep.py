"""Every route in the router, without credentials: refused unless declared public."""

import re

import pytest

#: The deliberately public routes (DESIGN §10); each protects itself.
PUBLIC = {
    ("GET", "/people_poll/m/{month}"),
    ("POST", "/people_poll/m/{month}"),  # signed, expiring link
    ("GET", "/patrol_qr/c/{checkpoint_id}/{sheet}"),
    ("POST", "/patrol_qr/c/{checkpoint_id}/{sheet}"),  # signed
    ("GET", "/patrol_qr/v/{token}"),  # a volunteer's personal, revocable link
    ("POST", "/api/onvif/notify/{token}"),  # per-camera random token
    ("GET", "/line/incidents/{incident_id}"),  # the LINE card's signed, expiring Details link
    ("GET", "/api/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/onboarding"),
    ("POST", "/onboarding"),
    ("POST", "/lang"),
    ("GET", "/api/snapshots/{snapshot_id}.jpg"),  # login or signed link
    ("POST", "/api/webhook/{webhook_id}"),  # secret id
    ("POST", "/api/sos/webhook/{webhook_id}"),  # secret id
    ("POST", "/api/line/webhook"),  # X-Line-Signature
    ("GET", "/api/ccoc/live/uplink"),  # a hub's broker credential + the stream id the station issued
    # A hub's footage upload: each request signed with the hub's Ed25519 key from its registry.
    ("PUT", "/api/station/footage/{request_id}/items/{item_id}"),
    ("PATCH", "/api/station/footage/{request_id}/items/{item_id}"),
    ("POST", "/api/station/footage/{request_id}/manifest"),
    # Calls between a station's workers: each signed with the workers' key (integrations.station.workers).
    ("GET", "/api/station/workers/live/uplink"),
    ("GET", "/api/station/workers/live/watch"),
    ("POST", "/api/station/workers/footage/status"),
    ("GET", "/api/station/workers/footage/requests/{request_id}/pack.zip"),
}


def _fill(path: str) -> str:
    """Fill path parameters with values their patterns accept (``{fmt:png|pdf}`` → ``png``)."""

    def value(m: re.Match[str]) -> str:
        pattern = m.group(2)
        if pattern and re.fullmatch(r"[\w|]+", pattern):
            return pattern.split("|")[0]
        return "x"

    return re.sub(r"\{([^}:]+)(?::([^}]+))?\}", value, path)


#: Every hub-role plugin configured, so the sweep covers their routes too (built-ins
#: are imported only when configured).  Peers are unreachable loopback ports.
FULL_HUB = """
demo: {}
mqtt: {broker: "mqtt://127.0.0.1:9"}
sia: {port: 0, accounts: [{account: "1A2B", key: "0123456789ABCDEF0123456789ABCDEF", zones: [1]}]}
frigate: {}
onvif:
  - {id: gate, host: 127.0.0.1, port: 9, username: a, password: b, share: on_alarm, owner: {name: x}}
zone: {id: test-zone, name_th: เขต, area_km2: 1.0}
people_poll: {}
patrol_qr:
  checkpoints: [{id: soi3, name: ตู้แดง, location: {lat: 14.5, lon: 100.4}}]
big6: {}
federation: {station: st, broker: "mqtt://127.0.0.1:9", username: test-hub, password: pw}
"""
STATION = """
station: {id: st, broker: "mqtt://127.0.0.1:9", username: ccoc, password: pw}
"""


@pytest.fixture(params=["hub", "station"])
async def swept(request, make_hub, fake_line_factory):
    if request.param == "station":
        return await make_hub(STATION)
    fake = await fake_line_factory()
    hub = await make_hub(FULL_HUB + fake.config_yaml())
    not_up = {p.domain: p.error for p in hub.plugin_infos() if p.status not in ("set_up", "discovered")}
    assert not not_up, not_up
    return hub


async def test_every_private_route_refuses_anonymous(swept, client_for) -> None:
    hub = swept
    anon = await client_for(anonymous=True, target=hub)
    checked = 0
    for route in hub.http.routes:
        key = (route.method, route.path)
        if route.public:
            assert key in PUBLIC, f"{key} is public but not in the declared list"
            if route.path.startswith("/api/station/workers/"):
                resp = await anon.request(route.method, _fill(route.path), allow_redirects=False)
                assert resp.status in (403, 404), f"{key} answered {resp.status} without the workers' key"
            continue
        resp = await anon.request(route.method, _fill(route.path), allow_redirects=False)
        assert resp.status in (401, 403), f"{key} answered {resp.status} without credentials"
        checked += 1
    assert checked >= 15


async def test_viewer_is_refused_admin_routes(swept, client_for) -> None:
    hub = swept
    viewer = await client_for("viewer", target=hub)
    for route in hub.http.routes:
        if route.role == "admin" and not route.public:
            resp = await viewer.request(route.method, _fill(route.path), allow_redirects=False)
            assert resp.status == 403, (route.method, route.path, resp.status)


async def test_bad_bearer_token(client_for) -> None:
    anon = await client_for(anonymous=True)
    resp = await anon.get("/api/states", headers={"Authorization": "Bearer shub_wrong"})
    assert resp.status == 401


async def test_security_headers(client_for) -> None:
    anon = await client_for(anonymous=True)
    resp = await anon.get("/api/health")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
