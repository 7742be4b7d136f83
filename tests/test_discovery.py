import logging
import subprocess
import sys

import pytest

from registry_auth import (
    CredentialProvider,
    ImageReference,
    ProviderLoadError,
    StaticPasswordProvider,
    _discovery,
    available_providers,
    load_provider,
    reset_provider_discovery,
)

# A test secret: named, never written out in a call, since tracebacks quote source lines.
PASSWORD = "pw-canary-3f"


@pytest.fixture
def plugins(installed_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(installed_plugins))
    reset_provider_discovery()
    return installed_plugins


def by_name():
    return {info.name: info for info in available_providers()}


def test_builtins_are_entry_points_of_our_own_distribution():
    infos = by_name()
    for name in ("static", "dockerhub"):
        assert infos[name].builtin
        assert infos[name].distribution == "registry-auth"
        assert infos[name].version
        assert infos[name].error is None
        assert infos[name].loaded
    assert infos["static"].value == "registry_auth.providers.static:StaticPasswordProvider"


def test_load_builtin_by_name():
    provider = load_provider("static", registry="localhost:5000", username="a", password="b")
    assert isinstance(provider, StaticPasswordProvider)


def test_unknown_name_lists_what_is_installed():
    with pytest.raises(
        ProviderLoadError, match=r"no credential provider named 'nope'.*static"
    ) as info:
        load_provider("nope")
    assert info.value.provider == "nope"


def test_bad_options_name_the_provider():
    with pytest.raises(ProviderLoadError, match="'static' has no option 'colour'") as info:
        load_provider("static", registry="x.example", username="a", password=PASSWORD, colour="red")
    assert info.value.provider == "static"
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value.__cause__)


def test_an_unknown_option_names_the_closest_valid_one():
    with pytest.raises(ProviderLoadError) as info:
        load_provider("static", registry="x.example", username="a", pasword=PASSWORD)
    assert str(info.value) == (
        "provider 'static' has no option 'pasword' (did you mean 'password'?)"
    )


def test_valid_options_are_never_listed_as_rejected():
    with pytest.raises(ProviderLoadError) as info:
        load_provider("dockerhub", username="a", password="pw", namespace=["team"], zzzz=1)
    message = str(info.value)
    assert message == (
        "provider 'dockerhub' has no option 'namespace' (did you mean 'namespaces'?), 'zzzz'"
    )
    assert "username" not in message
    assert "password" not in message


def test_a_missing_option_is_named():
    with pytest.raises(ProviderLoadError) as info:
        load_provider("static", registry="x.example", password=PASSWORD)
    assert str(info.value) == "provider 'static' needs the option 'username'"


def test_a_value_of_the_wrong_type_says_what_the_provider_said():
    with pytest.raises(ProviderLoadError, match="'static' rejected its options: ") as info:
        load_provider("static", registry=5, username="a", password=PASSWORD)
    assert PASSWORD not in str(info.value)


def test_a_factory_taking_any_keyword_is_not_second_guessed():
    def factory(**options):
        raise TypeError("factory-says-no")

    with pytest.raises(ProviderLoadError) as info:
        _discovery._build("any", factory, {"pasword": "x"}, None)
    assert str(info.value) == "provider 'any' rejected its options: factory-says-no"


def test_third_party_plugin_is_found_loaded_and_used(plugins):
    info = by_name()["example-vault"]
    assert not info.builtin
    assert info.distribution == "registry-auth-example-vault"
    assert info.version == "1.2.3"
    assert info.error is None
    provider = load_provider("example-vault", entries={"vault.example:5000": "bob:pw-7"})
    assert isinstance(provider, CredentialProvider)
    creds = provider.get_credentials(ImageReference.parse("vault.example:5000/team/app"))
    assert creds is not None
    assert creds.username == "bob"
    assert creds.password.reveal() == "pw-7"
    assert provider.get_credentials(ImageReference.parse("ubuntu")) is None


def test_broken_plugins_are_reported_not_fatal(plugins, caplog):
    caplog.set_level(logging.WARNING, logger="registry_auth.plugins")
    infos = by_name()
    assert infos["broken-import"].error.startswith("ModuleNotFoundError")
    assert infos["broken-import"].distribution == "registry-auth-broken-plugin"
    assert infos["broken-attribute"].error is not None
    assert not infos["broken-import"].loaded
    # The others still work.
    assert infos["example-vault"].loaded
    assert infos["static"].loaded
    assert "broken-import" in caplog.text
    with pytest.raises(ProviderLoadError, match=r"registry-auth-broken-plugin 0\.0\.1") as info:
        load_provider("broken-import")
    assert info.value.distribution == "registry-auth-broken-plugin"


def test_autoload_switch_keeps_only_builtins(plugins, monkeypatch):
    monkeypatch.setenv("REGISTRY_AUTH_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = set(by_name())
    assert names == {"static", "dockerhub", "ecr", "docker-config", "keyring"}
    with pytest.raises(ProviderLoadError, match="autoloading is disabled"):
        load_provider("example-vault", entries={})
    # An explicit module:attribute still loads.
    provider = load_provider("registry_auth_example_vault:VaultProvider", entries={})
    assert provider.name == "example-vault"


def test_block_list(plugins, monkeypatch):
    monkeypatch.setenv("REGISTRY_AUTH_BLOCK_PROVIDERS", "example-vault, dockerhub")
    assert "example-vault" not in by_name()
    assert "dockerhub" not in by_name()
    assert "example-vault" in {i.name for i in available_providers(include_blocked=True)}
    with pytest.raises(ProviderLoadError, match="blocked"):
        load_provider("example-vault", entries={})
    with pytest.raises(ProviderLoadError, match="blocked"):
        load_provider("static", block=["static"], registry="x.example", username="a", password="b")


def test_something_that_is_not_a_provider_is_refused():
    with pytest.raises(ProviderLoadError, match="lacks 'name' and 'get_credentials"):
        load_provider("collections:OrderedDict")
    with pytest.raises(ProviderLoadError, match="could not be imported"):
        load_provider("no_such_module_xyz:Thing")


def test_discovery_is_cached_until_reset(plugins, monkeypatch):
    available_providers()
    calls = []
    import registry_auth._discovery as discovery

    real = discovery.entry_points  # type: ignore[attr-defined]

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(discovery, "entry_points", counting)
    available_providers()
    assert calls == []
    reset_provider_discovery()
    available_providers()
    assert calls == [{"group": "registry_auth.providers"}]


def test_plugin_works_in_a_fresh_process(installed_plugins):
    code = (
        "from registry_auth import load_provider, ImageReference\n"
        "p = load_provider('example-vault', entries={'r.example': 'u:p'})\n"
        "print(p.get_credentials(ImageReference.parse('r.example/x')).username)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(installed_plugins), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip() == "u"


def test_an_option_called_name_is_an_option_like_any_other():
    provider = load_provider("static", registry="r.example", username="u", password="p", name="x")
    assert provider.name == "x"
    with pytest.raises(ProviderLoadError, match=r"has no option 'nmae' \(did you mean 'name'"):
        load_provider("static", registry="r.example", username="u", password="p", nmae="x")
