"""registry-auth's pytest plugin: fixtures for testing code that uses registry-auth.

pytest loads it by itself once registry-auth is installed (it is registered in the ``pytest11``
entry-point group under the name ``registry_auth``; ``-p no:registry_auth`` turns it off).
Importing it costs nothing: docker, boto3 and cryptography load only inside the fixtures that
need them.

Fixtures, per test unless said otherwise:

``fake_docker``
    A new :class:`~registry_auth.testing.fake_docker.FakeDocker`: a docker client double that
    records pulls and the auth configs they sent, and fails in each way a real engine does.
``static_provider``
    A :class:`~registry_auth.StaticPasswordProvider` for ``registry.test``, user ``test-user``,
    with a password made for the test (``static_provider.password.reveal()``).
``provider_entry_points``
    A :class:`~registry_auth.testing.entry_points.ProviderEntryPoints`: providers registered
    with it are found as installed plugins until the test ends.
``frozen_clock``
    A :class:`~registry_auth.testing.clock.FrozenClock` at 2030-01-01T00:00Z, for ``clock=``
    (``TokenCache``, ``EcrProvider``) and ``clock=frozen_clock.monotonic,
    sleep=frozen_clock.sleep`` (``ContainerOrchestrator``).
``local_stack`` (session)
    A started :class:`~registry_auth.testing.stack.LocalStack`: dockerd, four registries (one
    under Docker Hub's name, one under an ECR name), a token server, and moto's server when
    ``moto[server]`` is installed. Stopped at the end of the session.
``docker_engine`` (session)
    The stack's :class:`~registry_auth.testing.stack.DockerDaemon`
    (``docker_engine.client()``, ``docker_engine.base_url``).
``local_registry`` (session)
    The stack's htpasswd registry over TLS, ``127.0.0.1:5443``, a
    :class:`~registry_auth.testing.stack.Registry` (``.host``, ``.password("alice")``,
    ``.push(...)``).

The stack needs root and Debian's ``docker.io``, ``docker-registry``, ``apache2-utils`` and
``iproute2``. Without them the tests that use these fixtures are *skipped*, with the reason,
unless the suite demands the stack: ``--registry-auth-require-stack``, the ini option
``registry_auth_require_stack = true``, or ``REGISTRY_AUTH_REQUIRE_STACK=1`` in the environment
turn the skip into a failure. A CI job that means to run end-to-end tests should set one.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final, NoReturn

import pytest

if TYPE_CHECKING:
    from registry_auth.providers.static import StaticPasswordProvider
    from registry_auth.testing.clock import FrozenClock
    from registry_auth.testing.entry_points import ProviderEntryPoints
    from registry_auth.testing.fake_docker import FakeDocker
    from registry_auth.testing.stack import DockerDaemon, LocalStack, Registry

__all__ = [
    "REQUIRE_STACK_ENV",
    "REQUIRE_STACK_INI",
    "REQUIRE_STACK_OPTION",
    "STATIC_REGISTRY",
    "STATIC_USERNAME",
    "stack_required",
]

REQUIRE_STACK_OPTION: Final = "--registry-auth-require-stack"
REQUIRE_STACK_INI: Final = "registry_auth_require_stack"
REQUIRE_STACK_ENV: Final = "REGISTRY_AUTH_REQUIRE_STACK"

# The contract tests fail through plain asserts: let pytest explain them as in a test module.
pytest.register_assert_rewrite("registry_auth.testing.contract")

STATIC_REGISTRY: Final = "registry.test"
STATIC_USERNAME: Final = "test-user"

_FALSE_WORDS: Final = frozenset({"", "0", "false", "no", "off"})


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the switch that makes a missing local stack a failure instead of a skip."""
    group = parser.getgroup("registry-auth", "registry-auth local stack")
    group.addoption(
        REQUIRE_STACK_OPTION,
        action="store_true",
        default=False,
        help=(
            "fail, instead of skipping, tests that need registry-auth's local stack when root "
            f"or its programs are missing (also: {REQUIRE_STACK_ENV}=1)"
        ),
    )
    parser.addini(
        REQUIRE_STACK_INI,
        type="bool",
        default=False,
        help="fail, instead of skipping, tests that need registry-auth's local stack",
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
    from registry_auth.testing.stack import (  # noqa: PLC0415 - heavy, loaded on first use
        LocalStack,
        MissingComponentError,
    )

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


@pytest.fixture
def fake_docker() -> FakeDocker:
    """A new fake docker client: a scripted registry and engine that record every call."""
    from registry_auth.testing.fake_docker import FakeDocker  # noqa: PLC0415 - imports docker

    return FakeDocker()


@pytest.fixture
def static_provider() -> StaticPasswordProvider:
    """A static provider for ``registry.test``, user ``test-user``, a password made per test."""
    from registry_auth.providers.static import StaticPasswordProvider  # noqa: PLC0415

    return StaticPasswordProvider(
        registry=STATIC_REGISTRY,
        username=STATIC_USERNAME,
        password=f"static-test-password-{secrets.token_hex(8)}",
    )


@pytest.fixture
def provider_entry_points() -> Iterator[ProviderEntryPoints]:
    """Register providers as if installed through entry points, until the test ends."""
    from registry_auth.testing.entry_points import ProviderEntryPoints  # noqa: PLC0415

    entry_points = ProviderEntryPoints()
    try:
        yield entry_points
    finally:
        entry_points.close()


@pytest.fixture
def frozen_clock() -> FrozenClock:
    """A clock frozen at 2030-01-01T00:00Z that moves only with ``advance``/``set``/``sleep``."""
    from registry_auth.testing.clock import FrozenClock  # noqa: PLC0415

    return FrozenClock()
