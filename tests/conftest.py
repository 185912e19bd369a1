"""Project-wide test settings; the fixtures themselves come from ``hub.testing``."""

import os

# Only the tree's own plugins: a developer's pip-installed plugins must not
# change what the project's tests see.
os.environ.setdefault("SAFETYHUB_ENTRYPOINTS", "0")
