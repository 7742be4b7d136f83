"""Shared fixtures for the unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import registry_auth
from tests import canary

PLUGINS = Path(__file__).parent / "plugins"

# registry-auth's own pytest plugin is opt-in, as for any user (fake_docker, static_provider,
# provider_entry_points, frozen_clock); then the lab's session fixtures (local_stack,
# docker_engine, local_registry), which fail without the stack.
pytest_plugins = ["registry_auth.testing", "tests.lab.pytest_plugin"]


def pytest_configure(config):
    """Every run is watched by the secret-leak canary (tests/canary.py; fixture canary_secret)."""
    canary.install(config)


@pytest.fixture(autouse=True)
def _fresh_discovery(monkeypatch):
    """Each test sees the entry points as they are, with no switches set."""
    monkeypatch.delenv("REGISTRY_AUTH_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("REGISTRY_AUTH_BLOCK_PROVIDERS", raising=False)
    monkeypatch.delenv("REGISTRY_AUTH_CONFIG", raising=False)
    registry_auth.reset_provider_discovery()
    yield
    registry_auth.reset_provider_discovery()


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path, monkeypatch):
    """Each test keeps what registry-auth caches (tokens, answers, locks) to itself."""
    monkeypatch.setenv("REGISTRY_AUTH_CACHE_DIR", str(tmp_path / "registry-auth-cache"))


@pytest.fixture(autouse=True)
def _no_machine_logins(request, tmp_path_factory, monkeypatch):
    """Unit tests never read this machine's Docker or Podman logins, or its keyring files.

    The default providers read them (``~/.docker/config.json``, ``~/.dockercfg``, the
    containers tools' ``auth.json``): each test gets an empty HOME of its own instead.
    """
    if request.node.get_closest_marker("e2e") is not None:
        return
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)  # where file keyrings keep their data


@pytest.fixture(scope="session")
def installed_plugins(tmp_path_factory):
    """The test plugins in tests/plugins, pip-installed (as wheels, built here) into a target dir.

    The directory is returned; tests put it on ``sys.path`` (or ``PYTHONPATH``) to "install"
    the plugins for their duration without changing the environment for other tests.
    """
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(PLUGINS / "good"),
            str(PLUGINS / "broken"),
        ],
        check=True,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    return target


@pytest.fixture
def plaintext_keyring(tmp_path, monkeypatch):
    """keyrings.alt's file backend, storing under a temporary XDG_DATA_HOME."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    previous = keyring.get_keyring()
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    yield keyring
    keyring.set_keyring(previous)
    assert str(tmp_path) in backend.file_path
