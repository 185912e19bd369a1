"""Chaos: LINE's API fails half of its requests while SOS presses keep coming."""

from __future__ import annotations

from typing import Any

from hub.testing import BASE_CONFIG
from tests.chaos.conftest import (
    GROUPS,
    SOS_BLOCK,
    FlakyLine,
    cards,
    check_promises,
    get_health,
    incidents_by_press,
    until,
)

BASE = BASE_CONFIG.replace(
    "web: {host: 127.0.0.1, port: 0}",
    "web: {host: 127.0.0.1, port: 0, public_url: 'https://talat.example.org'}",
)
PRESSES = 8


class HalfBroken(FlakyLine):
    """Every second push fails: alternately a 500 (nothing delivered) and a late answer after acceptance."""

    fail_every = 2

    def fail(self, status: int, **kwargs: Any) -> None:
        if self.injected % 2 == 0:
            # LINE accepted and delivered, but the answer comes after the client gave up:
            # only the retry key keeps the re-send from being a second message.
            self.delay(1.0)
        else:
            super().fail(status, **kwargs)


async def test_half_of_line_requests_fail(make_hub: Any, line_fake: Any) -> None:
    fake = await line_fake(HalfBroken)
    # The real clock with short backoffs: many sends wait out their backoff at once, which a
    # fake clock (whose advance() settles every task) cannot interleave.
    retry = "request_timeout: 0.3\nretry: {attempts: 12, backoff: 0.05, max_backoff: 0.2}"
    hub = await make_hub(fake.config_yaml(GROUPS, retry) + SOS_BLOCK, base=BASE, real_clock=True)
    assert not hub.config_errors, hub.config_errors
    for n in range(PRESSES):
        await hub.services.call("sos", "press", {"entity_id": "sos.gate", "action": f"chaos-{n}"})

    async def all_delivered() -> bool:
        incidents = await incidents_by_press(hub.storage)
        ids = [v[0] for v in incidents.values()]
        counts = cards(fake, ids)
        return len(ids) == PRESSES and all(counts[(g, i)] for g in GROUPS.values() for i in ids)

    await until(
        all_delivered,
        within=30,
        interval=0.05,
        message=f"cards missing: {[(r.path, r.status) for r in fake.requests]}",
    )
    await hub.block_till_done()  # every send finished: a late retry would have gone out by now
    await until(lambda: all(r.status for r in fake.requests), within=5)
    statuses = [r.status for r in fake.requests if r.path == "/v2/bot/message/push"]
    assert fake.injected >= PRESSES, statuses  # the faults really happened
    assert 500 in statuses and 409 in statuses, statuses  # both kinds: refused, and accepted-then-late
    check_promises(
        [f"chaos-{n}" for n in range(PRESSES)],
        await incidents_by_press(hub.storage),
        fake,
        await get_health(hub.http.url),
    )
    # Every send's failures are on the incident's record, not only in a log.
    assert not fake.violations
