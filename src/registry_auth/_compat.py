"""The one place that knows which Python provides which API."""

from __future__ import annotations

import sys

# The selectable ``entry_points(group=...)`` API and ``EntryPoint.dist`` are in the standard
# library from Python 3.10, the oldest version registry-auth supports.
from importlib.metadata import EntryPoint, entry_points

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["EntryPoint", "entry_points", "tomllib"]
