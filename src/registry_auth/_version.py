"""The installed version, read from package metadata on first use."""

from __future__ import annotations

import functools

__all__ = ["version"]


@functools.cache
def version() -> str:
    """registry-auth's version, or ``unknown`` when running from an uninstalled tree."""
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415 - kept off import time
    from importlib.metadata import version as distribution_version  # noqa: PLC0415

    try:
        return distribution_version("registry-auth")
    except PackageNotFoundError:
        return "unknown"
