"""Helpers for testing code that uses registry-auth, and for testing providers.

Install what they need with ``pip install 'registry-auth[testing]'``. Importing this package is
light: each name below loads its module (and docker or hypothesis behind it) on first use.

Public surface
--------------

Unit tests, no engine and no root:

- :class:`FakeDocker`, :class:`FakeFailure`, :class:`RecordedPull`
  (:mod:`registry_auth.testing.fake_docker`): a docker client double with a scripted registry
  and engine; it records each pull and the auth config it sent, and fails in each way a real
  engine does.
- :class:`FrozenClock` (:mod:`registry_auth.testing.clock`): a clock that moves when told, for
  ``TokenCache(clock=...)``, ``EcrProvider(clock=...)`` and the orchestrator's
  ``clock=``/``sleep=``.
- :class:`ProviderEntryPoints` (:mod:`registry_auth.testing.entry_points`): providers
  registered for a while as if installed through entry points.
- :func:`image_references`, :func:`registries`, :func:`credentials`
  (:mod:`registry_auth.testing.strategies`): hypothesis strategies.

For plugin authors:

- :class:`ProviderContractTests` (:mod:`registry_auth.testing.contract`): the contract every
  provider keeps, as tests to subclass; :func:`lookalike_references` builds the lookalike
  hosts it checks.

The pytest plugin (:mod:`registry_auth.testing.pytest_plugin`) turns these into fixtures:
``fake_docker``, ``static_provider``, ``provider_entry_points`` and ``frozen_clock``. It is
opt-in: name this package as a plugin, ``pytest_plugins = ["registry_auth.testing"]`` in a
top-level ``conftest.py`` or ``-p registry_auth.testing`` on pytest's command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from registry_auth.testing.clock import FrozenClock
    from registry_auth.testing.contract import ProviderContractTests, lookalike_references
    from registry_auth.testing.entry_points import ProviderEntryPoints
    from registry_auth.testing.fake_docker import FakeDocker, FakeFailure, RecordedPull
    from registry_auth.testing.strategies import credentials, image_references, registries

__all__ = [
    "FakeDocker",
    "FakeFailure",
    "FrozenClock",
    "ProviderContractTests",
    "ProviderEntryPoints",
    "RecordedPull",
    "credentials",
    "image_references",
    "lookalike_references",
    "registries",
]

# pytest loads the plugin from here when this package is named as a plugin (-p or
# pytest_plugins). pytest then scans this module with dir() and getattr(): dir() therefore
# lists what is loaded, not the lazy names below, or the scan would import them all.
pytest_plugins = ["registry_auth.testing.pytest_plugin"]

_MODULES: Final[dict[str, str]] = {
    "FakeDocker": "registry_auth.testing.fake_docker",
    "FakeFailure": "registry_auth.testing.fake_docker",
    "RecordedPull": "registry_auth.testing.fake_docker",
    "FrozenClock": "registry_auth.testing.clock",
    "ProviderContractTests": "registry_auth.testing.contract",
    "lookalike_references": "registry_auth.testing.contract",
    "ProviderEntryPoints": "registry_auth.testing.entry_points",
    "credentials": "registry_auth.testing.strategies",
    "image_references": "registry_auth.testing.strategies",
    "registries": "registry_auth.testing.strategies",
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
