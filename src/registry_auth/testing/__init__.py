"""Helpers for testing code that uses registry-auth, and for testing providers.

Install what they need with ``pip install 'registry-auth[testing]'``. Importing this package is
light: each name below loads its module (and docker, hypothesis or cryptography behind it) on
first use.

Public surface
--------------

Unit tests, no engine and no root:

- :class:`FakeDocker`, :class:`FakeFailure`, :class:`RecordedPull`
  (:mod:`registry_auth.testing.fake_docker`): a docker client double with a scripted registry
  and engine; it records each pull and the auth config it sent, and fails in each way a real
  engine does.
- :class:`FaultProxy` (:mod:`registry_auth.testing.faults`): a loopback proxy that injects
  resets, error answers, stalls, delays and untrusted certificates in front of a registry or
  an AWS endpoint, with :class:`Forward`, :class:`Respond`, :class:`Reset`, :class:`Stall`
  and :class:`TlsIdentity`.
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

End-to-end, with root and Debian's ``docker.io``, ``docker-registry``, ``skopeo``,
``apache2-utils`` and ``iproute2`` (:mod:`registry_auth.testing.stack`):

- :class:`LocalStack`: dockerd, registries with htpasswd over TLS and with token auth, a
  "Docker Hub" and an "ECR" under their real names in a network namespace, moto's server;
  with :class:`Registry`, :class:`DockerDaemon`, :class:`MotoServer`, :class:`Image`,
  :class:`ImageIndex` and the rest of its vocabulary.

The pytest plugin (:mod:`registry_auth.testing.pytest_plugin`, loaded by pytest on its own)
turns these into fixtures: ``fake_docker``, ``static_provider``, ``provider_entry_points``,
``frozen_clock``, and the session-scoped ``local_stack``, ``docker_engine`` and
``local_registry``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from registry_auth.testing.clock import FrozenClock
    from registry_auth.testing.contract import ProviderContractTests, lookalike_references
    from registry_auth.testing.entry_points import ProviderEntryPoints
    from registry_auth.testing.fake_docker import FakeDocker, FakeFailure, RecordedPull
    from registry_auth.testing.faults import (
        FaultProxy,
        Forward,
        Reset,
        Respond,
        Stall,
        TlsIdentity,
    )
    from registry_auth.testing.stack import (
        DEFAULT_USERS,
        ECR_ACCOUNT,
        ECR_REGION,
        Address,
        AuthScheme,
        Blob,
        DockerDaemon,
        Image,
        ImageIndex,
        LocalStack,
        MissingComponentError,
        MotoServer,
        Platform,
        PushedImage,
        PushJob,
        Registry,
        RegistryRequest,
        SampleImages,
        StackError,
        TokenRequest,
    )
    from registry_auth.testing.strategies import credentials, image_references, registries

__all__ = [  # noqa: RUF022 - plain sorted order, checked by a test
    "Address",
    "AuthScheme",
    "Blob",
    "DEFAULT_USERS",
    "DockerDaemon",
    "ECR_ACCOUNT",
    "ECR_REGION",
    "FakeDocker",
    "FakeFailure",
    "FaultProxy",
    "Forward",
    "FrozenClock",
    "Image",
    "ImageIndex",
    "LocalStack",
    "MissingComponentError",
    "MotoServer",
    "Platform",
    "ProviderContractTests",
    "ProviderEntryPoints",
    "PushJob",
    "PushedImage",
    "RecordedPull",
    "Registry",
    "RegistryRequest",
    "Reset",
    "Respond",
    "SampleImages",
    "StackError",
    "Stall",
    "TlsIdentity",
    "TokenRequest",
    "credentials",
    "image_references",
    "lookalike_references",
    "registries",
]

_STACK: Final = "registry_auth.testing.stack"
_MODULES: Final[dict[str, str]] = {
    "FakeDocker": "registry_auth.testing.fake_docker",
    "FakeFailure": "registry_auth.testing.fake_docker",
    "RecordedPull": "registry_auth.testing.fake_docker",
    "FrozenClock": "registry_auth.testing.clock",
    **dict.fromkeys(
        ["FaultProxy", "Forward", "Reset", "Respond", "Stall", "TlsIdentity"],
        "registry_auth.testing.faults",
    ),
    "ProviderContractTests": "registry_auth.testing.contract",
    "lookalike_references": "registry_auth.testing.contract",
    "ProviderEntryPoints": "registry_auth.testing.entry_points",
    "credentials": "registry_auth.testing.strategies",
    "image_references": "registry_auth.testing.strategies",
    "registries": "registry_auth.testing.strategies",
    **dict.fromkeys(
        [
            "Address",
            "AuthScheme",
            "Blob",
            "DEFAULT_USERS",
            "DockerDaemon",
            "ECR_ACCOUNT",
            "ECR_REGION",
            "Image",
            "ImageIndex",
            "LocalStack",
            "MissingComponentError",
            "MotoServer",
            "Platform",
            "PushJob",
            "PushedImage",
            "Registry",
            "RegistryRequest",
            "SampleImages",
            "StackError",
            "TokenRequest",
        ],
        _STACK,
    ),
}


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use (PEP 562)."""
    module_name = _MODULES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
