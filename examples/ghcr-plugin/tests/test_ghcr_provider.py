"""GhcrProvider's own behaviour: token sources, usernames, owners, configuration, a pull."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_auth import (
    ConfigurationError,
    ContainerOrchestrator,
    CredentialResolver,
    ImageReference,
    ProviderError,
    Secret,
    available_providers,
    load_provider,
)
from registry_auth.testing import FakeDocker, image_references

from registry_auth_ghcr import GhcrProvider

TOKEN = "ghp_providerToken0123456789abcdef"
OTHER_TOKEN = "ghp_otherToken0123456789abcdef"
APP = ImageReference.parse("ghcr.io/octo-org/app:1.0")


def token_of(provider: GhcrProvider, ref: ImageReference = APP) -> str | None:
    credentials = provider.get_credentials(ref)
    return None if credentials is None else credentials.password.reveal()


# --- where the token comes from ---------------------------------------------------------------


def test_ghcr_token_wins_over_github_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", OTHER_TOKEN)
    assert token_of(GhcrProvider()) == OTHER_TOKEN
    monkeypatch.setenv("GHCR_TOKEN", TOKEN)
    assert token_of(GhcrProvider()) == TOKEN


def test_no_token_in_the_environment_means_no_credentials() -> None:
    assert GhcrProvider().get_credentials(APP) is None


def test_blank_variables_are_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHCR_TOKEN", "  ")
    assert GhcrProvider().get_credentials(APP) is None
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert token_of(GhcrProvider()) == TOKEN


def test_variables_can_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHCR_TOKEN", OTHER_TOKEN)
    monkeypatch.setenv("MY_GHCR", TOKEN)
    assert token_of(GhcrProvider(env="MY_GHCR")) == TOKEN
    assert token_of(GhcrProvider(env=["UNSET_ONE", "MY_GHCR"])) == TOKEN
    assert GhcrProvider(env="UNSET_ONE").get_credentials(APP) is None


def test_the_environment_is_read_at_each_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = GhcrProvider()
    assert provider.get_credentials(APP) is None
    monkeypatch.setenv("GHCR_TOKEN", TOKEN)
    assert token_of(provider) == TOKEN


def test_a_token_file_is_read_at_each_lookup(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"{TOKEN}\n")
    provider = GhcrProvider(file=token_file)
    assert token_of(provider) == TOKEN
    token_file.write_text(f"  {OTHER_TOKEN}\r\n")  # rotated
    assert token_of(provider) == OTHER_TOKEN


def test_a_token_file_takes_no_token_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHCR_TOKEN", OTHER_TOKEN)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    assert token_of(GhcrProvider(file=str(token_file))) == TOKEN


def test_a_missing_token_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    with pytest.raises(ProviderError) as caught:
        GhcrProvider(file=missing).get_credentials(APP)
    assert str(missing) in caught.value.message
    assert "No such file" in caught.value.message
    assert caught.value.provider == "ghcr"
    assert caught.value.registry == "ghcr.io"


def test_an_empty_token_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ProviderError, match="is empty"):
        GhcrProvider(file=empty).get_credentials(APP)


def test_a_token_file_is_not_read_for_other_registries(tmp_path: Path) -> None:
    provider = GhcrProvider(file=tmp_path / "not-there")
    assert provider.get_credentials(ImageReference.parse("quay.io/octo-org/app")) is None


def test_a_password_given_in_code() -> None:
    assert token_of(GhcrProvider(password=TOKEN)) == TOKEN
    assert token_of(GhcrProvider(password=Secret(TOKEN))) == TOKEN


@pytest.mark.parametrize(
    "options",
    [
        {"password": TOKEN, "env": "GHCR_TOKEN"},
        {"password": TOKEN, "file": "/run/secrets/ghcr"},
        {"env": "GHCR_TOKEN", "file": "/run/secrets/ghcr"},
    ],
)
def test_one_token_source_at_most(options: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="one token source"):
        GhcrProvider(**options)


@pytest.mark.parametrize(
    "options",
    [
        {"env": "NOT A NAME"},
        {"env": []},
        {"env": ["GOOD", "1BAD"]},
        {"username": ""},
        {"username": "a:b"},
        {"owners": ["Not/An/Owner"]},
        {"owners": ["-dash"]},
        {"name": " "},
    ],
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        GhcrProvider(**options)  # type: ignore[arg-type]


# --- what it answers ---------------------------------------------------------------------------


def test_username_given_then_github_actor_then_token(monkeypatch: pytest.MonkeyPatch) -> None:
    def username(provider: GhcrProvider) -> str:
        credentials = provider.get_credentials(APP)
        assert credentials is not None
        return credentials.username

    assert username(GhcrProvider(password=TOKEN)) == "token"
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert username(GhcrProvider(password=TOKEN)) == "octocat"
    assert username(GhcrProvider(password=TOKEN, username="robot")) == "robot"


def test_credentials_are_for_the_reference_registry_and_name_the_provider() -> None:
    provider = GhcrProvider(password=TOKEN, name="ghcr-ci")
    credentials = provider.get_credentials(ImageReference.parse("GHCR.IO/octo-org/app"))
    assert credentials is not None
    assert credentials.registry == "GHCR.IO"
    assert credentials.provider == "ghcr-ci"
    assert credentials.expires_at is None
    assert credentials.to_docker_auth_config()["serveraddress"] == "GHCR.IO"


@pytest.mark.parametrize(
    "text",
    [
        "ghcr.io.evil.example/octo-org/app",
        "evil.example/ghcr.io/octo-org/app",
        "ghcr.io:443/octo-org/app",
        "ghcr.io:5000/octo-org/app",
        "xghcr.io/octo-org/app",
        "pkg.ghcr.io/octo-org/app",
        "docker.pkg.github.com/octo-org/repo/app",
        "octo-org/app",
        "localhost:5000/ghcr.io/app",
    ],
)
def test_never_answers_for_another_host(text: str) -> None:
    assert GhcrProvider(password=TOKEN).get_credentials(ImageReference.parse(text)) is None


@given(image_references())
def test_never_answers_for_any_other_registry(ref: ImageReference) -> None:
    answer = GhcrProvider(password=TOKEN).get_credentials(ref)
    assert (answer is not None) == (ref.registry.lower() == "ghcr.io")


@given(st.sampled_from(["octo-org", "someone-else", "octo-org-evil", "octo"]))
def test_owners_limit_where_the_token_goes(owner: str) -> None:
    provider = GhcrProvider(password=TOKEN, owners=["Octo-Org"])
    answer = provider.get_credentials(ImageReference.parse(f"ghcr.io/{owner}/app"))
    assert (answer is not None) == (owner == "octo-org")


def test_repr_names_the_source_and_hides_the_token(tmp_path: Path) -> None:
    assert repr(GhcrProvider(password=TOKEN)) == (
        "GhcrProvider(password=Secret('********'), username=None, owners=[], name='ghcr')"
    )
    assert repr(GhcrProvider(env="MY_GHCR", owners=["b", "a"])) == (
        "GhcrProvider(env=('MY_GHCR',), username=None, owners=['a', 'b'], name='ghcr')"
    )
    assert repr(GhcrProvider(file=tmp_path / "t", username="robot")) == (
        f"GhcrProvider(file={str(tmp_path / 't')!r}, username='robot', owners=[], name='ghcr')"
    )


def test_logs_say_where_the_token_came_from_not_what_it_is(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="registry_auth_ghcr")
    GhcrProvider().get_credentials(APP)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    GhcrProvider().get_credentials(APP)
    assert [record.getMessage() for record in caplog.records] == [
        "no ghcr token in $GHCR_TOKEN, $GITHUB_TOKEN",
        "ghcr token for ghcr.io/octo-org/app:1.0 from $GITHUB_TOKEN",
    ]


# --- as registry-auth sees it: entry point, configuration file, a pull --------------------------


def test_installed_under_the_ghcr_entry_point() -> None:
    (info,) = [info for info in available_providers() if info.name == "ghcr"]
    assert info.distribution == "registry-auth-ghcr"
    assert info.value == "registry_auth_ghcr:GhcrProvider"
    assert info.error is None
    assert not info.builtin
    assert isinstance(load_provider("ghcr", env="MY_GHCR"), GhcrProvider)


def test_a_configuration_file_routes_ghcr_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_GHCR", TOKEN)
    token_file = tmp_path / "other-token"
    token_file.write_text(OTHER_TOKEN)
    config = tmp_path / "config.toml"
    config.write_text(
        '[registries."ghcr.io/octo-org"]\n'
        'provider = "ghcr"\n'
        'env = "MY_GHCR"\n'
        'username = "octocat"\n'
        "\n"
        '[registries."ghcr.io"]\n'
        'provider = "ghcr"\n'
        f'password = {{ file = "{token_file}" }}\n'
    )
    config.chmod(0o600)
    resolver = CredentialResolver.from_config(config)
    mine = resolver.resolve(APP)
    assert mine is not None
    assert (mine.username, mine.password.reveal()) == ("octocat", TOKEN)
    theirs = resolver.resolve(ImageReference.parse("ghcr.io/someone/tool:2"))
    assert theirs is not None
    assert (theirs.username, theirs.password.reveal()) == ("token", OTHER_TOKEN)


def test_an_orchestrator_pulls_with_its_token(
    fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHCR_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    digest = fake_docker.add_image("ghcr.io/octo-org/app:1.0")
    fake_docker.require_credentials("ghcr.io", {"octocat": TOKEN}, scheme="token")
    result = ContainerOrchestrator(fake_docker, [GhcrProvider()]).pull("ghcr.io/octo-org/app:1.0")
    assert result.digest == digest
    assert result.provider == "ghcr"
    (pull,) = fake_docker.pulls
    assert (pull.username, pull.password) == ("octocat", Secret(TOKEN))
    assert pull.server_address == "ghcr.io"
