"""docker-credential-registry-auth: the protocol, in process and as the installed executable."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry_auth import CredentialResolver, Credentials, StaticPasswordProvider
from registry_auth._cache import CacheKey, TokenCache
from registry_auth._credential_helper import (
    MISSING_SERVER_URL,
    MISSING_USERNAME,
    NOT_FOUND,
    run,
)

SECRET = "helper-canary-4410"


def call(action, stdin=b"", resolver=None):
    out = io.StringIO()
    code = run([action], stdin=io.BytesIO(stdin), stdout=out, resolver=resolver)
    return code, out.getvalue()


def static(registry="registry.example.com:5000", **kwargs):
    provider = StaticPasswordProvider(registry=registry, username="alice", password=SECRET)
    return lambda: CredentialResolver([provider, *kwargs.get("more", [])])


@pytest.mark.parametrize(
    "address",
    [
        "registry.example.com:5000",
        "https://registry.example.com:5000",
        "https://registry.example.com:5000/v2/",
        "REGISTRY.example.com:5000",
    ],
)
def test_get_answers_for_every_spelling_of_the_host(address):
    code, out = call("get", address.encode() + b"\n", static())
    assert code == 0
    assert json.loads(out) == {"ServerURL": address, "Username": "alice", "Secret": SECRET}


def test_get_docker_hub_under_its_v1_address():
    code, out = call("get", b"https://index.docker.io/v1/", static(registry=""))
    assert code == 0
    assert json.loads(out)["Username"] == "alice"


def test_get_not_found_is_the_protocol_message():
    code, out = call("get", b"quay.io", static())
    assert (code, out) == (1, NOT_FOUND + "\n")


def test_path_scoped_entries_do_not_answer_host_queries():
    code, _ = call("get", b"registry.example.com:5000", static("registry.example.com:5000/team"))
    assert code == 1


def test_identity_tokens_use_the_token_username():
    class TokenProvider:
        name = "tokens"

        def get_credentials(self, ref):
            return Credentials(
                username="alice", password="", registry=ref.registry, identity_token=SECRET
            )

    code, out = call("get", b"r.example", lambda: CredentialResolver([TokenProvider()]))
    assert code == 0
    assert json.loads(out) == {"ServerURL": "r.example", "Username": "<token>", "Secret": SECRET}


@pytest.mark.parametrize(
    ("action", "stdin", "message"),
    [
        ("get", b"", "no credentials server URL"),
        ("get", b" \n", "no credentials server URL"),
        ("erase", b"", "no credentials server URL"),
        ("get", b"not a host!", "invalid server address"),
        ("get", b"https://user:pw@host.example/", "must not hold user information"),
        ("get", b"\xff\xfe", "not UTF-8"),
        ("get", b"x" * (64 * 1024 + 1), "larger than"),
        ("store", b"not json", "JSON object"),
        ("store", b'{"ServerURL": "r.example"}', "no credentials username"),
        ("store", b'{"Username": "u", "Secret": "s"}', "no credentials server URL"),
        ("store", b'{"ServerURL": "r.example", "Username": "u"}', "non-empty Secret"),
        ("store", b'{"ServerURL": 1, "Username": "u", "Secret": "s"}', "strings"),
        ("frobnicate", b"", "unknown action"),
    ],
)
def test_errors_go_to_stdout_with_exit_1(action, stdin, message):
    code, out = call(action, stdin, static())
    assert code == 1
    assert message in out
    assert SECRET not in out
    assert "user:pw" not in out


# The texts of docker-credential-helpers' credentials/error.go: clients compare them exactly.
@pytest.mark.parametrize(
    ("action", "stdin", "text"),
    [
        ("get", b"", MISSING_SERVER_URL),
        ("erase", b"\n", MISSING_SERVER_URL),
        ("store", b'{"ServerURL": "", "Username": "u", "Secret": "s"}', MISSING_SERVER_URL),
        ("store", b'{"ServerURL": "r.example", "Username": "", "Secret": "s"}', MISSING_USERNAME),
        ("get", b"quay.io", NOT_FOUND),
    ],
)
def test_the_shared_library_texts_exactly(action, stdin, text):
    assert (MISSING_SERVER_URL, MISSING_USERNAME, NOT_FOUND) == (
        "no credentials server URL",
        "no credentials username",
        "credentials not found in native keychain",
    )
    assert call(action, stdin, static()) == (1, text + "\n")


def test_docker_py_reads_not_found_as_not_found(env, monkeypatch):
    """docker-py's Store raises CredentialsNotFound only for the exact protocol text."""
    from docker.credentials import Store
    from docker.credentials.errors import CredentialsNotFound, StoreError

    # docker-py finds the program on this process's PATH.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    store = Store("registry-auth", environment=env)
    assert store.get("https://registry.example.com")["Secret"] == SECRET
    with pytest.raises(CredentialsNotFound):
        store.get("quay.io")
    with pytest.raises(StoreError, match="no credentials server URL") as raised:
        store.get("")
    assert not isinstance(raised.value, CredentialsNotFound)


def test_version():
    code, out = call("version")
    assert code == 0
    assert out.startswith("docker-credential-registry-auth (registry-auth) ")


def test_usage_without_an_action():
    out = io.StringIO()
    assert run([], stdin=io.BytesIO(), stdout=out) == 1
    assert "usage" in out.getvalue()


# -- the installed executable -------------------------------------------------------------------


def helper(action, stdin: bytes, env):
    exe = Path(sys.executable).with_name("docker-credential-registry-auth")
    return subprocess.run(
        [str(exe), action], input=stdin, capture_output=True, check=False, timeout=60, env=env
    )


@pytest.fixture
def env(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "HELPER_TEST_PASSWORD" }\n'
    )
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "REGISTRY_AUTH_CONFIG": str(config),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "HELPER_TEST_PASSWORD": SECRET,
    }


def test_executable_get(env):
    result = helper("get", b"https://registry.example.com", env)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["Secret"] == SECRET
    assert result.stderr == b""


def test_executable_not_found(env):
    result = helper("get", b"quay.io", env)
    assert result.returncode == 1
    assert result.stdout == (NOT_FOUND + "\n").encode()


def test_executable_configuration_error_never_shows_a_secret(env, tmp_path):
    Path(env["REGISTRY_AUTH_CONFIG"]).write_text(
        f'[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        f'password = "{SECRET}"\ncolour = "red"\n'
    )
    result = helper("get", b"r.example", env)
    assert result.returncode == 1
    assert b"has no option 'colour'" in result.stdout
    assert SECRET.encode() not in result.stdout + result.stderr
    assert b"Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[registries."r.example"]\nprovider = "static"\nusername = "\xff"\n', b"not UTF-8"),
        (b"x = " + b"[" * 5000 + b"]" * 5000, b"nested too deeply"),
    ],
    ids=["not-utf8", "deep"],
)
def test_executable_config_that_cannot_be_parsed_is_one_line_on_stdout(env, content, message):
    config = Path(env["REGISTRY_AUTH_CONFIG"])
    config.write_bytes(content)
    result = helper("get", b"r.example", env)
    assert result.returncode == 1
    assert result.stdout.startswith(str(config).encode())
    assert message in result.stdout
    assert result.stdout.count(b"\n") == 1
    assert result.stderr == b""


def test_executable_get_answers_past_an_entry_whose_secret_is_unset(env):
    config = Path(env["REGISTRY_AUTH_CONFIG"])
    config.write_text(
        config.read_text() + '[registries."docker.io"]\nprovider = "dockerhub"\n'
        'username = "hubuser"\npassword = { env = "DOCKERHUB_TOKEN" }\n'
    )
    result = helper("get", b"https://registry.example.com", env)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["Secret"] == SECRET
    hub = helper("get", b"https://index.docker.io/v1/", env)
    assert hub.returncode == 1
    assert b"DOCKERHUB_TOKEN is not set" in hub.stdout


def _bounded_memory():
    import resource

    limit = 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_executable_get_refuses_a_secret_file_that_would_never_end(env, tmp_path, target):
    if target == "fifo":
        target = str(tmp_path / "secret.fifo")
        os.mkfifo(target)
    Path(env["REGISTRY_AUTH_CONFIG"]).write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        f'password = {{ file = "{target}" }}\n'
    )
    exe = Path(sys.executable).with_name("docker-credential-registry-auth")
    result = subprocess.run(
        [str(exe), "get"],
        input=b"registry.example.com",
        capture_output=True,
        check=False,
        timeout=60,
        env=env,
        preexec_fn=_bounded_memory,
    )
    assert result.returncode == 1
    assert result.stdout.decode().endswith(
        f"registries.'registry.example.com'.password: cannot read secret file '{target}': "
        f"it is not a regular file ({'a character device' if target.startswith('/dev/') else 'a FIFO'})\n"
    )
    assert result.stderr == b""


def test_store_list_get_erase_through_the_keyring(tmp_path):
    """With no configuration file, the helper keeps what `docker login` stores in the keyring."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }
    payload = {"ServerURL": "https://registry.example.com", "Username": "carol", "Secret": SECRET}
    stored = helper("store", json.dumps(payload).encode(), env)
    assert stored.returncode == 0, stored.stdout
    assert stored.stdout == b""
    listed = helper("list", b"", env)
    # Listed under the address it was stored with, as docker-credential-helpers do.
    assert json.loads(listed.stdout) == {"https://registry.example.com": "carol"}
    got = helper("get", b"registry.example.com", env)
    assert got.returncode == 0, got.stdout
    assert json.loads(got.stdout)["Secret"] == SECRET
    assert helper("erase", b"https://registry.example.com/", env).returncode == 0
    gone = helper("get", b"registry.example.com", env)
    assert (gone.returncode, gone.stdout) == (1, (NOT_FOUND + "\n").encode())
    assert json.loads(helper("list", b"", env).stdout) == {}
    # The keyring file holds the secret; nothing else the helper wrote does.
    for path in tmp_path.rglob("*"):
        if path.is_file() and SECRET.encode() in path.read_bytes():
            assert path.parent.name == "python_keyring", path


def bare_env(tmp_path):
    """No configuration file, no keyring entries: only the default providers."""
    (tmp_path / "home").mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


def test_get_answers_from_docker_logins_but_never_asks_itself(tmp_path):
    """With credsStore = registry-auth (docker login stored through this helper), get reads the
    other logins of the file's machine, and does not run itself again."""
    env = bare_env(tmp_path)
    docker = Path(env["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps(
            {
                "credsStore": "registry-auth",
                "auths": {"registry.example.com": {}},
                "credHelpers": {"quay.io": "registry-auth"},
            }
        )
    )
    (Path(env["HOME"]) / ".dockercfg").write_text(
        json.dumps({"old.example": {"auth": "YWxpY2U6aGVscGVyLWNhbmFyeS00NDEw", "email": ""}})
    )
    for address in (b"registry.example.com", b"quay.io"):
        result = helper("get", address, env)
        assert (result.returncode, result.stdout) == (1, (NOT_FOUND + "\n").encode())
    found = helper("get", b"https://old.example/v1/", env)
    assert found.returncode == 0, found.stdout
    assert json.loads(found.stdout) == {
        "ServerURL": "https://old.example/v1/",
        "Username": "alice",
        "Secret": SECRET,
    }


def test_get_loads_no_docker_config_reader_when_there_is_no_login_file(tmp_path):
    code = (
        "import io, sys\n"
        "from registry_auth._credential_helper import run\n"
        "out = io.StringIO()\n"
        "run(['get'], stdin=io.BytesIO(b'registry.example.com'), stdout=out)\n"
        "assert out.getvalue().startswith('credentials not found'), out.getvalue()\n"
        "print('registry_auth.providers.docker_config' in sys.modules)\n"
    )
    env = bare_env(tmp_path)
    for has_login in (False, True):
        if has_login:
            (Path(env["HOME"]) / ".dockercfg").write_text("{}")
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, check=True, timeout=60, env=env
        )
        assert result.stdout.decode().strip() == str(has_login)


def _returning(token):
    return lambda: token


def test_erase_drops_the_tokens_cached_for_the_registry(env):
    """What `docker logout` erases leaves no token for that registry in our cache."""
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    cache = TokenCache(path=env["REGISTRY_AUTH_CACHE_DIR"])
    expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)
    for registry in (ecr, "other.example"):
        token = Credentials(
            username="AWS", password=SECRET, registry=registry, expires_at=expires_at
        )
        cache.get_or_fetch(CacheKey(provider="ecr", registry=registry), _returning(token))
    env = {**env, "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring"}
    result = helper("erase", f"https://{ecr}".encode(), env)
    assert result.returncode == 0, result.stdout
    left = TokenCache(path=env["REGISTRY_AUTH_CACHE_DIR"])
    stored = json.loads((Path(env["REGISTRY_AUTH_CACHE_DIR"]) / "tokens.json").read_text())
    assert [entry["registry"] for entry in stored["entries"]] == ["other.example"]
    assert left.forget_registry(ecr) == 0
