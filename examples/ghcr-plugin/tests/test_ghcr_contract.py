"""GhcrProvider keeps registry-auth's provider contract, whichever source its token comes from."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_auth.testing import ProviderContractTests

from registry_auth_ghcr import GhcrProvider

TOKEN = "ghp_contractToken0123456789abcdef"


class GhcrContract(ProviderContractTests):
    """What the variants below share: where they answer and where they must not."""

    matching_reference = "ghcr.io/octo-org/app:1.0"
    foreign_references = (
        "docker.pkg.github.com/octo-org/repo/app:1.0",
        "ghcr.com/octo-org/app:1.0",
        "github.com/octo-org/app",
        "xghcr.io/octo-org/app",
        "pkg.ghcr.io/octo-org/app",
    )
    entry_point = "ghcr"


class TestFromTheEnvironment(GhcrContract):
    expected_username = "octocat"

    @pytest.fixture(autouse=True)
    def _github_actions(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_ACTOR", "octocat")

    def make_provider(self) -> GhcrProvider:
        return GhcrProvider()


class TestFromAFile(GhcrContract):
    expected_username = "token"
    entry_point_options = {"file": "/run/secrets/ghcr"}  # noqa: RUF012 - read-only options

    @pytest.fixture
    def provider(self, tmp_path: Path) -> GhcrProvider:
        token_file = tmp_path / "ghcr-token"
        token_file.write_text(TOKEN + "\n")
        return GhcrProvider(file=token_file)


class TestGivenAPassword(GhcrContract):
    expected_username = "robot"
    entry_point_options = {"password": "x"}  # noqa: RUF012 - read-only options

    def make_provider(self) -> GhcrProvider:
        return GhcrProvider(password=TOKEN, username="robot", owners=["octo-org"])
