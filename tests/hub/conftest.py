"""Core tests that follow an SOS to LINE use the LINE fixtures (the validating fake LINE API)."""

from tests.integrations.line.conftest import fake_line, line_spec_dir  # noqa: F401
