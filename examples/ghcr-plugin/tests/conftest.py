"""registry-auth's pytest fixtures, and an environment without GitHub's variables per test."""

from __future__ import annotations

import pytest

from registry_auth_ghcr import DEFAULT_TOKEN_VARIABLES, USERNAME_VARIABLE

# registry-auth's pytest plugin is opt-in: this brings its fixtures (fake_docker among them).
pytest_plugins = ["registry_auth.testing"]


@pytest.fixture(autouse=True)
def _no_github_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI machines (GitHub Actions among them) may set these; the tests set their own."""
    for variable in (*DEFAULT_TOKEN_VARIABLES, USERNAME_VARIABLE):
        monkeypatch.delenv(variable, raising=False)
