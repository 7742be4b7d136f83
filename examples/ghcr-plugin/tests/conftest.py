"""Every test starts from an environment without GitHub's variables."""

from __future__ import annotations

import pytest

from registry_auth_ghcr import DEFAULT_TOKEN_VARIABLES, USERNAME_VARIABLE


@pytest.fixture(autouse=True)
def _no_github_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI machines (GitHub Actions among them) may set these; the tests set their own."""
    for variable in (*DEFAULT_TOKEN_VARIABLES, USERNAME_VARIABLE):
        monkeypatch.delenv(variable, raising=False)
