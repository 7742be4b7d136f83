"""Where the stack finds the programs it runs, and what to install when one is missing."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from tests.lab._errors import MissingComponentError, StackError

__all__ = ["require_executable", "require_python_module", "require_root"]

# The Debian package that ships each executable the stack runs.
_DEBIAN_PACKAGES = {
    "docker-registry": "docker-registry",
    "dockerd": "docker.io",
    "containerd": "containerd",
    "htpasswd": "apache2-utils",
    "ip": "iproute2",
    "mount": "mount",
    "nsenter": "util-linux",
    "sh": "dash",
    "unshare": "util-linux",
}

# Where Debian puts them; searched before PATH so that, say, a docker client in
# /usr/local/bin never shadows the daemon the stack means to run.
_SYSTEM_DIRECTORIES = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def require_executable(name: str) -> str:
    """Return the absolute path of the executable *name*.

    Raises:
        MissingComponentError: naming the Debian package to install, when it is not found.
    """
    for directory in _SYSTEM_DIRECTORIES:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise MissingComponentError(name, package=_DEBIAN_PACKAGES.get(name, name))
    return found


def require_python_module(module: str, *, package: str) -> None:
    """Check that *module* can be imported, or name the Python *package* that provides it."""
    if importlib.util.find_spec(module) is None:
        raise MissingComponentError(module, package=package, installer="pip")


def require_root() -> None:
    """Check that this process may create network namespaces and mounts."""
    if os.geteuid() != 0:
        raise StackError(
            "the local stack creates a network namespace and bind mounts: run it as root"
        )
