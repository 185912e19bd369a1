"""Library errors are chained (``raise … from err``), so a traceback shows what really failed.

``from None`` hides the cause; it is kept only where the cause would carry a secret, and
the line before says so (a comment starting "Not chained").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hub.template import get_engine
from hub.template.engine import TemplateError

ROOT = Path(__file__).resolve().parents[2]


def test_no_cause_is_dropped_without_a_reason() -> None:
    hidden = []
    for folder in ("hub", "integrations", "plugins"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            for number, line in enumerate(lines, 1):
                if re.search(r"\bfrom None\b", line) and "Not chained" not in lines[number - 2]:
                    hidden.append(f"{path.relative_to(ROOT)}:{number}")
    assert not hidden, f"'from None' without a '# Not chained: <the secret>' comment: {hidden}"


async def test_a_template_error_keeps_the_library_error_as_its_cause(make_hub: Any) -> None:
    hub = await make_hub(web=False)
    with pytest.raises(TemplateError) as caught:
        get_engine(hub).render("{{ 'x' | float }}")
    # The helper's refusal, and under it the ValueError that float() raised.
    assert isinstance(caught.value.__cause__, Exception)
    assert isinstance(caught.value.__cause__.__cause__, ValueError)
