"""Notify tests reuse the LINE fixtures (LINE's spec beside the repo, a validating fake LINE API)."""

from tests.integrations.line.conftest import fake_line, line_spec_dir  # noqa: F401
