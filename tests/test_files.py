"""Files that hold secrets: 0600, in a 0700 directory, written whole, never through a link.

What registry-auth writes down that holds a secret: the token cache (``TokenCache(path=...)``,
which the command-line tools keep in ``$XDG_CACHE_HOME/registry-auth``) and the configuration
file ``registry-auth login --store config`` writes (it holds the password itself only with
``--insecure-inline``). Each is checked under the loosest umask, through the API and through the
installed executables. A configuration file with inline secrets that others can read draws a
warning.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from registry_auth import Credentials, TokenCache, load_config
from registry_auth._cache import CacheKey
from registry_auth._compat import tomllib
from tests import canary
from tests.lab.faults import FaultProxy, Respond

BIN = Path(sys.executable).parent
ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
NOW = dt.datetime.now(dt.timezone.utc)
KEY = CacheKey(provider="ecr", registry=ECR_HOST)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """Run with umask 000, as a careless service manager might: modes must not depend on it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def token(secret: str) -> Credentials:
    return Credentials(
        username="AWS", password=secret, registry=ECR_HOST, expires_at=NOW + dt.timedelta(hours=12)
    )


def store(directory: Path, secret: str) -> TokenCache:
    cache = TokenCache(path=directory)
    cache.get_or_fetch(KEY, lambda: token(secret))
    return cache


def private_files(directory: Path) -> dict[str, int]:
    return {path.name: mode(path) for path in directory.iterdir()}


def cache_files(directory: Path) -> dict[str, int]:
    """The token cache's files and modes, its one fetch lock (named by a digest) as fetch-*."""
    return {
        "fetch-*.lock" if name.startswith("fetch-") and name.endswith(".lock") else name: mode
        for name, mode in private_files(directory).items()
    }


# -- the token cache ---------------------------------------------------------------------------


def test_token_cache_is_0600_in_a_0700_directory_whatever_the_umask(
    tmp_path, loose_umask, canary_secret
):
    directory = tmp_path / "cache"
    cache = store(directory, canary_secret)
    assert cache.persistent
    assert mode(directory) == 0o700
    fetch_lock = cache._disk.fetch_lock_file(KEY).name
    assert private_files(directory) == {
        "tokens.json": 0o600,
        "tokens.lock": 0o600,
        fetch_lock: 0o600,
    }
    # The file holds the token (base64, not as is), and nothing else in the directory does.
    assert canary_secret not in (directory / "tokens.json").read_text()
    reread = TokenCache(path=directory).get_or_fetch(KEY, lambda: pytest.fail("not cached"))
    assert reread.password.reveal() == canary_secret


def test_the_token_cache_creates_the_missing_directories_above_its_own_privately(
    tmp_path, canary_secret
):
    directory = tmp_path / "home" / ".cache" / "registry-auth"
    cache = store(directory, canary_secret)
    assert cache.persistent
    for made in (tmp_path / "home", tmp_path / "home" / ".cache", directory):
        assert mode(made) == 0o700, made


def test_as_root_the_token_cache_creates_no_cache_directory_in_another_users_home(
    tmp_path, caplog, canary_secret
):
    users_home = tmp_path / "home"
    users_home.mkdir()
    if os.geteuid() == 0:
        os.chown(users_home, 4321, 4321)
    else:  # a directory that is not this user's: the root directory
        users_home = Path("/")
    directory = users_home / ".cache-that-is-not-there" / "registry-auth"
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        cache = store(directory, canary_secret)
    assert not cache.persistent
    assert not directory.parent.exists()
    assert f"it would be created in {users_home}, which belongs to another user" in caplog.text


def test_as_root_the_token_cache_leaves_no_directory_in_another_users_home(
    tmp_path, caplog, canary_secret
):
    users_cache = tmp_path / "home" / ".cache"
    users_cache.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(users_cache, 4321, 4321)
    else:  # a directory that is not this user's: the root directory
        users_cache = Path("/")
    directory = users_cache / "registry-auth"
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        cache = store(directory, canary_secret)
    assert not cache.persistent
    assert not directory.exists()
    assert f"it would be created in {users_cache}, which belongs to another user" in caplog.text


def test_a_cache_file_left_readable_is_replaced_by_a_private_one(tmp_path, canary_secret):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    old = directory / "tokens.json"
    old.write_text("{}")
    old.chmod(0o644)
    store(directory, canary_secret)
    assert mode(directory / "tokens.json") == 0o600


def test_a_cache_file_that_is_a_link_is_replaced_not_followed(tmp_path, canary_secret):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("untouched\n")
    elsewhere.chmod(0o644)
    (directory / "tokens.json").symlink_to(elsewhere)
    store(directory, canary_secret)
    assert elsewhere.read_text() == "untouched\n"
    assert not (directory / "tokens.json").is_symlink()
    assert mode(directory / "tokens.json") == 0o600


@pytest.mark.parametrize("problem", ["open-to-others", "a-link", "not-ours", "a-file"])
def test_a_cache_directory_others_could_use_is_refused(
    tmp_path, caplog, monkeypatch, canary_secret, problem
):
    directory = tmp_path / "cache"
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    if problem == "open-to-others":
        directory.mkdir()
        directory.chmod(0o755)
    elif problem == "a-link":
        directory.symlink_to(target)
    elif problem == "not-ours":
        directory.mkdir(mode=0o700)
        # As if another user ran this: the directory is then someone else's.
        monkeypatch.setattr(os, "geteuid", lambda: directory.stat().st_uid + 1)
    else:
        directory.write_text("")
    caplog.set_level(logging.WARNING, logger="registry_auth.cache")
    cache = store(directory, canary_secret)
    assert not cache.persistent
    assert "in memory only" in caplog.text
    assert list(target.iterdir()) == []
    if directory.is_dir() and not directory.is_symlink():
        assert list(directory.iterdir()) == []
    # Still served, from memory.
    assert (
        cache.get_or_fetch(KEY, lambda: pytest.fail("fetched")).password.reveal() == canary_secret
    )


# -- through the executables -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ecr_token() -> str:
    return canary.make("ecr-token")


@pytest.fixture(scope="module")
def fake_ecr(ecr_token) -> Iterator[FaultProxy]:
    """An ECR API that hands out a 12-hour token (moto's are dated 2015, so never cached)."""
    body = {
        "authorizationData": [
            {
                "authorizationToken": base64.b64encode(f"AWS:{ecr_token}".encode()).decode(),
                "expiresAt": (NOW + dt.timedelta(hours=12)).timestamp(),
                "proxyEndpoint": f"https://{ECR_HOST}",
            }
        ]
    }
    answer = Respond(
        status=200,
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1"},
    )
    with FaultProxy(behaviour=answer) as proxy:
        yield proxy


@pytest.fixture
def cli_env(tmp_path, fake_ecr) -> dict[str, str]:
    home = tmp_path / "home"
    (home / ".cache").mkdir(parents=True)  # registry-auth creates nothing above its own dirs
    (home / ".config").mkdir()
    config = tmp_path / "registry-auth.toml"
    config.write_text(
        f'[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\n'
        f'endpoint_url = "{fake_ecr.url}"\n'
    )
    config.chmod(0o600)
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "REGISTRY_AUTH_CONFIG": str(config),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


def run(
    argv: list[str], env: dict[str, str], data: bytes = b""
) -> subprocess.CompletedProcess[str]:
    """Run an installed executable under umask 000."""
    command = ["sh", "-c", 'umask 000 && exec "$@"', "sh", str(BIN / argv[0]), *argv[1:]]
    result = subprocess.run(
        command,
        input=data.decode(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def test_the_cli_keeps_ecr_tokens_in_a_private_cache(cli_env, fake_ecr, ecr_token):
    result = run(["registry-auth", "resolve", f"{ECR_HOST}/team/app"], cli_env)
    assert result.returncode == 0, result.stderr
    assert fake_ecr.requests  # the token came from the (fake) AWS API
    assert ecr_token not in result.stdout + result.stderr  # masked without --show-secret
    cache = Path(cli_env["XDG_CACHE_HOME"]) / "registry-auth"
    assert mode(cache) == 0o700
    assert cache_files(cache) == {"tokens.json": 0o600, "tokens.lock": 0o600, "fetch-*.lock": 0o600}
    asked = len(fake_ecr.requests)
    helper = run(["docker-credential-registry-auth", "get"], cli_env, ECR_HOST.encode())
    assert helper.returncode == 0, helper.stdout
    assert json.loads(helper.stdout)["Secret"] == ecr_token  # the one place it belongs
    assert len(fake_ecr.requests) == asked  # served from the private cache
    assert cache_files(cache) == {"tokens.json": 0o600, "tokens.lock": 0o600, "fetch-*.lock": 0o600}


@pytest.mark.parametrize("existing", [None, 0o644])
def test_login_with_an_inline_password_writes_a_private_file(cli_env, tmp_path, existing):
    secret = canary.make("login-inline")
    target = tmp_path / "fresh" / "config.toml"
    if existing is not None:
        target.parent.mkdir(mode=0o700)
        target.write_text('version = 1\n\n[registries."other.example"]\nprovider = "ecr"\n')
        target.chmod(existing)
    result = run(
        [
            "registry-auth",
            f"--config={target}",
            "login",
            "registry.example.com",
            "--username=alice",
            "--password-stdin",
            "--store=config",
            "--insecure-inline",
        ],
        cli_env,
        secret.encode() + b"\n",
    )
    assert result.returncode == 0, result.stderr
    assert secret not in result.stdout + result.stderr
    assert "plain text" in result.stderr
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert [path.name for path in target.parent.iterdir()] == ["config.toml"]  # no temp file left
    entry = tomllib.loads(target.read_text())["registries"]["registry.example.com"]
    assert entry["password"] == secret


def test_login_to_the_keyring_puts_no_secret_in_the_config_file(cli_env, tmp_path):
    secret = canary.make("login-keyring")
    target = tmp_path / "config.toml"
    result = run(
        [
            "registry-auth",
            f"--config={target}",
            "login",
            "registry.example.com:5000",
            "--username=alice",
            "--password-stdin",
            "--store=config",
        ],
        cli_env,
        secret.encode(),
    )
    assert result.returncode == 0, result.stderr
    assert mode(target) == 0o600
    assert canary.leaked_in(target.read_text(), among=[secret]) is None
    keyring_file = Path(cli_env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"
    assert mode(keyring_file) == 0o600
    resolved = run(
        ["registry-auth", f"--config={target}", "resolve", "registry.example.com:5000/app"],
        cli_env,
    )
    assert resolved.returncode == 0, resolved.stderr
    assert secret not in resolved.stdout


# -- configuration files with inline secrets ---------------------------------------------------


@pytest.mark.parametrize(
    ("file_mode", "warned"),
    [(0o600, False), (0o400, False), (0o640, True), (0o604, True), (0o644, True), (0o660, True)],
)
def test_inline_secrets_in_a_file_others_can_read_draw_a_warning(
    tmp_path, caplog, canary_secret, file_mode, warned
):
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        f'password = "{canary_secret}"\n\n'
        '[[providers]]\nprovider = "ecr"\nexternal_id = "x"\n'
    )
    path.chmod(file_mode)
    caplog.set_level(logging.WARNING, logger="registry_auth.config")
    load_config(path)
    assert ("readable by other users" in caplog.text) is warned
    if warned:
        assert "registries.'r.example'.password" in caplog.text
        assert f"{file_mode:o}" in caplog.text
    assert canary_secret not in caplog.text


def test_secret_references_in_a_readable_file_draw_no_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", canary.make("env-reference"))
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."r.example"]\nprovider = "static"\nusername = "u"\n'
        'password = { env = "REGISTRY_PASSWORD" }\n'
    )
    path.chmod(0o644)
    caplog.set_level(logging.WARNING, logger="registry_auth.config")
    config = load_config(path)
    assert caplog.text == ""
    assert canary.leaked_in(repr(config)) is None
