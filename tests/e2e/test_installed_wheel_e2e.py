"""The wheel as users get it, used by the real docker CLI as its credential helper.

The wheel is built from this tree and installed into a fresh virtualenv with no compiler at
hand (``CC=/bin/false``); the docker CLI then pulls from the stack's private TLS registry with
a DOCKER_CONFIG whose ``credHelpers`` names ``registry-auth``, finding the helper on a PATH that
starts with that virtualenv's bin directory and holds no other copy of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
HELPER = "docker-credential-registry-auth"


@pytest.fixture(scope="module")
def installed_bin(tmp_path_factory) -> Iterator[Path]:
    """The bin directory of a fresh virtualenv holding the wheel built from this tree.

    The build and the virtualenv are removed afterwards: they are copies of the source tree and
    of PyPI packages (tens of megabytes), not something the tests wrote.
    """
    work: Path = tmp_path_factory.mktemp("installed-wheel")
    dist = work / "dist"
    no_compiler = {**os.environ, "CC": "/bin/false", "CXX": "/bin/false", "PIP_NO_INPUT": "1"}
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        env=no_compiler,
        timeout=600,
    )
    wheels = sorted(dist.glob("*.whl"))
    assert [w.name.endswith("-py3-none-any.whl") for w in wheels] == [True], wheels
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(wheels[0]),
        ],
        check=True,
        env=no_compiler,
        timeout=600,
    )
    assert (venv / "bin" / HELPER).is_file()
    try:
        yield venv / "bin"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def path_without_helpers() -> list[str]:
    """PATH's directories, less those holding another copy of the helper (this test's venv)."""
    return [
        entry
        for entry in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if entry and not (Path(entry) / HELPER).exists()
    ]


@pytest.fixture
def cli_env(tmp_path, local_stack, installed_bin):
    """The docker CLI's environment: credHelpers naming registry-auth, its configuration."""
    docker_config = tmp_path / "docker"
    docker_config.mkdir()
    (docker_config / "config.json").write_text(
        json.dumps({"credHelpers": {local_stack.private.host: "registry-auth"}})
    )
    config = tmp_path / "registry-auth.toml"
    config.write_text(
        f'[registries."{local_stack.private.host}"]\n'
        'provider = "static"\nusername = "alice"\n'
        'password = { env = "E2E_PRIVATE_PASSWORD" }\n'
    )
    return {
        "PATH": os.pathsep.join([str(installed_bin), *path_without_helpers()]),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(docker_config),
        "DOCKER_HOST": local_stack.docker_base_url,
        "REGISTRY_AUTH_CONFIG": str(config),
        "REGISTRY_AUTH_CACHE_DIR": str(tmp_path / "cache"),
        "E2E_PRIVATE_PASSWORD": local_stack.private.password("alice"),
    }


def docker_pull(env, reference):
    docker = shutil.which("docker", path=env["PATH"])
    assert docker, "the docker CLI (Debian package docker.io) is not installed"
    return subprocess.run(
        [docker, "pull", reference],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )


def test_docker_cli_pulls_through_the_installed_helper(
    local_stack, sample_images, cli_env, installed_bin
):
    pushed = sample_images.private
    assert shutil.which(HELPER, path=cli_env["PATH"]) == str(installed_bin / HELPER)
    local_stack.forget_images()
    result = docker_pull(cli_env, pushed.reference)
    assert result.returncode == 0, result.stderr
    assert pushed.digest in result.stdout
    assert local_stack.private.password("alice") not in result.stdout + result.stderr


def test_the_pull_needs_the_installed_helper(local_stack, sample_images, cli_env, docker_client):
    """Without the virtualenv on PATH the same pull fails: the helper gave the password.

    (How it fails depends on the CLI: some name the missing helper, newer ones pull without
    credentials and the engine's error is about the registry.)
    """
    env = {**cli_env, "PATH": os.pathsep.join(path_without_helpers())}
    assert shutil.which(HELPER, path=env["PATH"]) is None
    local_stack.forget_images()
    result = docker_pull(env, sample_images.private.reference)
    assert result.returncode != 0, result.stdout
    assert docker_client.images.list() == []
