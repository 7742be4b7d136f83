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
``apache2-utils`` and ``iproute2``. Without them the tests that use these fixtures are
*skipped*, with the reason, unless the run demands the stack: ``--registry-auth-require-stack``,
the ini option ``registry_auth_require_stack = true``, or ``REGISTRY_AUTH_REQUIRE_STACK=1`` in
the environment turn the skip into a failure (``nox -s e2e`` passes the option).

Importing this module is cheap: the stack, and docker and cryptography behind it, load only
when a test asks for one of the fixtures.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, NoReturn

import pytest

if TYPE_CHECKING:
    from tests.lab.stack import DockerDaemon, LocalStack, Registry

__all__ = [
    "REQUIRE_STACK_ENV",
    "REQUIRE_STACK_INI",
    "REQUIRE_STACK_OPTION",
    "stack_required",
]

REQUIRE_STACK_OPTION: Final = "--registry-auth-require-stack"
REQUIRE_STACK_INI: Final = "registry_auth_require_stack"
REQUIRE_STACK_ENV: Final = "REGISTRY_AUTH_REQUIRE_STACK"

_FALSE_WORDS: Final = frozenset({"", "0", "false", "no", "off"})


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the switch that makes a missing local stack a failure instead of a skip."""
    group = parser.getgroup("registry-auth-lab", "registry-auth's test lab")
    group.addoption(
        REQUIRE_STACK_OPTION,
        action="store_true",
        default=False,
        help=(
            "fail, instead of skipping, tests that need the lab's local stack when root or "
            f"its programs are missing (also: {REQUIRE_STACK_ENV}=1)"
        ),
    )
    parser.addini(
        REQUIRE_STACK_INI,
        type="bool",
        default=False,
        help="fail, instead of skipping, tests that need the lab's local stack",
    )


def stack_required(config: pytest.Config) -> bool:
    """Whether this run demands the local stack (option, ini option or environment)."""
    if config.getoption(REQUIRE_STACK_OPTION, default=False):
        return True
    if os.environ.get(REQUIRE_STACK_ENV, "").strip().lower() not in _FALSE_WORDS:
        return True
    return bool(config.getini(REQUIRE_STACK_INI))


def _unavailable(config: pytest.Config, reason: str) -> NoReturn:
    if stack_required(config):
        pytest.fail(
            f"registry-auth's local stack is required but unavailable: {reason} (the stack is "
            f"required by {REQUIRE_STACK_OPTION}, {REQUIRE_STACK_INI} or {REQUIRE_STACK_ENV})",
            pytrace=False,
        )
    pytest.skip(
        f"registry-auth's local stack is unavailable: {reason} "
        f"(pass {REQUIRE_STACK_OPTION} to make this a failure)"
    )


def _missing_root() -> str | None:
    if os.geteuid() != 0:
        return "it needs root, to create a network namespace and bind mounts"
    return None


def _start_stack(config: pytest.Config) -> LocalStack:
    from tests.lab.stack import LocalStack, MissingComponentError

    reason = _missing_root()
    if reason is not None:
        _unavailable(config, reason)
    # moto's server comes with moto[server] (flask); without it the stack runs without moto.
    moto = all(importlib.util.find_spec(name) is not None for name in ("moto", "flask"))
    stack = LocalStack(moto=moto)
    try:
        stack.start()
    except MissingComponentError as exc:
        _unavailable(config, str(exc))
    return stack


@pytest.fixture(scope="session")
def local_stack(pytestconfig: pytest.Config) -> Iterator[LocalStack]:
    """The started local stack, shared by the session; stopped (and cleaned up) at its end."""
    stack = _start_stack(pytestconfig)
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
