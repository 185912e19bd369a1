"""Fixtures of the page tests: the federation lab for the station crawl."""

from integrations.federation.testing import federation_lab  # noqa: F401
