"""registry-auth's pytest plugin: fixtures for testing code that uses registry-auth.

The plugin is opt-in: installing registry-auth adds no fixture to anyone's test suite. Turn it
on in the ``conftest.py`` at the top of the test suite::

    pytest_plugins = ["registry_auth.testing"]

or with ``-p registry_auth.testing`` on pytest's command line (or in the ``addopts`` of the
pytest configuration). ``registry_auth.testing`` names this module in its own
``pytest_plugins``, and pytest follows it; naming this module,
``registry_auth.testing.pytest_plugin``, works as well. Loading the plugin costs nothing: docker
and hypothesis load only inside the fixtures that need them.

Fixtures, new for each test:

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
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from registry_auth.providers.static import StaticPasswordProvider
    from registry_auth.testing.clock import FrozenClock
    from registry_auth.testing.entry_points import ProviderEntryPoints
    from registry_auth.testing.fake_docker import FakeDocker

__all__ = ["STATIC_REGISTRY", "STATIC_USERNAME"]

# The contract tests fail through plain asserts: let pytest explain them as in a test module.
pytest.register_assert_rewrite("registry_auth.testing.contract")

STATIC_REGISTRY: Final = "registry.test"
STATIC_USERNAME: Final = "test-user"


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
