"""``python -m bench``: run every benchmark (see bench/runner.py and docs/benchmarks.md)."""

import sys

from bench.runner import main

sys.exit(main())
