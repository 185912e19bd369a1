"""The REST API against a real running hub."""

import io
import re

import pytest


async def test_health_is_public_and_minimal(hub, client_for) -> None:
    anon = await client_for(anonymous=True)
    resp = await anon.get("/api/health")
    assert resp.status == 200
    body = await resp.json()
    # Minimal: the state, the version and each component's schema version (for upgrades), nothing else.
    assert body == {"status": "ok", "version": hub.version, "schema": body["schema"]}
    assert body["schema"]["core"] >= 1 and all(isinstance(v, int) for v in body["schema"].values())


async def test_states_roundtrip(hub, client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.post(
        "/api/states/sensor.gate_count", json={"state": "3", "attributes": {"unit": "คน"}}
    )
    assert resp.status == 201
    body = await (await admin.get("/api/states/sensor.gate_count")).json()
    assert body["state"] == "3" and body["attributes"]["unit"] == "คน"
    states = await (await admin.get("/api/states")).json()
    assert any(s["entity_id"] == "sensor.gate_count" for s in states)
    audit = await hub.audit.query(action="state.set")
    assert audit and audit[0].target == "sensor.gate_count"


async def test_post_state_is_admin_only(client_for) -> None:
    operator = await client_for("operator")
    resp = await operator.post("/api/states/sensor.x", json={"state": "1"})
    assert resp.status == 403


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/states/Bad%20Id", {"state": "1"}, 400),
        ("/api/states/sensor.x", {"attributes": {}}, 400),
        ("/api/states/sensor.x", [1, 2], 400),
    ],
)
async def test_bad_state_posts(client_for, path: str, body: object, status: int) -> None:
    admin = await client_for("admin")
    assert (await admin.post(path, json=body)).status == status


async def test_unknown_entity_and_service(client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.get("/api/states/sensor.nope")
    assert resp.status == 404 and "not found" in (await resp.json())["error"]
    resp = await admin.post("/api/services/nope/nothing", json={})
    assert resp.status == 404


async def test_service_call_with_bad_data_is_400(client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.post("/api/services/incident/open", json={"kind": "earthquake"})
    assert resp.status == 400
    assert "kind" in (await resp.json())["error"]


async def test_invalid_json_is_400(client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.post(
        "/api/events/test_event", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400


async def test_oversized_body_is_refused(client_for) -> None:
    admin = await client_for("admin")
    resp = await admin.post(
        "/api/events/big",
        data=io.BytesIO(b"x" * (2 * 1024 * 1024)),
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 413


async def test_fire_event_and_reserved(hub, client_for) -> None:
    operator = await client_for("operator")
    seen = []
    hub.bus.listen("drill_started", seen.append)
    resp = await operator.post("/api/events/drill_started", json={"zone": "A"})
    assert resp.status == 200
    await hub.block_till_done()
    assert seen[0].data == {"zone": "A"}
    assert seen[0].context.user_id is not None
    assert (await operator.post("/api/events/state_changed", json={})).status == 400


async def test_incidents_api_flow(hub, client_for) -> None:
    operator = await client_for("operator")
    resp = await operator.post("/api/incidents", json={"kind": "sos", "place": "ประตูตลาด", "text": "กดปุ่ม"})
    assert resp.status == 201
    inc = await resp.json()
    assert inc["status"] == "open" and inc["timeline"][0]["kind"] == "opened"
    assert hub.states.get(inc["entity_id"]).state == "open"
    for action, body, status in [
        ("ack", {}, "acknowledged"),
        ("dispatch", {"unit": "สายตรวจ 1"}, "dispatched"),
        ("note", {"text": "ถึงที่เกิดเหตุ"}, "dispatched"),
        ("close", {}, "closed"),
    ]:
        resp = await operator.post(f"/api/incidents/{inc['id']}/{action}", json=body)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"] == status
    detail = await (await operator.get(f"/api/incidents/{inc['id']}")).json()
    assert [t["kind"] for t in detail["timeline"]] == [
        "opened",
        "acknowledged",
        "dispatched",
        "note",
        "closed",
    ]
    assert detail["acknowledged_by"] == "test-operator"
    assert hub.states.get(inc["entity_id"]) is None  # closed incidents leave the state machine
    listed = await (await operator.get("/api/incidents?status=closed")).json()
    assert [i["id"] for i in listed] == [inc["id"]]
    assert (await operator.get("/api/incidents/NOPE")).status == 404
    assert (await operator.post("/api/incidents/NOPE/ack", json={})).status == 404
    assert (await operator.get("/api/incidents?kind=alien")).status == 400


async def test_viewer_cannot_call_operator_service(client_for) -> None:
    viewer = await client_for("viewer")
    resp = await viewer.post("/api/services/incident/open", json={})
    assert resp.status == 403


async def test_openapi_describes_every_api_route(hub, client_for) -> None:
    admin = await client_for("admin")
    spec = await (await admin.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for route in hub.http.routes:
        if route.api and route.path.startswith("/api/"):
            path = re.sub(r"\{([^}:]+)(?::[^}]*)?\}", r"{\1}", route.path)  # patterns are not OpenAPI
            assert route.method.lower() in spec["paths"][path], route.path
    assert spec["paths"]["/api/health"]["get"]["security"] == []


async def test_cookie_session_needs_csrf_for_posts(hub, client_for) -> None:
    await hub.auth.add_user("officer", "long enough pw", "operator")
    user = await hub.auth.user_by_name("officer")
    sid, csrf = await hub.auth.create_session(user)
    anon = await client_for(anonymous=True)
    cookies = {"shub_session": sid}
    resp = await anon.post("/api/incidents", json={"kind": "manual"}, cookies=cookies)
    assert resp.status == 403 and "CSRF" in (await resp.json())["error"]
    resp = await anon.post(
        "/api/incidents", json={"kind": "manual"}, cookies=cookies, headers={"X-CSRF-Token": csrf}
    )
    assert resp.status == 201


async def test_sse_stream_delivers_state_changes(hub, client_for) -> None:
    viewer = await client_for("viewer")
    resp = await viewer.get("/api/stream")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    await resp.content.readuntil(b"\n\n")
    hub.states.set("sensor.live", "42")
    chunk = b""
    while b"sensor.live" not in chunk:
        chunk += await resp.content.readany()
    assert b"event: state_changed" in chunk
    resp.close()


async def test_idempotency_key_makes_a_retried_call_return_the_first_result(hub, client_for) -> None:
    admin = await client_for("admin")
    headers = {"Idempotency-Key": "tablet-7f3a"}
    body = {"kind": "manual", "title": "fight at the market"}
    first = await admin.post("/api/services/incident/open", json=body, headers=headers)
    again = await admin.post("/api/services/incident/open", json=body, headers=headers)
    assert first.status == again.status == 200
    incident_id = (await first.json())["service_response"]["incident_id"]
    assert (await again.json())["service_response"]["incident_id"] == incident_id
    # Keys belong to their user: the same header from someone else is a new call.
    operator = await client_for("operator")
    other = await operator.post("/api/services/incident/open", json=body, headers=headers)
    assert (await other.json())["service_response"]["incident_id"] != incident_id
    bad = await admin.post("/api/services/incident/open", json=body, headers={"Idempotency-Key": "x" * 201})
    assert bad.status == 400 and "Idempotency-Key" in (await bad.json())["error"]
