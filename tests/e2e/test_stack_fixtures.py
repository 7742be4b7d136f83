"""The lab's stack fixtures against the real stack (root, Debian packages): end to end."""

from __future__ import annotations

import pytest

from registry_auth import ContainerOrchestrator, StaticPasswordProvider
from tests.lab.stack import DockerDaemon, Image, LocalStack, Registry

pytestmark = pytest.mark.e2e


def test_the_fixtures_share_one_started_stack(local_stack, docker_engine, local_registry):
    assert isinstance(local_stack, LocalStack)
    assert isinstance(docker_engine, DockerDaemon)
    assert isinstance(local_registry, Registry)
    assert docker_engine is local_stack.docker
    assert local_registry.host == local_stack.private.host == "127.0.0.1:5443"
    assert docker_engine.ready()
    assert local_registry.running()


def test_pull_from_the_local_registry_with_a_static_provider(
    request, docker_engine, local_registry
):
    image = Image.build(files={"fixture.txt": request.node.nodeid})
    pushed = local_registry.push(image, "fixtures/app", "1.0")
    provider = StaticPasswordProvider(
        registry=local_registry.host, username="alice", password=local_registry.password("alice")
    )
    client = docker_engine.client()
    try:
        result = ContainerOrchestrator(client, [provider]).pull(pushed.reference)
        repo_digests = client.api.inspect_image(pushed.reference)["RepoDigests"]
    finally:
        client.close()
    assert result.pulled
    assert result.provider == "static"
    assert result.digest == pushed.digest
    assert pushed.pinned in repo_digests
