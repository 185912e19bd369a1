"""Signed check-in links: what is accepted, and every refusal (forged, expired, replaced, replayed)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.core.clock import FakeClock
from plugins.patrol_qr import links
from tests.plugins.patrol_qr.patrol_helpers import (
    AT_SOI3,
    PATROL_YAML,
    checkin_count,
    field,
    sheet_link,
    volunteer_link,
)


async def test_volunteer_checks_in_with_a_signed_link(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    seen: list[Any] = []
    hub.bus.listen("patrol_checkin", seen.append)
    _vid, personal = await volunteer_link(hub, "สมชาย อาสา")
    phone = await phones(hub)
    page = await phone.get(personal)
    assert page.status == 200 and "สมชาย อาสา" in page.text
    answer = await phone.check_in(
        await sheet_link(hub, "soi3"), note="เงียบ", lat="14.5897", lon="100.4551", accuracy="12"
    )
    assert answer.status == 200 and 'id="checkin-done"' in answer.text
    await hub.block_till_done()
    [event] = seen
    assert event.data["checkpoint_id"] == "soi3" and event.data["role"] == "volunteer"
    assert event.data["person_name"] == "สมชาย อาสา" and event.data["note"] == "เงียบ"
    assert 10 < event.data["distance_m"] < 20 and event.data["far"] is False
    row = await hub.storage.fetchone("SELECT * FROM patrol_checkins")
    assert (row["lat"], row["lon"], row["accuracy_m"]) == (14.5897, 100.4551, 12.0)


async def test_forged_links_are_refused_and_store_nothing(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    _vid, personal = await volunteer_link(hub, "อาสา 1")
    phone = await phones(hub)
    await phone.get(personal)
    good = await sheet_link(hub, "soi3")
    path, query = good.split("?", 1)
    q = parse_qs(query)
    sheet = path.rsplit("/", 1)[1]
    forged = [
        f"{path}?exp={q['exp'][0]}&sig={'A' * len(q['sig'][0])}",  # made-up signature
        f"{path}?exp={int(q['exp'][0]) + 86400}&sig={q['sig'][0]}",  # stretched expiry
        f"/patrol_qr/c/atm_gate/{sheet}?{query}",  # another checkpoint, same signature
        path,  # no signature at all
        f"{path}?exp=soon&sig={q['sig'][0]}",
    ]
    for link in forged:
        answer = await phone.check_in(link)
        assert answer.status == 403, link
        assert answer.reason == "invalid"
        # A POST straight to a forged link is refused the same way.
        posted = await phone.post(link, {"form_exp": "1", "form_sig": "x"})
        assert posted.status == 403
    assert await checkin_count(hub) == 0


async def test_expired_and_replaced_sheets_are_refused(make_hub: Any, phones: Any, clock: FakeClock) -> None:
    hub = await make_hub(PATROL_YAML.replace("gap_days: 3", "gap_days: 3\n  sheet_valid_days: 2"))
    _vid, personal = await volunteer_link(hub, "อาสา 1")
    phone = await phones(hub)
    await phone.get(personal)
    link = await sheet_link(hub, "soi3")
    # The link is valid to the end of the local day two days on.
    exp = int(parse_qs(urlsplit(link).query)["exp"][0])
    assert (await phone.get(link)).status == 200
    await clock.set_time(exp + 1)
    answer = await phone.check_in(link)
    assert (answer.status, answer.reason) == (403, "expired")
    assert "หมดอายุ" in answer.text

    # A new sheet voids the old print at once, even before it expires.
    fresh = await sheet_link(hub, "soi3")
    assert (await phone.get(fresh)).status == 200
    await hub.services.call("patrol_qr", "new_sheet", {"id": "soi3"})
    answer = await phone.check_in(fresh)
    assert (answer.status, answer.reason) == (410, "old_sheet")
    assert (await phone.check_in(await sheet_link(hub, "soi3"))).status == 200
    assert await checkin_count(hub) == 1


async def test_form_token_expires_and_belongs_to_one_person(
    make_hub: Any, phones: Any, clock: FakeClock
) -> None:
    hub = await make_hub(PATROL_YAML)
    link = await sheet_link(hub, "soi3")
    alice, bob = await phones(hub), await phones(hub)
    await alice.get((await volunteer_link(hub, "Alice"))[1])
    await bob.get((await volunteer_link(hub, "Bob"))[1])
    page = await alice.get(link)
    token = {"form_exp": field(page.text, "form_exp"), "form_sig": field(page.text, "form_sig")}
    # Bob cannot send Alice's form (a relayed or copied form), and she cannot after 15 minutes.
    assert (await bob.post(link, token)).reason == "form"
    await clock.advance(16 * 60)
    late = await alice.post(link, token)
    assert (late.status, late.reason) == (403, "form")
    assert await checkin_count(hub) == 0


async def test_who_is_asked_and_revoked_volunteers_are_refused(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    link = await sheet_link(hub, "soi3")
    stranger = await phones(hub)
    page = await stranger.get(link)
    # No account, no volunteer cookie: the page offers the officer login back to this very link.
    assert page.status == 200 and 'id="officer-login"' in page.text and 'id="checkin-form"' not in page.text
    assert "/login?next=" in page.text
    assert (await stranger.post(link, {"form_exp": "1", "form_sig": "x"})).status == 401

    vid, personal = await volunteer_link(hub, "อาสา 1")
    phone = await phones(hub)
    await phone.get(personal)
    await hub.services.call("patrol_qr", "revoke_volunteer", {"volunteer_id": vid})
    answer = await phone.check_in(link)
    assert (answer.status, answer.reason) == (403, "revoked")
    # The personal link itself no longer works either, and says so.
    assert (await phone.get(personal)).status == 403
    assert (await phone.get("/patrol_qr/v/not-a-real-token")).status == 403
    # Only a hash of the token is stored: the database does not hold a working link.
    row = await hub.storage.fetchone("SELECT token_hash FROM patrol_volunteers WHERE id = ?", (vid,))
    token = personal.rsplit("/", 1)[1]
    assert row["token_hash"] == links.token_hash(token) and token not in row["token_hash"]
    assert await checkin_count(hub) == 0


async def test_officer_session_needs_its_csrf_token(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    link = await sheet_link(hub, "soi3")
    await hub.auth.add_user("officer1", "patrol-pass-1", "operator")
    phone = await phones(hub)
    # A real browser login: the pre-login CSRF cookie, then the session cookie.
    login = await phone.get(f"/login?next={link}")
    async with phone.session.post(
        "/login",
        data={
            "username": "officer1",
            "password": "patrol-pass-1",
            "csrf_token": field(login.text, "csrf_token"),
            "next": link,
        },
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303 and resp.headers["Location"] == link
    page = await phone.get(link)
    assert 'id="checkin-form"' in page.text and "officer1" in page.text
    data = {"form_exp": field(page.text, "form_exp"), "form_sig": field(page.text, "form_sig")}
    # Without the session's CSRF token (what a cross-site form would send) it is refused.
    assert (await phone.post(link, data)).reason == "form"
    assert await checkin_count(hub) == 0
    done = await phone.post(link, {**data, **AT_SOI3, "csrf_token": field(page.text, "csrf_token")})
    assert done.status == 200 and "ตำรวจ 1" in done.text


async def test_viewer_accounts_are_not_officers(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    phone = await phones(hub, "shopkeeper", role="viewer")
    answer = await phone.check_in(await sheet_link(hub, "soi3"))
    assert (answer.status, answer.reason) == (403, "role")


async def test_bad_form_input_is_refused(make_hub: Any, phones: Any) -> None:
    hub = await make_hub(PATROL_YAML)
    link = await sheet_link(hub, "soi3")
    for fields, reason in [
        ({"lat": "14.5"}, "bad_position"),
        ({"lat": "95", "lon": "100"}, "bad_position"),
        ({"lat": "nan", "lon": "100"}, "bad_position"),
        ({"lat": "x", "lon": "y"}, "bad_position"),
        ({"note": "ก" * 501}, "note_too_long"),
    ]:
        phone = await phones(hub, "officer1")
        answer = await phone.check_in(link, **fields)
        assert (answer.status, answer.reason) == (400, reason), fields
    assert await checkin_count(hub) == 0


async def test_link_helpers() -> None:
    assert links.checkin_path("soi3", "abc") == "/patrol_qr/c/soi3/abc"
    assert links.link_expiry("/x?exp=123&sig=s") == 123.0
    assert links.link_expiry("/x?sig=s") is None
    assert links.new_sheet_id() != links.new_sheet_id()
    assert len(links.token_hash("t")) == 64
