"""Fixtures for end-to-end tests, on top of the lab's pytest plugin.

The plugin (``tests.lab.pytest_plugin``, loaded by ``tests/conftest.py``) gives ``local_stack`` (one stack per
session: lab, dockerd, registries, moto's server), ``docker_engine`` and ``local_registry``.
Without root or the Debian packages docker.io, docker-registry, apache2-utils and iproute2 the
tests using them fail, saying what is missing; they are never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.lab.stack import DockerDaemon, LocalStack, SampleImages


@pytest.fixture(scope="session")
def sample_images(local_stack: LocalStack) -> SampleImages:
    """One image pushed to each registry, and a foreign-platform manifest list."""
    return local_stack.publish_samples()


@pytest.fixture(scope="session")
def docker_client(docker_engine: DockerDaemon) -> Iterator[Any]:
    """A docker-py client on the stack's dockerd."""
    client = docker_engine.client()
    try:
        yield client
    finally:
        client.close()
