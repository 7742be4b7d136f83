"""Where registry-auth looks for its configuration and keeps its caches.

Plain strings and ``os.path`` only: the credential helper's fast path computes these places on
every run, before it knows whether it needs anything heavier than ``os``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CACHE_DIR_ENV", "CONFIG_ENV", "cache_dir", "config_candidates"]

CONFIG_ENV = "REGISTRY_AUTH_CONFIG"
CACHE_DIR_ENV = "REGISTRY_AUTH_CACHE_DIR"
SYSTEM_CONFIG = "/etc/registry-auth/config.toml"


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
