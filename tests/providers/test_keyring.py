import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry_auth import (
    ConfigurationError,
    CredentialProvider,
    CredentialResolver,
    ImageReference,
    ProviderError,
    Secret,
)
from registry_auth.providers.keyring import KeyringProvider, registry_name
from tests.providers._dbus import session_env

DATA = Path(__file__).parent / "data"
CANARY = "canary-kr-9b2c"  # appears in no message, repr or log line


def ref(text):
    return ImageReference.parse(text)


@pytest.fixture
def use_backend():
    """Install a keyring backend object for one test."""
    import keyring

    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


def test_is_a_provider(plaintext_keyring):
    provider = KeyringProvider()
    assert isinstance(provider, CredentialProvider)
    assert provider.name == "keyring"
    assert KeyringProvider(name="vault").name == "vault"


def test_store_get_list_erase(plaintext_keyring):
    provider = KeyringProvider()
    assert provider.get_credentials(ref("registry.example.com:5000/team/app")) is None
    assert provider.list() == {}
    provider.store("registry.example.com:5000", "alice", "s3cret")
    provider.store("docker.io", "hubuser", Secret("hub-pat"))
    creds = provider.get_credentials(ref("registry.example.com:5000/team/app:1"))
    assert (creds.username, creds.password, creds.registry) == (
        "alice",
        Secret("s3cret"),
        "registry.example.com:5000",
    )
    assert creds.provider == "keyring"
    hub = provider.get_credentials(ref("hubuser/app"))
    assert (hub.username, hub.password.reveal(), hub.registry) == (
        "hubuser",
        "hub-pat",
        "docker.io",
    )
    assert hub.server_address == "https://index.docker.io/v1/"
    assert provider.list() == {"docker.io": "hubuser", "registry.example.com:5000": "alice"}

    assert provider.erase("registry.example.com:5000") is True
    assert provider.erase("registry.example.com:5000") is False
    assert provider.get_credentials(ref("registry.example.com:5000/team/app")) is None
    assert provider.list() == {"docker.io": "hubuser"}
    assert provider.erase("docker.io") is True
    assert provider.list() == {}


def test_list_addresses_gives_the_server_address_each_entry_was_stored_with(plaintext_keyring):
    provider = KeyringProvider()
    provider.store("docker.io", "hubuser", "pw", server_address="https://index.docker.io/v1/")
    provider.store("localhost:5000", "alice", "pw", server_address="http://localhost:5000")
    provider.store("r.example", "carol", "pw")  # no address given: its registry name
    assert provider.list_addresses() == {
        "http://localhost:5000": "alice",
        "https://index.docker.io/v1/": "hubuser",
        "r.example": "carol",
    }
    assert provider.list() == {
        "docker.io": "hubuser",
        "localhost:5000": "alice",
        "r.example": "carol",
    }
    # Storing again under another spelling replaces the address; erasing drops it.
    provider.store("localhost:5000", "alice", "pw2", server_address="localhost:5000")
    provider.erase("https://index.docker.io/v1/")
    assert provider.list_addresses() == {"localhost:5000": "alice", "r.example": "carol"}


def test_answers_only_for_the_registry_stored(plaintext_keyring):
    provider = KeyringProvider()
    provider.store("registry.example.com", "alice", CANARY)
    for image in (
        "registry.example.com:5000/app",
        "registry.example.com.evil.example/app",
        "evil.example/registry.example.com/app",
        "ubuntu",
    ):
        assert provider.get_credentials(ref(image)) is None, image


@pytest.mark.parametrize(
    ("given", "filed_as"),
    [
        ("", "docker.io"),
        ("docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("Registry.Example.com", "registry.example.com"),
        ("https://registry.example.com:5000/", "registry.example.com:5000"),
        ("http://localhost:5000", "localhost:5000"),
        ("[::1]:5000", "[::1]:5000"),
    ],
)
def test_registry_names(plaintext_keyring, given, filed_as):
    assert registry_name(given) == filed_as
    provider = KeyringProvider()
    provider.store(given, "user", "pw")
    assert provider.list() == {filed_as: "user"}
    assert plaintext_keyring.get_password(f"registry-auth:{filed_as}", "user") == "pw"
    assert provider.service(given) == f"registry-auth:{filed_as}"


@pytest.mark.parametrize(
    "image", ["hubuser/app", "index.docker.io/hubuser/app", "registry-1.docker.io/x/y"]
)
def test_docker_hub_under_any_of_its_names(plaintext_keyring, image):
    provider = KeyringProvider()
    provider.store("https://index.docker.io/v1/", "hubuser", "pw")
    assert provider.get_credentials(ref(image)).username == "hubuser"


def test_hosts_compare_without_case(plaintext_keyring):
    provider = KeyringProvider()
    provider.store("registry.example.com", "alice", "pw")
    creds = provider.get_credentials(ref("Registry.Example.COM/app"))
    assert creds.username == "alice"
    assert creds.registry == "Registry.Example.COM"


@pytest.mark.parametrize(
    ("registry", "match"),
    [
        ("myhost", "Docker Hub namespace|host needs"),
        ("registry.example.com/team", "without a path"),
        ("bad host!.example", "expected host"),
        ("registry.example.com:port", "expected host"),
    ],
)
def test_store_refuses_what_is_not_a_registry(plaintext_keyring, registry, match):
    with pytest.raises(ConfigurationError, match=match):
        KeyringProvider().store(registry, "alice", CANARY)
    assert KeyringProvider().list() == {}


def test_store_refuses_an_empty_username(plaintext_keyring):
    with pytest.raises(ConfigurationError, match=r"username for r\.example is empty"):
        KeyringProvider().store("r.example", "", "pw")


def test_storing_again_replaces_the_username_and_password(plaintext_keyring):
    provider = KeyringProvider()
    provider.store("r.example", "alice", "pw1")
    provider.store("r.example", "bob", "pw2")
    creds = provider.get_credentials(ref("r.example/app"))
    assert (creds.username, creds.password.reveal()) == ("bob", "pw2")
    assert plaintext_keyring.get_password("registry-auth:r.example", "alice") is None
    provider.store("r.example", "bob", "pw3")
    assert provider.get_credentials(ref("r.example/app")).password.reveal() == "pw3"
    assert provider.list() == {"r.example": "bob"}


def test_layout_in_the_keyring(plaintext_keyring):
    KeyringProvider().store("r.example", "alice", "pw")
    assert plaintext_keyring.get_password("registry-auth:r.example", "alice") == "pw"
    index = json.loads(plaintext_keyring.get_password("registry-auth", "registries"))
    assert index == {"version": 1, "registries": {"r.example": "alice"}}
    assert "pw" not in json.dumps(index)


def test_the_configuration_file_reads_what_the_provider_stored(plaintext_keyring, tmp_path):
    KeyringProvider().store("r.example", "alice", "kr-secret")
    path = tmp_path / "c.toml"
    path.write_text(
        '[registries."r.example"]\nprovider = "static"\nusername = "alice"\n'
        'password = { keyring = "registry-auth:r.example" }\n'
    )
    resolved = CredentialResolver.from_config(path).resolve(ref("r.example/x"))
    assert resolved.password.reveal() == "kr-secret"


def test_service_prefix_separates_stores(plaintext_keyring):
    acme = KeyringProvider(service_prefix="acme")
    other = KeyringProvider()
    acme.store("r.example", "alice", "pw")
    assert plaintext_keyring.get_password("acme:r.example", "alice") == "pw"
    assert other.get_credentials(ref("r.example/app")) is None
    assert other.list() == {}
    assert acme.list() == {"r.example": "alice"}


@pytest.mark.parametrize("prefix", ["", "  ", None])
def test_service_prefix_must_not_be_empty(plaintext_keyring, prefix):
    with pytest.raises(ConfigurationError, match="service_prefix"):
        KeyringProvider(service_prefix=prefix)


def test_registries_patterns_restrict_the_answers(plaintext_keyring):
    unrestricted = KeyringProvider()
    for registry in ("a.example.com", "b.example.org", "localhost:5000"):
        unrestricted.store(registry, "u", "pw")
    provider = KeyringProvider(registries=["*.example.com", "localhost:5000/team"])
    assert provider.get_credentials(ref("a.example.com/app")) is not None
    assert provider.get_credentials(ref("b.example.org/app")) is None
    assert provider.get_credentials(ref("localhost:5000/team/app")) is not None
    assert provider.get_credentials(ref("localhost:5000/other/app")) is None
    single = KeyringProvider(registries="b.example.org")
    assert single.get_credentials(ref("b.example.org/app")) is not None
    assert single.get_credentials(ref("a.example.com/app")) is None
    assert (
        repr(single)
        == "KeyringProvider(service_prefix='registry-auth', registries=['b.example.org'], name='keyring')"
    )


def test_registries_must_not_be_empty_or_malformed(plaintext_keyring):
    with pytest.raises(ConfigurationError, match="'registries' is empty"):
        KeyringProvider(registries=[])
    with pytest.raises(ConfigurationError, match="invalid registry pattern"):
        KeyringProvider(registries=["host:notaport"])


def test_entries_of_other_tools_are_found_where_the_backend_can_look_them_up(use_backend):
    from keyring.backend import KeyringBackend
    from keyring.credentials import SimpleCredential

    class MemoryKeyring(KeyringBackend):
        """Answers get_credential(service, None), as Secret Service and macOS Keychain do."""

        priority = 1

        def __init__(self):
            super().__init__()
            self.items = {}

        def get_password(self, service, username):
            return self.items.get((service, username))

        def set_password(self, service, username, password):
            self.items[(service, username)] = password

        def delete_password(self, service, username):
            from keyring.errors import PasswordDeleteError

            if self.items.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

        def get_credential(self, service, username):
            for (item_service, item_user), password in self.items.items():
                if item_service == service and username in (None, item_user):
                    return SimpleCredential(item_user, password)
            return None

    backend = MemoryKeyring()
    use_backend(backend)
    backend.set_password("registry-auth:r.example", "robot", "made-elsewhere")
    provider = KeyringProvider()
    assert provider.list() == {}
    creds = provider.get_credentials(ref("r.example/app"))
    assert (creds.username, creds.password.reveal()) == ("robot", "made-elsewhere")
    assert provider.erase("r.example") is True
    assert backend.items == {}


def test_entries_of_other_tools_are_not_found_by_file_backends(plaintext_keyring):
    plaintext_keyring.set_password("registry-auth:r.example", "robot", "made-elsewhere")
    assert KeyringProvider().get_credentials(ref("r.example/app")) is None


def test_a_failing_backend_is_a_provider_error_without_secrets(use_backend, caplog):
    from keyring.backend import KeyringBackend

    class BrokenKeyring(KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise RuntimeError(f"backend exploded near {CANARY}")

        def set_password(self, service, username, password):
            raise RuntimeError(f"cannot store {password}")

        def delete_password(self, service, username):
            raise RuntimeError("cannot delete")

    caplog.set_level(logging.DEBUG)
    use_backend(BrokenKeyring())
    provider = KeyringProvider()
    with pytest.raises(
        ProviderError, match=r"keyring lookup for r\.example failed \(RuntimeError\)"
    ) as caught:
        provider.get_credentials(ref("r.example/app"))
    assert (caught.value.registry, caught.value.provider) == ("r.example", "keyring")
    with pytest.raises(ProviderError, match=r"keyring store for r\.example failed") as stored:
        provider.store("r.example", "alice", CANARY)
    for error in (caught.value, stored.value):
        assert CANARY not in str(error)
        assert CANARY not in repr(error)
    assert CANARY not in caplog.text


def test_no_backend_at_all_is_a_provider_error(use_backend):
    from keyring.backends.fail import Keyring as NoKeyring

    use_backend(NoKeyring())
    with pytest.raises(ProviderError, match="no keyring backend is available"):
        KeyringProvider().get_credentials(ref("r.example/app"))


def test_a_corrupt_index_is_a_provider_error(plaintext_keyring):
    plaintext_keyring.set_password("registry-auth", "registries", "{not json")
    with pytest.raises(ProviderError, match="keyring index"):
        KeyringProvider().get_credentials(ref("r.example/app"))
    plaintext_keyring.set_password(
        "registry-auth", "registries", '{"registries": {"r.example": 5}}'
    )
    with pytest.raises(ProviderError, match="keyring index"):
        KeyringProvider().list()


def test_without_the_keyring_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring now raises ImportError
    with pytest.raises(ConfigurationError, match=r"registry-auth\[keyring\]"):
        KeyringProvider()


def test_importing_the_module_does_not_import_keyring():
    code = (
        "import sys, registry_auth.providers.keyring\n"
        "assert 'keyring' not in sys.modules, 'keyring imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_no_secret_in_repr_or_logs(plaintext_keyring, caplog):
    caplog.set_level(logging.DEBUG)
    provider = KeyringProvider()
    provider.store("r.example", "alice", CANARY)
    creds = provider.get_credentials(ref("r.example/app"))
    assert creds.password.reveal() == CANARY
    provider.list()
    provider.erase("r.example")
    assert "keyring" in caplog.text  # it did log, at debug level
    for text in (repr(provider), repr(creds), caplog.text):
        assert CANARY not in text


# --- The Secret Service backend, in a D-Bus session with gnome-keyring --------------------------


def test_secret_service_backend_in_a_dbus_session(tmp_path):
    registry = "registry.example.com:5000"
    service = f"registry-auth:{registry}"
    steps = [
        (["backend"], "keyring.backends.SecretService.Keyring"),
        (["store", "https://Registry.Example.com:5000/", "alice", "ss-pw-1"], "done"),
        (["get", f"{registry}/team/app:1"], ["alice", "ss-pw-1", registry]),
        (["secret_tool", service, "alice"], "ss-pw-1"),
        (["store", "docker.io", "hubuser", "ss-pw-2"], "done"),
        (["list"], {"docker.io": "hubuser", registry: "alice"}),
        # An entry another tool made, not in the index: found by service alone.
        (["set_password", "registry-auth:quay.io", "robot", "ss-pw-3"], "done"),
        (["get", "quay.io/org/app"], ["robot", "ss-pw-3", "quay.io"]),
        (["erase", "quay.io"], True),
        (["secret_tool", "registry-auth:quay.io", "robot"], None),
        (["get", "quay.io/org/app"], None),
        # Storing another account replaces the first one.
        (["store", registry, "bob", "ss-pw-4"], "done"),
        (["secret_tool", service, "alice"], None),
        (["get", f"{registry}/x"], ["bob", "ss-pw-4", registry]),
        (["erase", registry], True),
        (["erase", registry], False),
        (["get", f"{registry}/x"], None),
        (["list"], {"docker.io": "hubuser"}),
        (["get", "ubuntu"], ["hubuser", "ss-pw-2", "docker.io"]),
    ]
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps({"steps": [step for step, _ in steps]}))
    env = session_env(tmp_path, PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring")
    result = subprocess.run(
        [
            "dbus-run-session",
            "--",
            "sh",
            str(DATA / "in_keyring_session.sh"),
            sys.executable,
            str(DATA / "keyring_in_session.py"),
            str(plan_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    for (step, expected), outcome in zip(steps, outcomes, strict=True):
        assert outcome == expected, step
    # gnome-keyring kept the secrets in the session's own data directory.
    keyrings = Path(env["XDG_DATA_HOME"]) / "keyrings"
    assert any(keyrings.glob("*.keyring"))


STORE_MANY = """
import sys
from registry_auth.providers.keyring import KeyringProvider

provider = KeyringProvider()
for index in range(12):
    provider.store(f"r{sys.argv[1]}-{index}.example.com", "user", "keyring-canary-race")
"""


def test_processes_storing_at_once_lose_nothing(plaintext_keyring, tmp_path):
    """Four processes store at the same time through a file backend: every entry survives."""
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", STORE_MANY, str(worker)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for worker in range(4)
    ]
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output.decode()[-2000:]
    provider = KeyringProvider()
    stored = provider.list()
    assert len(stored) == 48
    assert all(
        provider.get_credentials(ref(f"{registry}/app")).password.reveal() == "keyring-canary-race"
        for registry in stored
    )
    lock_files = list(Path(os.environ["REGISTRY_AUTH_CACHE_DIR"]).glob("keyring-*.lock"))
    assert len(lock_files) == 1
    assert oct(lock_files[0].stat().st_mode & 0o777) == oct(0o600)
