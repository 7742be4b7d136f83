"""Providers registered through entry points for a while, as if a plugin were installed.

:class:`ProviderEntryPoints` writes a real (temporary) distribution: a ``*.dist-info``
directory with ``METADATA`` and ``entry_points.txt``, on ``sys.path``. Everything that finds
providers through the ``registry_auth.providers`` group sees it exactly as it sees an installed
plugin: :func:`~registry_auth.available_providers`, :func:`~registry_auth.load_provider`, the
configuration file and the command line run in this process. :meth:`ProviderEntryPoints.close`
takes it all away again. The pytest fixture ``provider_entry_points`` is one of these, closed
at the end of the test::

    def test_my_plugin_is_found(provider_entry_points):
        provider_entry_points.register("vault", VaultProvider, distribution="my-vault")
        assert load_provider("vault", url="...").name == "vault"

A target is an object (a class or a factory function) or its ``"module:attribute"`` text.
Objects that cannot be imported by name (defined inside a test function) work too: they are
held by this module for as long as they are registered.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import shutil
import sys
import tempfile
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_DISTRIBUTION", "ProviderEntryPoints"]

DEFAULT_DISTRIBUTION: Final = "registry-auth-test-providers"
"""The distribution entry points are registered under unless another is named."""

_GROUP: Final = "registry_auth.providers"
_OWN_DISTRIBUTION: Final = "registry-auth"
_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_DISTRIBUTION_RE: Final = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
_VERSION_RE: Final = re.compile(r"[0-9][0-9A-Za-z.+!-]*", re.ASCII)
_VALUE_RE: Final = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", re.ASCII)

# Objects registered by value, reachable as "registry_auth.testing.entry_points:_held.<key>".
_held = types.SimpleNamespace()
_held_lock = threading.Lock()
_counter = 0


def _normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _import_path(target: object) -> str | None:
    """``module:qualname`` if importing that gives back ``target`` itself, else None."""
    module_name = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(module_name, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    module = sys.modules.get(module_name)
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return f"{module_name}:{qualname}" if found is target else None


def _hold(target: object) -> tuple[str, str]:
    global _counter  # noqa: PLW0603 - one counter for the module-wide holder
    with _held_lock:
        _counter += 1
        key = f"provider_{_counter}"
        setattr(_held, key, target)
    return key, f"{__name__}:_held.{key}"


def _release(key: str) -> None:
    with _held_lock:
        if hasattr(_held, key):
            delattr(_held, key)


def _reset_discovery() -> None:
    # Imported here: this module stays importable without loading registry-auth's core first.
    from registry_auth._discovery import reset_provider_discovery  # noqa: PLC0415

    importlib.invalidate_caches()  # importlib.metadata caches directory listings
    reset_provider_discovery()


class ProviderEntryPoints:
    """Temporary distributions that declare ``registry_auth.providers`` entry points.

    Args:
        directory: where to make the site directory that goes on ``sys.path``; a new temporary
            directory by default (removed by :meth:`close`).

    Use it as a context manager, or call :meth:`close`. Registering and closing reset
    registry-auth's provider discovery, so the next lookup sees the change.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._own_directory = directory is None
        base = (
            Path(tempfile.mkdtemp(prefix="registry-auth-entry-points-"))
            if directory is None
            else Path(directory)
        )
        self._site = base / "site"
        self._site.mkdir(parents=True, exist_ok=True)
        self._base = base
        self._entries: dict[str, dict[str, str]] = {}  # normalized distribution -> name -> value
        self._versions: dict[str, tuple[str, str]] = {}  # normalized -> (display name, version)
        self._held_keys: list[str] = []
        self._closed = False
        sys.path.insert(0, str(self._site))
        _reset_discovery()

    @property
    def site_directory(self) -> Path:
        """The directory on ``sys.path`` that holds the ``*.dist-info`` directories."""
        return self._site

    def register(
        self,
        name: str,
        target: str | Callable[..., Any],
        *,
        distribution: str = DEFAULT_DISTRIBUTION,
        version: str = "0.0.0",
    ) -> str:
        """Declare entry point ``name = target`` in ``distribution``; return its value text.

        Args:
            name: the entry-point name (what configuration files and ``load_provider`` use).
            target: a class or factory, or its ``"module:attribute"`` text. A text is written
                as it is, so a target that fails to import shows up as a plugin that failed to
                load, with this distribution named.
            distribution: the distribution that declares it; several names may share one.
            version: that distribution's version.

        Raises:
            ValueError: a malformed name, distribution, version or target text, or the
                distribution ``registry-auth`` itself (its built-in providers cannot be faked).
            RuntimeError: after :meth:`close`.
        """
        if self._closed:
            raise RuntimeError("these entry points are closed")
        if not _NAME_RE.fullmatch(name):
            raise ValueError(f"entry-point name {name!r} must be letters, digits, '.', '_', '-'")
        if not _DISTRIBUTION_RE.fullmatch(distribution):
            raise ValueError(f"{distribution!r} is not a distribution name")
        key = _normalize(distribution)
        if key == _OWN_DISTRIBUTION:
            raise ValueError("registry-auth's own distribution cannot be registered over")
        if not _VERSION_RE.fullmatch(version):
            raise ValueError(f"{version!r} is not a version")
        if isinstance(target, str):
            if not _VALUE_RE.fullmatch(target):
                raise ValueError(f"target {target!r} must be 'package.module:attribute'")
            value = target
        else:
            path = _import_path(target)
            if path is None:
                held, value = _hold(target)
                self._held_keys.append(held)
            else:
                value = path
        known = self._versions.get(key)
        if known is not None and known[1] != version:
            raise ValueError(
                f"distribution {distribution!r} is already registered at version {known[1]}"
            )
        self._versions[key] = (distribution, version)
        self._entries.setdefault(key, {})[name] = value
        self._write(key)
        _reset_discovery()
        return value

    def _write(self, key: str) -> None:
        display, version = self._versions[key]
        folder = self._site / f"{key.replace('-', '_')}-{version}.dist-info"
        folder.mkdir(exist_ok=True)
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {display}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = [f"[{_GROUP}]"]
        lines.extend(f"{name} = {value}" for name, value in self._entries[key].items())
        (folder / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def close(self) -> None:
        """Remove the distributions and forget what was registered. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):  # someone else took it off already
            sys.path.remove(str(self._site))
        for key in self._held_keys:
            _release(key)
        if self._own_directory:
            shutil.rmtree(self._base, ignore_errors=True)
        else:
            shutil.rmtree(self._site, ignore_errors=True)
        _reset_discovery()

    def __enter__(self) -> ProviderEntryPoints:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        names = sorted(name for entries in self._entries.values() for name in entries)
        state = "closed" if self._closed else str(self._site)
        return f"ProviderEntryPoints({names!r}, {state})"
