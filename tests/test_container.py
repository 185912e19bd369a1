"""The Dockerfile, without a container engine (none runs here): its build context and a lint.

The build context is worked out from .dockerignore as Docker does (the last matching rule wins;
a rule matches a path or any folder above it), then checked: everything COPY names is in it,
and no database, secret or cache is.  The lint holds the Dockerfile to the rules hadolint would.
The HEALTHCHECK's own command is run against a real hub.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

from hub.testing import BASE_CONFIG

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _context() -> list[str]:
    rules = []
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            negate = raw.startswith("!")
            rules.append((negate, raw.lstrip("!").rstrip("/")))

    def matches(pattern: str, path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        regex = fnmatch.translate(pattern).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        if pattern.startswith("**/"):
            return any(fnmatch.fnmatch(c.rsplit("/", 1)[-1], pattern[3:]) for c in candidates)
        return any(re.fullmatch(regex, c) for c in candidates)

    included = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            rel = Path(root, name).relative_to(REPO).as_posix()
            keep = True
            for negate, pattern in rules:
                if matches(pattern, rel):
                    keep = negate
            if keep:
                included.append(rel)
    return included


def test_the_build_context_holds_what_copy_needs_and_no_secret() -> None:
    context = _context()
    for word, rest in _instructions():
        if word == "COPY":
            *sources, _dest = shlex.split(rest)
            for source in sources:
                assert any(c == source or c.startswith(source.rstrip("/") + "/") for c in context), source
    assert "hub/cli.py" in context and "web/templates/base.html" in context
    bad = [
        c
        for c in context
        if c.endswith((".db", ".db-wal", "secrets.yaml", ".pyc"))
        or c.startswith(("tests/", "bench/", ".ci/"))
    ]
    assert bad == []


def test_the_dockerfile_follows_the_lint_rules() -> None:
    steps = _instructions()
    words = [w for w, _ in steps]
    base = steps[0][1]
    assert steps[0][0] == "FROM" and ":" in base and not base.endswith(":latest")  # DL3006/DL3007
    for word, rest in steps:
        assert word != "ADD" or "://" not in rest  # DL3020: no remote ADD
        if word == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest and "-y" in rest  # DL3015, DL3014
            assert "rm -rf /var/lib/apt/lists/*" in rest  # DL3009
        if word == "RUN" and "pip install" in rest:
            assert "--no-cache-dir" in rest  # DL3042
    user_at = max(i for i, w in enumerate(words) if w == "USER")
    assert steps[user_at][1] not in ("root", "0") and user_at < words.index("CMD")  # DL3002
    assert "HEALTHCHECK" in words and "EXPOSE" in words and words.count("CMD") == 1


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_healthcheck_command_sees_a_running_hub(tmp_path: Path) -> None:
    health = next(rest for word, rest in _instructions() if word == "HEALTHCHECK")
    exec_form = re.search(r"CMD (\[.*\])$", health)
    assert exec_form is not None
    import json

    argv = json.loads(exec_form.group(1))
    port = _port()
    argv = [a.replace("127.0.0.1:8123", f"127.0.0.1:{port}") for a in argv]
    argv[0] = sys.executable
    (tmp_path / "config.yaml").write_text(BASE_CONFIG, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    assert subprocess.run(argv, timeout=30, capture_output=True).returncode != 0  # nothing running yet
    hub = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "run", "-c", "config.yaml", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if subprocess.run(argv, timeout=30, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the health check never passed")
    finally:
        hub.terminate()
        hub.wait(timeout=30)
