"""The page tests' cookie-keeping client (``browser``) from the core page tests."""

from tests.hub.http.test_pages import browser  # noqa: F401
