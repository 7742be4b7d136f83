"""The one place that knows which Python provides which API."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

if TYPE_CHECKING:
    # The selectable ``entry_points(group=...)`` API and ``EntryPoint.dist`` are in the standard
    # library from Python 3.10, the oldest version registry-auth supports.
    from importlib.metadata import EntryPoint, EntryPoints

__all__ = ["EntryPoint", "entry_points", "tomllib"]


def entry_points(*, group: str) -> EntryPoints:
    """The entry points of ``group`` in every installed distribution.

    ``importlib.metadata`` is imported here, on first use, not with this module: it costs more
    to import than a credential helper's whole answer, and loading a built-in provider by name
    does not need it.
    """
    from importlib.metadata import entry_points as scan  # noqa: PLC0415 - see above

    return scan(group=group)


def __getattr__(name: str) -> object:
    if name == "EntryPoint":
        from importlib.metadata import EntryPoint  # noqa: PLC0415 - see entry_points()

        return EntryPoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
