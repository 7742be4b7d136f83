"""A clean environment for tests that run a D-Bus session with gnome-keyring."""

from __future__ import annotations

import os


def session_env(tmp_path, **extra):
    """A clean environment for a D-Bus session whose keyring files land under tmp_path."""
    home = tmp_path / "session-home"
    runtime = tmp_path / "session-run"
    for directory in (home, runtime):
        directory.mkdir(mode=0o700)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "LANG": "C.UTF-8",
        **extra,
    }
