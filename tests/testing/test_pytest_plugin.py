"""The pytest plugin: how it loads, and its fixtures."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import subprocess
import sys

import pytest

from registry_auth import (
    ContainerOrchestrator,
    Credentials,
    ImageReference,
    StaticPasswordProvider,
    TokenCache,
)
from registry_auth._cache import CacheKey
from registry_auth.testing import (
    FakeDocker,
    FakeFailure,
    FrozenClock,
    ProviderEntryPoints,
    pytest_plugin,
)

pytest_plugins = ["pytester"]

# How the runs below turn the plugin on, as a user's conftest.py or command line does.
OPT_IN = ("-p", "no:cacheprovider", "-p", "registry_auth.testing")

HEAVY = {"docker", "boto3", "botocore", "hypothesis", "moto", "keyring", "requests"}


# The modules behind registry_auth.testing's lazy names.
LAZY_MODULES = {
    "registry_auth.testing.clock",
    "registry_auth.testing.contract",
    "registry_auth.testing.entry_points",
    "registry_auth.testing.fake_docker",
    "registry_auth.testing.strategies",
}

# A test module for the runs below: the first test looks at what loading the plugin loaded,
# before the second asks for every fixture.
USES_THE_FIXTURES = f"""
import sys

def test_light(request):
    assert request.config.pluginmanager.has_plugin("registry_auth.testing.pytest_plugin")
    loaded = set(sys.modules)
    assert not {{name.split(".")[0] for name in loaded}} & set({sorted(HEAVY)!r})
    # pytest scans a plugin module with dir() and getattr(): the lazy names stay unloaded.
    assert not loaded & set({sorted(LAZY_MODULES)!r})

def test_fixtures(fake_docker, static_provider, provider_entry_points, frozen_clock):
    pass
"""


def test_installing_registry_auth_registers_no_pytest_plugin():
    # Opt-in only: no fixture lands in a test suite just because registry-auth is installed.
    ours = [
        ep
        for ep in importlib.metadata.entry_points(group="pytest11")
        if ep.name == "registry_auth" or ep.value.startswith("registry_auth")
    ]
    assert ours == []


def test_importing_the_plugin_imports_nothing_heavy():
    code = (
        "import sys, registry_auth.testing.pytest_plugin\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        f"set({sorted(HEAVY)!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert out == ""


def test_without_opting_in_the_fixtures_are_absent(pytester):
    pytester.makepyfile(test_fixtures=USES_THE_FIXTURES.replace("test_light", "not_a_test"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'fake_docker' not found*"])
    available = result.stdout.str().partition("available fixtures:")[2]
    for fixture in ("static_provider", "provider_entry_points", "frozen_clock"):
        assert fixture not in available


@pytest.mark.parametrize(
    "how",
    [
        "-p registry_auth.testing",
        "-p registry_auth.testing.pytest_plugin",
        "pytest_plugins in conftest.py",
        "-p in addopts",
    ],
)
def test_opting_in_brings_the_fixtures_and_loads_nothing_heavy(pytester, how):
    args = ["-p", "no:cacheprovider"]
    if how.startswith("-p registry_auth"):
        args += how.split()
    elif how.startswith("pytest_plugins"):
        pytester.makeconftest('pytest_plugins = ["registry_auth.testing"]\n')
    else:
        pytester.makeini("[pytest]\naddopts = -p registry_auth.testing\n")
    pytester.makepyfile(test_fixtures=USES_THE_FIXTURES)
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=2)


# --- the unit-test fixtures ----------------------------------------------------------------


def test_fake_docker_records_pulls_with_a_static_provider_and_a_frozen_clock(
    fake_docker, static_provider, frozen_clock
):
    assert isinstance(fake_docker, FakeDocker)
    assert fake_docker.pulls == []
    registry = static_provider.registry.text
    digest = fake_docker.add_image(f"{registry}/team/app:1.0")
    fake_docker.require_credentials(
        registry, {static_provider.username: static_provider.password.reveal()}
    )
    fake_docker.fail_next(FakeFailure.CONNECTION_REFUSED, times=2)
    orchestrator = ContainerOrchestrator(
        fake_docker, [static_provider], clock=frozen_clock.monotonic, sleep=frozen_clock.sleep
    )
    result = orchestrator.pull(f"{registry}/team/app:1.0")
    assert result.digest == digest
    assert result.provider == "static"
    assert len(fake_docker.pulls) == 3
    assert {pull.username for pull in fake_docker.pulls} == {"test-user"}
    assert fake_docker.pulls[-1].password == static_provider.password
    # Two retries, each after a sleep that moved the frozen clock, not the real one.
    assert len(frozen_clock.sleeps) == 2
    assert frozen_clock.monotonic() == pytest.approx(sum(frozen_clock.sleeps))


def test_fake_docker_fails_a_wrong_password_as_an_engine_does(fake_docker, static_provider):
    from registry_auth import AuthenticationError

    registry = static_provider.registry.text
    fake_docker.add_image(f"{registry}/team/app:1.0")
    fake_docker.require_credentials(registry, {"test-user": "another-password"})
    orchestrator = ContainerOrchestrator(fake_docker, [static_provider], sleep=lambda _: None)
    with pytest.raises(AuthenticationError):
        orchestrator.pull(f"{registry}/team/app:1.0")
    assert len(fake_docker.pulls) == 1  # a rejected password is not retried


def test_static_provider_answers_for_the_test_registry_only(static_provider):
    assert isinstance(static_provider, StaticPasswordProvider)
    assert static_provider.registry.text == pytest_plugin.STATIC_REGISTRY == "registry.test"
    credentials = static_provider.get_credentials(ImageReference.parse("registry.test/app:1"))
    assert credentials is not None
    assert credentials.username == pytest_plugin.STATIC_USERNAME == "test-user"
    assert credentials.password.reveal().startswith("static-test-password-")
    assert credentials.password.reveal() not in repr(static_provider)
    assert static_provider.get_credentials(ImageReference.parse("registry.test:5000/app")) is None
    assert static_provider.get_credentials(ImageReference.parse("ubuntu")) is None


def test_static_provider_passwords_differ_between_tests(pytester):
    pytester.makepyfile(
        test_twice="""
        seen = []

        def test_one(static_provider):
            seen.append(static_provider.password.reveal())

        def test_two(static_provider):
            seen.append(static_provider.password.reveal())
            assert len(set(seen)) == 2
        """
    )
    pytester.inline_run(*OPT_IN).assertoutcome(passed=2)


def test_frozen_clock_drives_a_token_cache(frozen_clock):
    assert isinstance(frozen_clock, FrozenClock)
    assert frozen_clock() == dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    cache = TokenCache(clock=frozen_clock)
    key = CacheKey(provider="test", registry="registry.test", identity="someone")
    fetched = []

    def fetch():
        fetched.append(frozen_clock())
        return Credentials(
            username="u",
            password=f"token-{len(fetched)}",
            registry="registry.test",
            expires_at=frozen_clock() + dt.timedelta(hours=12),
        )

    first = cache.get_or_fetch(key, fetch)
    frozen_clock.advance(hours=5)
    assert cache.get_or_fetch(key, fetch) == first  # fresh until half its life
    frozen_clock.advance(hours=2)
    second = cache.get_or_fetch(key, fetch)
    assert second != first
    assert fetched == [
        dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(2030, 1, 1, 7, tzinfo=dt.timezone.utc),
    ]


def test_each_test_gets_its_own_frozen_clock(pytester):
    pytester.makepyfile(
        test_clocks="""
        import datetime as dt

        START = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

        def test_moves(frozen_clock):
            frozen_clock.advance(days=3)
            assert frozen_clock() == START + dt.timedelta(days=3)

        def test_starts_again(frozen_clock):
            assert frozen_clock() == START
        """
    )
    pytester.inline_run(*OPT_IN).assertoutcome(passed=2)


class VaultProvider:
    """A provider importable by name, for the entry-point fixture."""

    def __init__(self, *, secret="vault-secret-1234", name="vault"):  # noqa: S107 - test data
        self._secret = secret
        self.name = name

    def get_credentials(self, ref):
        if ref.registry != "vault.example":
            return None
        return Credentials(username="v", password=self._secret, registry=ref.registry)


def test_provider_entry_points_are_found_like_installed_plugins(provider_entry_points, tmp_path):
    from registry_auth import CredentialResolver, available_providers, load_provider

    assert isinstance(provider_entry_points, ProviderEntryPoints)
    value = provider_entry_points.register(
        "vault", VaultProvider, distribution="acme-vault", version="2.1"
    )
    assert value == f"{__name__}:VaultProvider"
    infos = {info.name: info for info in available_providers()}
    assert infos["vault"].distribution == "acme-vault"
    assert infos["vault"].version == "2.1"
    assert infos["vault"].builtin is False
    assert infos["vault"].error is None
    built = load_provider("vault", secret="vault-secret-5678")
    assert isinstance(built, VaultProvider)
    config = tmp_path / "config.toml"
    config.write_text('[registries."vault.example"]\nprovider = "vault"\n')
    resolver = CredentialResolver.from_config(config)
    assert resolver.resolve(ImageReference.parse("vault.example/app")).username == "v"


def test_provider_entry_points_hold_objects_defined_in_a_test(provider_entry_points):
    from registry_auth import available_providers, load_provider

    class Local(VaultProvider):
        pass

    def factory(**options):
        return Local(name="from-factory", **options)

    provider_entry_points.register("local", Local)
    provider_entry_points.register("factory", factory)
    provider_entry_points.register("broken", "no_such_module_for_tests:Provider", distribution="x")
    infos = {info.name: info for info in available_providers()}
    assert {"local", "factory", "broken"} <= set(infos)
    assert infos["broken"].distribution == "x"
    assert infos["broken"].error is not None
    assert "ModuleNotFoundError" in infos["broken"].error
    assert type(load_provider("local")) is Local
    assert load_provider("factory").name == "from-factory"


def test_provider_entry_points_are_gone_after_close():
    from registry_auth import available_providers, load_provider
    from registry_auth._errors import ProviderLoadError

    before = {info.name for info in available_providers()}
    path_before = list(sys.path)
    with ProviderEntryPoints() as entry_points:
        entry_points.register("vault", VaultProvider)
        entry_points.register("transient", lambda **_: VaultProvider(name="transient"))
        site = entry_points.site_directory
        assert {"vault", "transient"} <= {info.name for info in available_providers()}
        assert str(site) in sys.path
    assert {info.name for info in available_providers()} == before
    assert sys.path == path_before
    assert not site.exists()
    with pytest.raises(ProviderLoadError):
        load_provider("transient")
    with pytest.raises(RuntimeError):
        entry_points.register("late", VaultProvider)
    entry_points.close()  # twice is fine


@pytest.mark.parametrize(
    ("name", "target", "options", "problem"),
    [
        ("bad name", VaultProvider, {}, "entry-point name"),
        ("ok", "not a target", {}, "module:attribute"),
        ("ok", VaultProvider, {"distribution": "registry-auth"}, "own distribution"),
        ("ok", VaultProvider, {"distribution": "registry_auth"}, "own distribution"),
        ("ok", VaultProvider, {"distribution": "-bad-"}, "distribution name"),
        ("ok", VaultProvider, {"version": "v1"}, "not a version"),
    ],
)
def test_provider_entry_points_refuse_bad_input(
    provider_entry_points, name, target, options, problem
):
    with pytest.raises(ValueError, match=problem):
        provider_entry_points.register(name, target, **options)


def test_a_distribution_keeps_one_version(provider_entry_points):
    provider_entry_points.register("one", VaultProvider, distribution="acme", version="1.0")
    with pytest.raises(ValueError, match=r"already registered at version 1\.0"):
        provider_entry_points.register("two", VaultProvider, distribution="acme", version="2.0")


def test_provider_entry_points_in_a_given_directory(tmp_path):
    from registry_auth import available_providers

    with ProviderEntryPoints(tmp_path) as entry_points:
        entry_points.register("vault", VaultProvider, distribution="acme_vault.x", version="3")
        assert entry_points.site_directory == tmp_path / "site"
        dist_info = tmp_path / "site" / "acme_vault_x-3.dist-info"
        assert (dist_info / "METADATA").read_text().splitlines()[1:] == [
            "Name: acme_vault.x",
            "Version: 3",
        ]
        assert (dist_info / "entry_points.txt").read_text() == (
            f"[registry_auth.providers]\nvault = {__name__}:VaultProvider\n"
        )
        assert "vault" in {info.name for info in available_providers()}
    assert not (tmp_path / "site").exists()
    assert tmp_path.exists()
