"""docker-credential-registry-auth, used by the real docker CLI and by docker-py's own client.

The CLI runs the helper named in ``credHelpers`` (or ``credsStore``) of a temporary
DOCKER_CONFIG, then pulls from the local stack through the stack's dockerd.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import botocore.handlers
import pytest
from docker.credentials import Store

from registry_auth._config import load_resolver
from tests.lab.stack import ECR_ACCOUNT, ECR_REGION, LocalStack, SampleImages

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
HELPER = BIN / "docker-credential-registry-auth"
ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"


def docker_cli() -> str:
    found = shutil.which("docker")
    assert found, "the docker CLI (Debian package docker.io) is not installed"
    return found


@pytest.fixture
def helper_env(tmp_path, local_stack: LocalStack):
    """A DOCKER_CONFIG naming our helper, and a registry-auth configuration for the stack."""
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps(
            {
                "credHelpers": {
                    local_stack.private.host: "registry-auth",
                    ECR_HOST: "registry-auth",
                },
                "credsStore": "registry-auth",
            }
        )
    )
    config = tmp_path / "registry-auth.toml"
    config.write_text(
        f'[registries."{local_stack.private.host}"]\n'
        'provider = "static"\nusername = "alice"\n'
        'password = { env = "E2E_PRIVATE_PASSWORD" }\n\n'
        '[registries."docker.io"]\n'
        'provider = "dockerhub"\nusername = "hubuser"\n'
        'password = { env = "E2E_HUB_PASSWORD" }\n\n'
        '[registries."*.dkr.ecr.*.amazonaws.com"]\n'
        f'provider = "ecr"\nendpoint_url = "{local_stack.moto_endpoint_url}"\n'
    )
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(docker_config),
        "DOCKER_HOST": local_stack.docker_base_url,
        "REGISTRY_AUTH_CONFIG": str(config),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "E2E_PRIVATE_PASSWORD": local_stack.private.password("alice"),
        "E2E_HUB_PASSWORD": local_stack.hub.password("hubuser"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def cli_pull(env, reference):
    return subprocess.run(
        [docker_cli(), "pull", reference],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("registry", ["private", "hub", "ecr"])
def test_docker_cli_pulls_through_the_helper(
    local_stack, sample_images: SampleImages, helper_env, docker_client, registry
):
    pushed = getattr(sample_images, registry)
    local_stack.forget_images()
    result = cli_pull(helper_env, pushed.reference)
    assert result.returncode == 0, result.stderr
    assert pushed.digest in result.stdout
    digests = docker_client.api.inspect_image(pushed.reference)["RepoDigests"]
    assert any(d.endswith(pushed.digest) for d in digests)
    for secret in ("alice-password", "hubuser-password", "auth-token"):
        assert secret not in result.stdout + result.stderr


def test_docker_cli_without_the_helper_is_refused(local_stack, sample_images, helper_env):
    """The same pull with an empty DOCKER_CONFIG fails: the credentials came from the helper."""
    (Path(helper_env["DOCKER_CONFIG"]) / "config.json").write_text("{}")
    result = cli_pull(helper_env, sample_images.ecr.reference)
    assert result.returncode != 0
    assert "no basic auth credentials" in result.stderr


def test_docker_py_credential_store_client(local_stack, helper_env, monkeypatch):
    for name, value in helper_env.items():
        monkeypatch.setenv(name, value)
    store = Store("registry-auth", environment=helper_env)
    answer = store.get(local_stack.private.host)
    assert answer["Username"] == "alice"
    assert answer["Secret"] == local_stack.private.password("alice")
    hub = store.get("https://index.docker.io/v1/")
    assert hub["Username"] == "hubuser"


def _twelve_hours(parsed, **_):
    for entry in parsed.get("authorizationData", []):
        entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)


@pytest.fixture
def warm_ecr(local_stack, helper_env, monkeypatch):
    """This process in the helper's environment, the on-disk token cache warmed as a first run
    would warm it: (the resolver, the token). The token lives 12 hours (moto dates its 2015)."""
    for name, value in helper_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        botocore.handlers,
        "BUILTIN_HANDLERS",
        [
            *botocore.handlers.BUILTIN_HANDLERS,
            ("after-call.ecr.GetAuthorizationToken", _twelve_hours),
        ],
    )
    resolver = load_resolver(helper_env["REGISTRY_AUTH_CONFIG"])
    token = resolver.resolve_registry(ECR_HOST)
    assert token is not None
    return resolver, token


def test_get_with_a_warm_cache_imports_neither_boto3_nor_docker(helper_env, warm_ecr):
    _, token = warm_ecr
    assert list(Path(helper_env["REGISTRY_AUTH_CACHE_DIR"]).iterdir())
    probe = (
        "import sys\n"
        "from registry_auth._credential_helper import run\n"
        "code = run(['get'], stdin=sys.stdin.buffer, stdout=sys.stdout)\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "sys.stderr.write(repr(sorted(roots & {'boto3', 'botocore', 'docker', 'requests'})))\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        input=ECR_HOST.encode(),
        env=helper_env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    assert result.stderr == b"[]"
    answer = json.loads(result.stdout)
    assert answer["Username"] == "AWS"
    assert answer["Secret"] == token.password.reveal()


def _cached_tokens(helper_env) -> int:
    tokens = Path(helper_env["REGISTRY_AUTH_CACHE_DIR"]) / "tokens.json"
    return len(json.loads(tokens.read_text())["entries"]) if tokens.exists() else 0


def _executable_get(helper_env, address):
    return subprocess.run(
        [str(HELPER), "get"],
        input=address.encode() + b"\n",
        env=helper_env,
        capture_output=True,
        check=False,
        timeout=60,
    )


def test_get_writes_nothing_and_erase_drops_the_registry_tokens(helper_env, warm_ecr):
    """The token cache is the one file the helper keeps; erase leaves no token for the host."""
    _, token = warm_ecr
    cache = Path(helper_env["REGISTRY_AUTH_CACHE_DIR"])
    before = {path.name: path.read_bytes() for path in cache.iterdir() if path.is_file()}
    assert _cached_tokens(helper_env) == 1

    answer = _executable_get(helper_env, ECR_HOST)
    assert answer.returncode == 0, answer.stdout
    assert json.loads(answer.stdout)["Secret"] == token.password.reveal()
    after = {path.name: path.read_bytes() for path in cache.iterdir() if path.is_file()}
    assert after == before
    assert not [path for path in cache.iterdir() if path.is_dir()]

    erased = subprocess.run(
        [str(HELPER), "erase"],
        input=ECR_HOST.encode(),
        env=helper_env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert erased.returncode == 0, erased.stdout
    assert _cached_tokens(helper_env) == 0
    assert stat.S_IMODE((cache / "tokens.json").stat().st_mode) == 0o600


@pytest.fixture
def store_env(tmp_path, local_stack: LocalStack):
    """A DOCKER_CONFIG whose credsStore is our helper, and no registry-auth configuration file:
    the helper keeps what docker login gives it in a file keyring of its own."""
    docker_config = tmp_path / "docker-store"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(json.dumps({"credsStore": "registry-auth"}))
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "DOCKER_CONFIG": str(docker_config),
        "DOCKER_HOST": local_stack.docker_base_url,
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "store-cache"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


def docker(env, *args, stdin=None):
    return subprocess.run(
        [docker_cli(), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def helper_list(env):
    listed = subprocess.run(
        [str(HELPER), "list"], env=env, capture_output=True, check=True, timeout=60
    )
    return json.loads(listed.stdout)


@pytest.mark.parametrize("registry", ["hub", "private"])
def test_docker_login_pull_logout_through_the_helper_as_credentials_store(
    local_stack, sample_images: SampleImages, store_env, registry
):
    """The docker CLI stores, gets and erases through the helper, which lists each entry under
    the address docker login gave it.

    (docker CLIs 20.10 and 28 ignore a helper's failure on pull, and check for a stored login
    only after refusing a non-TTY prompt, so the "not found" text is checked with docker-py's
    client in the unit tests.)"""
    stack_registry = getattr(local_stack, registry)
    user = "hubuser" if registry == "hub" else "alice"
    password = stack_registry.password(user)
    pushed = getattr(sample_images, registry)
    # docker login with no address means Docker Hub, stored under its v1 address.
    server = [] if registry == "hub" else [stack_registry.host]
    stored_as = "https://index.docker.io/v1/" if registry == "hub" else stack_registry.host

    local_stack.forget_images()
    anonymous = cli_pull(store_env, pushed.reference)
    assert anonymous.returncode != 0  # nothing stored yet

    login = docker(store_env, "login", *server, "-u", user, "--password-stdin", stdin=password)
    assert login.returncode == 0, login.stderr
    assert "Login Succeeded" in login.stdout
    assert helper_list(store_env) == {stored_as: user}

    local_stack.forget_images()
    pulled = cli_pull(store_env, pushed.reference)
    assert pulled.returncode == 0, pulled.stderr
    assert pushed.digest in pulled.stdout

    logout = docker(store_env, "logout", *server)
    assert logout.returncode == 0, logout.stderr
    assert helper_list(store_env) == {}
    local_stack.forget_images()
    again = cli_pull(store_env, pushed.reference)
    assert again.returncode != 0
    for output in (anonymous, login, pulled, logout, again):
        assert password not in output.stdout + output.stderr
