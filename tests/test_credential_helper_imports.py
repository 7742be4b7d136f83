"""What the installed credential helper imports to answer ``get``: only what the answer needs.

Docker starts the helper for every lookup, so its cost is a process start, nearly all of it
imports. These tests pin the modules it no longer loads (by name, never by time), so that an
import added at the top of a module on the ``get`` path shows up as a failure here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from registry_auth import Credentials, ImageReference
from registry_auth._config import load_tool_config
from registry_auth.providers.ecr import EcrProvider

ECR_HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
PASSWORD = "imports-canary-5521"
TOKEN = "imports-token-8830"

# Loaded by neither scenario: logging (and concurrent.futures, which imports it), hashlib
# (OpenSSL), tempfile (random, shutil, compression), the entry-point scan, docker, boto3.
NEVER = (
    "logging",
    "concurrent.futures",
    "hashlib",
    "_hashlib",
    "tempfile",
    "random",
    "importlib.metadata",
    "docker",
    "requests",
    "boto3",
    "botocore",
)
_AWS_IDENTITY = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


# Runs the installed console script as its own process would, then writes the names of the
# modules loaded to stderr as the process exits (atexit runs after the script's sys.exit).
_PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write(json.dumps(sorted(sys.modules))))
script = sys.argv[1]
sys.argv = sys.argv[1:]
with open(script) as file:
    code = compile(file.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script})
"""


def run_helper(
    address: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run the installed helper's ``get``; the process, and every module it had loaded."""
    helper = Path(sys.executable).with_name("docker-credential-registry-auth")
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(helper), "get"],
        input=address.encode(),
        capture_output=True,
        check=False,
        timeout=60,
        env=env,
    )
    modules = set(json.loads(result.stderr))
    assert "registry_auth._credential_helper" in modules  # the probe sees the helper's imports
    return result, modules


def imported_by_get(address: str, env: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    """The helper's answer to ``get``, and every module it loaded to give it."""
    result, modules = run_helper(address, env)
    assert result.returncode == 0, result.stdout
    answer: dict[str, str] = json.loads(result.stdout)
    return answer, modules


@pytest.fixture
def env(tmp_path):
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
    }


def test_a_static_password_from_the_environment_needs_no_logging_and_no_hashing(env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "IMPORTS_TEST_PASSWORD" }\n'
    )
    env.update(REGISTRY_AUTH_CONFIG=str(config), IMPORTS_TEST_PASSWORD=PASSWORD)
    answer, modules = imported_by_get("https://registry.example.com", env)
    assert (answer["Username"], answer["Secret"]) == ("alice", PASSWORD)
    assert sorted(modules & set(NEVER)) == []
    assert "registry_auth.providers.ecr" not in modules
    assert "base64" not in modules  # no basic-auth string is built for Docker's protocol
    assert "registry_auth.providers.static" in modules


def test_ecr_answered_from_the_token_cache_imports_neither_boto3_nor_logging(
    env, tmp_path, monkeypatch
):
    config = tmp_path / "config.toml"
    config.write_text('[registries."*.dkr.ecr.*.amazonaws.com"]\nprovider = "ecr"\n')
    env.update(
        REGISTRY_AUTH_CONFIG=str(config),
        AWS_ACCESS_KEY_ID="AKIAIMPORTSTEST",
        AWS_SECRET_ACCESS_KEY="imports-test-secret",
        AWS_EC2_METADATA_DISABLED="true",
    )
    # Warm the token cache as a first run would, in the helper's own environment (the cache
    # files tokens under a digest of the AWS identity the environment names).
    for name in _AWS_IDENTITY:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (provider,) = (route.provider for route in load_tool_config(str(config)).resolver().entries)
    assert isinstance(provider, EcrProvider)
    now = dt.datetime.now(dt.timezone.utc)
    token = Credentials(
        username="AWS", password=TOKEN, registry=ECR_HOST, expires_at=now + dt.timedelta(hours=12)
    )
    assert provider.cache.file is not None
    target = provider._target(ImageReference(registry=ECR_HOST, repository=""))
    assert target is not None
    provider.cache.get_or_fetch(target[2], lambda: token)
    assert provider.cache.file.exists()

    answer, modules = imported_by_get(ECR_HOST, env)
    assert (answer["Username"], answer["Secret"]) == ("AWS", TOKEN)
    assert sorted(modules & set(NEVER)) == []
    assert {"registry_auth.providers.ecr", "registry_auth._cache"} <= modules


def test_the_probe_sees_a_module_a_helper_imports(env, tmp_path):
    # The checks above would pass vacuously if the probe missed imports: an unknown provider
    # name makes the helper scan the installed plugins, through importlib.metadata.
    config = tmp_path / "config.toml"
    config.write_text('[registries."registry.example.com"]\nprovider = "no-such-provider"\n')
    env.update(REGISTRY_AUTH_CONFIG=str(config))
    result, modules = run_helper("registry.example.com", env)
    assert result.returncode == 1
    assert "no credential provider named 'no-such-provider'" in result.stdout.decode()
    assert "importlib.metadata" in modules
