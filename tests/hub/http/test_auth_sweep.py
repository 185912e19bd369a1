"""Every route in the router, without credentials: refused unless declared public."""

import re

#: The deliberately public routes (DESIGN §10); each protects itself.
PUBLIC = {
    ("GET", "/api/health"),
    ("GET", "/login"), ("POST", "/login"),
    ("GET", "/onboarding"), ("POST", "/onboarding"),
    ("POST", "/lang"),
    ("GET", "/api/snapshots/{snapshot_id}.jpg"),  # login or signed link
    ("POST", "/api/webhook/{webhook_id}"),  # secret id
    ("POST", "/api/sos/webhook/{webhook_id}"),  # secret id
    ("POST", "/api/line/webhook"),  # X-Line-Signature
}


def _fill(path: str) -> str:
    """Fill path parameters with values their patterns accept (``{fmt:png|pdf}`` → ``png``)."""

    def value(m: re.Match[str]) -> str:
        pattern = m.group(2)
        if pattern and re.fullmatch(r"[\w|]+", pattern):
            return pattern.split("|")[0]
        return "x"

    return re.sub(r"\{([^}:]+)(?::([^}]+))?\}", value, path)


async def test_every_private_route_refuses_anonymous(hub, client_for, make_hub) -> None:
    anon = await client_for(anonymous=True)
    checked = 0
    for route in hub.http.routes:
        key = (route.method, route.path)
        if route.public:
            assert key in PUBLIC, f"{key} is public but not in the declared list"
            continue
        resp = await anon.request(route.method, _fill(route.path), allow_redirects=False)
        assert resp.status in (401, 403), f"{key} answered {resp.status} without credentials"
        checked += 1
    assert checked >= 15


async def test_viewer_is_refused_admin_routes(hub, client_for) -> None:
    viewer = await client_for("viewer")
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
