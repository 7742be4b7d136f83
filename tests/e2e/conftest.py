"""Fixtures for end-to-end tests: one local stack (lab, dockerd, registries, moto) per session.

The stack needs root and the Debian packages docker.io, docker-registry, apache2-utils and
iproute2; without them ``LocalStack.start`` raises ``MissingComponentError`` naming the package,
and every test using these fixtures errors with that message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from registry_auth.testing.stack import LocalStack, SampleImages


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The started stack, with moto's server; stopped (and cleaned up) after the session."""
    with LocalStack(moto=True) as stack:
        yield stack


@pytest.fixture(scope="session")
def sample_images(local_stack: LocalStack) -> SampleImages:
    """One image pushed to each registry, and a foreign-platform manifest list."""
    return local_stack.publish_samples()


@pytest.fixture(scope="session")
def docker_client(local_stack: LocalStack) -> Iterator[Any]:
    """A docker-py client on the stack's dockerd."""
    client = local_stack.docker_client()
    try:
        yield client
    finally:
        client.close()
