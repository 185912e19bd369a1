"""Issue 15 item 4: ``check`` reports, in one run, everything that would fail later."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from hub.cli import cli

BROKEN = """\
hub:
  id: test-hub
  name: ร้านทดสอบ
  zone: satun-langu
  timezone: Asia/Bangkok
  data_dir: ./data
  web: {host: 127.0.0.1, port: 0}

bogus_block:
  a: 1
line:
  channel_access_token: abc
  channel_secret: 0123456789abcdef0123456789abcdef
  groups: {big6: C0123456789abcdef0123456789abcdef}
federation:
  station: angthong-mueang
  broker: mqtts://127.0.0.1:8883
  username: test-hub
  password: federation-password
  ca_file: missing-ca.pem
sos:
  - {id: gate, simulated: true}
light:
  - {id: lamp, simulated: true}
automation:
  - id: by_hand
    trigger: {platform: state, entity_id: sos.gate, to: triggered}
    condition: {condition: state, entity_id: light.lamp_2, state: "off"}
    action:
      - service: light.turn_onn
        target: {entity_id: light.lamp}
      - service: light.turn_on
        target: {entity_id: light.lmap}
      - service: light.turn_on
        data: {entity_id: light.lamp, colour: red}
      - service: light.flash
        data: {entity_id: light.lamp, seconds: "{{ 5 * 2 }}"}
  - id: from_blueprint
    use_blueprint:
      path: sos_alert.yaml
      input: {sos_button: sos.gat, lights: [light.lamp], line_targets: [big6, police]}
"""


def test_one_run_reports_everything(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 1
    out = result.output

    def line_of(fragment: str) -> list[str]:
        return [line for line in out.splitlines() if fragment in line]

    # An unknown top-level block at the line of its key (not the line after).
    assert line_of("config.yaml:9: bogus_block: unknown integration or plugin"), out
    # Plain words, not pydantic's.
    assert line_of("config.yaml:12: line.channel_access_token: is too short (3 characters; at least 10)"), out
    assert "items after validation" not in out
    # A ca_file that does not exist, named.
    assert [x for x in line_of("config.yaml:20: federation.ca_file:") if "missing-ca.pem" in x], out
    # hub.zone with no zone: block.
    assert [x for x in line_of("config.yaml:4: hub.zone:") if "satun-langu" in x and "zone:" in x], out
    # A service that does not exist, with what the domain has.
    assert [
        x
        for x in line_of("config.yaml:30: automation[0].action[0].service:")
        if "light.turn_onn" in x and "turn_on" in x
    ], out
    # An entity that does not exist, in target: and in a blueprint input.
    assert [x for x in line_of("config.yaml:33:") if "light.lmap" in x and "does not exist" in x], out
    assert [x for x in line_of("config.yaml:41:") if "sos.gat" in x and "does not exist" in x], out
    assert [
        x for x in line_of("config.yaml:28: automation[0].condition.entity_id:") if "light.lamp_2" in x
    ], out
    # Each missing entity once per automation, though the blueprint's input reaches its trigger too.
    assert len([x for x in out.splitlines() if "sos.gat " in x]) == 1, out
    # Data the service refuses (and the templated call is left alone).
    assert [
        x for x in line_of("config.yaml:35: automation[0].action[2].data.colour:") if "unknown key" in x
    ], out
    assert not line_of("automation[0].action[3]"), out
    # A LINE alias that is not in line.groups.
    assert [x for x in line_of("config.yaml:41:") if "'police'" in x and "line.groups" in x], out


def test_a_plugin_that_does_not_declare_its_entities_turns_the_entity_check_off(tmp_path: Path) -> None:
    """A drop-in may create ``light.custom`` without saying so: no false 'does not exist'."""
    from tests.hub.plugins.test_isolation import make_dropin

    make_dropin(
        tmp_path,
        "custom_lights",
        """
        from hub import hookimpl

        @hookimpl
        def setup(hub, config):
            hub.states.set("light.custom", "off")
    """,
    )
    path = tmp_path / "config.yaml"
    path.write_text(
        """\
hub: {id: test-hub, name: ร้าน, timezone: Asia/Bangkok, data_dir: ./data, web: {host: 127.0.0.1, port: 0}}
custom_lights:
light:
  - {id: lamp, simulated: true}
automation:
  - id: custom
    trigger: {platform: state, entity_id: light.lamp, to: "on"}
    action: {service: light.turn_on, target: {entity_id: light.custom}}
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 0, result.output
