"""The lab's session fixtures, for this project's own tests (loaded by ``tests/conftest.py``).

``local_stack``
    A started :class:`~tests.lab.stack.LocalStack`: dockerd, four registries (one under Docker
    Hub's name, one under an ECR name), a token server, and moto's server when ``moto[server]``
    is installed. Stopped at the end of the session.
``docker_engine``
    The stack's :class:`~tests.lab.stack.DockerDaemon` (``docker_engine.client()``,
    ``docker_engine.base_url``).
``local_registry``
    The stack's htpasswd registry over TLS, ``127.0.0.1:5443``, a
    :class:`~tests.lab.stack.Registry` (``.host``, ``.password("alice")``, ``.push(...)``).

The stack needs root and Debian's ``docker.io``, ``docker-registry``, ``skopeo``,
``apache2-utils`` and ``iproute2`` (``scripts/bootstrap`` installs them). Without them the tests
that use these fixtures fail, saying what is missing: a test that did not run is not a pass.

Importing this module is cheap: the stack, and docker and cryptography behind it, load only
when a test asks for one of the fixtures.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from tests.lab.stack import DockerDaemon, LocalStack, Registry

__all__: list[str] = []


def _unavailable(reason: str) -> NoReturn:
    pytest.fail(f"registry-auth's local stack is unavailable: {reason}", pytrace=False)


def _missing_root() -> str | None:
    if os.geteuid() != 0:
        return "it needs root, to create a network namespace and bind mounts"
    return None


def _start_stack() -> LocalStack:
    from tests.lab.stack import LocalStack, MissingComponentError

    reason = _missing_root()
    if reason is not None:
        _unavailable(reason)
    # moto's server comes with moto[server] (flask); without it the stack runs without moto.
    moto = all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))
    stack = LocalStack(moto=moto)
    try:
        stack.start()
    except MissingComponentError as exc:
        _unavailable(str(exc))
    return stack


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The started local stack, shared by the session; stopped (and cleaned up) at its end."""
    stack = _start_stack()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def docker_engine(local_stack: LocalStack) -> DockerDaemon:
    """The local stack's dockerd: ``docker_engine.client()`` gives a docker-py client."""
    return local_stack.docker


@pytest.fixture(scope="session")
def local_registry(local_stack: LocalStack) -> Registry:
    """The local stack's htpasswd registry over TLS (``127.0.0.1:5443``, user ``alice``)."""
    return local_stack.private
