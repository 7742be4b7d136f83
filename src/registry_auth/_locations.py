"""Where registry-auth looks for its configuration and keeps its caches.

Plain strings and ``os.path`` only: the credential helper's fast path computes these places on
every run, before it knows whether it needs anything heavier than ``os``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CACHE_DIR_ENV",
    "CONFIG_ENV",
    "LEGACY_FILE_NAME",
    "cache_dir",
    "config_candidates",
    "docker_auth_files",
]

CONFIG_ENV = "REGISTRY_AUTH_CONFIG"
CACHE_DIR_ENV = "REGISTRY_AUTH_CACHE_DIR"
SYSTEM_CONFIG = "/etc/registry-auth/config.toml"
LEGACY_FILE_NAME = ".dockercfg"


def _home(env: Mapping[str, str]) -> str:
    return os.path.expanduser(env.get("HOME", "~"))


def config_candidates(env: Mapping[str, str]) -> list[str]:
    """The places the configuration file is looked for, in order (after an explicit path)."""
    paths: list[str] = []
    if env.get(CONFIG_ENV):
        paths.append(os.path.expanduser(env[CONFIG_ENV]))
    xdg = env.get("XDG_CONFIG_HOME") or os.path.join(_home(env), ".config")
    paths.append(os.path.join(xdg, "registry-auth", "config.toml"))
    paths.append(SYSTEM_CONFIG)
    return paths


def cache_dir(env: Mapping[str, str]) -> str:
    """Where short-lived processes keep what they share between runs (tokens, answers).

    ``$REGISTRY_AUTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/registry-auth``, else
    ``~/.cache/registry-auth``.
    """
    if env.get(CACHE_DIR_ENV):
        return os.path.expanduser(env[CACHE_DIR_ENV])
    return os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(_home(env), ".cache"), "registry-auth"
    )


def docker_auth_files(env: Mapping[str, str]) -> list[str]:
    """The files Docker and Podman logins leave credentials in, in the order they are read.

    1. Docker's ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` (Podman reads
       it too, as its fallback);
    2. the containers tools' ``$REGISTRY_AUTH_FILE`` alone if it is set, else
       ``$XDG_RUNTIME_DIR/containers/auth.json`` and
       ``$XDG_CONFIG_HOME/containers/auth.json`` (``~/.config/containers/auth.json``);
    3. ``~/.dockercfg``, the legacy file of old docker clients.
    """
    home = _home(env)
    paths: list[str] = []
    if env.get("DOCKER_CONFIG"):
        paths.append(os.path.join(os.path.expanduser(env["DOCKER_CONFIG"]), "config.json"))
    else:
        paths.append(os.path.join(home, ".docker", "config.json"))
    if env.get("REGISTRY_AUTH_FILE"):
        paths.append(os.path.expanduser(env["REGISTRY_AUTH_FILE"]))
    else:
        if env.get("XDG_RUNTIME_DIR"):
            paths.append(os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json"))
        config_home = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        paths.append(os.path.join(config_home, "containers", "auth.json"))
    paths.append(os.path.join(home, LEGACY_FILE_NAME))
    return paths
