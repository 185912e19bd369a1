"""/api/metrics: Prometheus' text format behind a token, with no personal data in labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hub.metrics import METRICS
from tests.integrations.line.conftest import BIG6, EYES

CONFIG = """\
demo: {}
automation:
  - id: sos
    triggers: [{trigger: event, event_type: sos_pressed}]
    actions:
      - action: incident.open
        data: {kind: sos, title: "SOS {{ trigger.event.data.entity_id }}"}
      - action: line.send
        data: {to: [big6, pineapple_eyes], message: "SOS ที่ร้านคุณสมชาย 081-234-5678"}
"""


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_need_a_token(hub, client_for) -> None:
    anon = await client_for(anonymous=True)
    assert (await anon.get("/api/metrics")).status == 401


async def test_metrics_count_the_sos_path(make_hub, client_for, fake_line) -> None:
    hub = await make_hub(
        CONFIG + fake_line.config_yaml({"big6": BIG6, "pineapple_eyes": EYES}), real_clock=True
    )
    await hub.services.call("sos", "press", {"entity_id": "sos.demo_market"})
    await hub.block_till_done()
    await hub.data[METRICS].probe_db()
    viewer = await client_for("viewer", target=hub)
    resp = await viewer.get("/api/metrics")
    assert resp.status == 200 and resp.content_type == "text/plain"
    text = await resp.text()
    samples = _samples(text)
    assert samples[("safetyhub_sos_presses_total", (("drill", "false"),))] == 1
    assert samples[("safetyhub_sos_incident_seconds_count", ())] == 1
    assert samples[("safetyhub_line_messages_total", (("result", "sent"),))] == 2
    assert samples[("safetyhub_incidents", (("drill", "false"), ("state", "open")))] == 1
    assert samples[("safetyhub_camera_online", (("entity_id", "camera.demo_gate"),))] == 1
    assert samples[("safetyhub_db_write_seconds_count", ())] == 1
    assert ("safetyhub_outbox_messages", ()) in samples
    # No personal data or secrets in labels or values: the message's phone number and the LINE token are absent.
    assert "081-234-5678" not in text and "สมชาย" not in text and BIG6 not in text
    assert fake_line.token not in text


async def test_loop_lag_is_sampled(hub) -> None:
    import asyncio

    from hub import metrics as metrics_module

    metrics = hub.data[METRICS]
    metrics_module.SAMPLE_EVERY = 0.01
    try:
        task = hub.create_background_task(metrics._lag_loop(), "test lag")
        await asyncio.sleep(0.1)
        task.cancel()
    finally:
        metrics_module.SAMPLE_EVERY = 1.0
    assert _samples((await metrics.render()).decode())[("safetyhub_event_loop_lag_seconds_count", ())] >= 3
