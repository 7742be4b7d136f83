"""ContainerOrchestrator against the local stack: real dockerd, real registries, real errors.

Every pull goes through the stack's dockerd; the orchestrator's client is wrapped only to count
the pulls it starts, so that "not retried" and "retried N times" are facts, not timings. Sleeps
between retries are recorded instead of slept.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

import attrs
import boto3
import pytest

from registry_auth import (
    AuthenticationError,
    Credentials,
    CredentialsNotFoundError,
    DigestMismatchError,
    ImageNotFoundError,
    ImageReference,
    PlatformMismatchError,
    RegistryUnavailableError,
)
from registry_auth._orchestrator import ContainerOrchestrator, ImageConfig
from registry_auth.providers.ecr import EcrProvider
from tests.lab.stack import ECR_ACCOUNT, ECR_REGION, Image, Platform, Registry

pytestmark = pytest.mark.e2e

ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"


@attrs.define
class PullCounter:
    """The stack's docker client, recording each pull started through it."""

    client: Any
    pulls: list[tuple[str, str | None]] = attrs.Factory(list)

    @property
    def api(self) -> PullCounter:
        return self

    def pull(self, repository: str, **options: Any) -> Any:
        self.pulls.append((repository, options.get("tag")))
        return self.client.api.pull(repository, **options)

    def inspect_image(self, image: str) -> Any:
        return self.client.api.inspect_image(image)

    def inspect_distribution(self, image: str, **options: Any) -> Any:
        return self.client.api.inspect_distribution(image, **options)

    def tag(self, image: str, repository: str, **options: Any) -> Any:
        return self.client.api.tag(image, repository, **options)


@attrs.define
class HtpasswdUserProvider:
    """Reads a registry user's password when first asked, and keeps it until invalidated."""

    registry: Registry
    username: str
    name: str = "rotating"
    invalidated: int = 0
    _cached: Credentials | None = None

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        if ref.registry != self.registry.host:
            return None
        if self._cached is None:
            self._cached = Credentials(
                username=self.username,
                password=self.registry.password(self.username),
                registry=ref.registry,
            )
        return self._cached

    def invalidate(self, ref: ImageReference) -> None:
        self.invalidated += 1
        self._cached = None


@pytest.fixture
def counter(docker_client):
    return PullCounter(docker_client)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def orchestrator(counter, sleeps):
    return ContainerOrchestrator(counter, sleep=sleeps.append)


@attrs.frozen
class Rig:
    """An orchestrator on the stack, with the pulls it started and the sleeps it asked for."""

    orchestrator: ContainerOrchestrator
    counter: PullCounter
    sleeps: list[float]


@pytest.fixture
def rig(orchestrator, counter, sleeps):
    return Rig(orchestrator, counter, sleeps)


def fresh(request, registry, repository, tag="1"):
    """Push an image no other test has, so that its pull really fetches it."""
    return registry.push(Image.build(files={"test.txt": request.node.nodeid}), repository, tag)


def repo_digests(docker_client, name):
    return set(docker_client.api.inspect_image(name)["RepoDigests"])


def ecr_password(local_stack):
    ecr = boto3.client(
        "ecr",
        region_name=ECR_REGION,
        endpoint_url=local_stack.moto_endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    username, password = base64.b64decode(token).decode().split(":", 1)
    assert username == "AWS"
    return password


# -- the gateway's three flows -----------------------------------------------------------------


def test_gateway_flow_private_docker_hub(local_stack, sample_images, orchestrator, docker_client):
    config = ImageConfig(
        image_name="hubuser/hello",
        image_tag="v1",
        registry_url="",
        username="hubuser",
        password=local_stack.hub.password("hubuser"),
    )
    result = orchestrator.pull_config(config, policy="always")
    assert result.provider == "explicit"
    assert result.digest == sample_images.hub.digest
    assert f"hubuser/hello@{sample_images.hub.digest}" in repo_digests(
        docker_client, "hubuser/hello:v1"
    )


def test_gateway_flow_ecr(local_stack, sample_images, orchestrator, docker_client):
    config = ImageConfig(
        image_name=sample_images.ecr.name,  # the image URI, without tag
        image_tag="1.0",
        registry_url=f"{ECR_HOST}/team/",
        username="AWS",
        password=ecr_password(local_stack),  # what `aws ecr get-login-password` prints
    )
    result = orchestrator.pull_config(config, policy="always")
    assert result.provider == "explicit"
    assert result.digest == sample_images.ecr.digest
    assert sample_images.ecr.pinned in repo_digests(docker_client, sample_images.ecr.reference)


def test_gateway_flow_ecr_with_automatic_tokens(
    local_stack, sample_images, counter, sleeps, docker_client, monkeypatch
):
    """The same ECR image with no password at all: EcrProvider asks AWS (moto) for a token."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    calls = []
    session = boto3.session.Session(region_name=ECR_REGION)
    session.events.register(
        "before-parameter-build.ecr.GetAuthorizationToken",
        lambda **kwargs: calls.append(dict(kwargs["params"])),
    )

    def twelve_hours(parsed, **kwargs):
        # moto dates every token 2015-01-01; a real one lives 12 hours.
        for entry in parsed.get("authorizationData", []):
            entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)

    session.events.register("after-call.ecr.GetAuthorizationToken", twelve_hours)
    provider = EcrProvider(session=session, endpoint_url=local_stack.moto_endpoint_url)
    orchestrator = ContainerOrchestrator(counter, [provider], sleep=sleeps.append)
    config = ImageConfig(
        image_name=sample_images.ecr.name, image_tag="1.0", registry_url=f"{ECR_HOST}/team/"
    )
    first = orchestrator.pull_config(config, policy="always")
    second = orchestrator.pull_config(config, policy="always")
    assert first.provider == second.provider == "ecr"
    assert first.digest == sample_images.ecr.digest
    assert sample_images.ecr.pinned in repo_digests(docker_client, sample_images.ecr.reference)
    # One token for both pulls, asked for the registry's own account (cross-account safe).
    assert len(calls) == 1
    assert calls[0].get("registryIds") == [ECR_ACCOUNT]


@pytest.mark.parametrize("registry", ["private", "token"])
def test_gateway_flow_any_private_registry(local_stack, sample_images, orchestrator, registry):
    target = local_stack.registries[registry]
    pushed = getattr(sample_images, registry)
    username = target.usernames()[0]
    config = ImageConfig(
        image_name="team/app",
        image_tag="1.0",
        registry_url=f"https://{target.host}/",
        username=username,
        password=target.password(username),
    )
    result = orchestrator.pull_config(config, policy="always")
    assert result.digest == pushed.digest
    assert result.reference == ImageReference.parse(pushed.reference)


# -- failures: typed, and retried only when worth it ----------------------------------------------


@pytest.mark.parametrize("registry", ["hub", "ecr", "private", "token"])
def test_wrong_password_fails_without_retry(local_stack, sample_images, rig, registry):
    pushed = getattr(sample_images, registry)
    username = local_stack.registries[registry].usernames()[0]
    with pytest.raises(AuthenticationError, match="rejected the credentials") as caught:
        rig.orchestrator.pull(
            pushed.name, tag=pushed.tag, username=username, password="wrong", policy="always"
        )
    assert caught.value.registry == ImageReference.parse(pushed.reference).registry
    assert "wrong" not in str(caught.value)
    assert len(rig.counter.pulls) == 1
    assert rig.sleeps == []


@pytest.mark.parametrize("registry", ["hub", "ecr", "private", "token"])
def test_missing_image_fails_without_retry(local_stack, sample_images, rig, registry):
    target = local_stack.registries[registry]
    pushed = getattr(sample_images, registry)
    username = target.usernames()[0]
    with pytest.raises(ImageNotFoundError, match="no-such-tag"):
        rig.orchestrator.pull(
            pushed.name,
            tag="no-such-tag",
            username=username,
            password=target.password(username),
        )
    assert len(rig.counter.pulls) == 1
    assert rig.sleeps == []


@pytest.mark.parametrize("registry", ["private", "ecr"])
def test_stopped_registry_is_retried_then_unavailable(local_stack, sample_images, rig, registry):
    target = local_stack.registries[registry]
    pushed = getattr(sample_images, registry)
    username = target.usernames()[0]
    with target.down(), pytest.raises(RegistryUnavailableError) as caught:
        rig.orchestrator.pull(
            pushed.name,
            tag=pushed.tag,
            username=username,
            password=target.password(username),
            policy="always",
            retries=3,
            retry_interval=0.05,
        )
    assert "connection refused" in str(caught.value)
    assert "gave up after 3 failed attempts" in str(caught.value)
    assert len(rig.counter.pulls) == 3
    assert len(rig.sleeps) == 2
    assert all(0.0 <= s <= 0.1 for s in rig.sleeps)


@pytest.mark.parametrize("registry", ["private", "token"])
def test_rotated_password_is_refreshed_once(local_stack, counter, sleeps, request, registry):
    target = local_stack.registries[registry]
    pushed = fresh(request, target, f"rotation/{registry}-e2e")
    target.set_user("dave", "first-password")
    provider = HtpasswdUserProvider(target, "dave")
    orchestrator = ContainerOrchestrator(counter, [provider], sleep=sleeps.append)
    try:
        orchestrator.pull(pushed.reference)  # the provider now holds the first password
        target.set_user("dave", "second-password")
        result = orchestrator.pull(pushed.reference, policy="always")
    finally:
        target.remove_user("dave")
    assert provider.invalidated == 1
    assert len(counter.pulls) == 3  # the first pull, the rejected one, the retry
    assert result.attempts == 2
    assert result.provider == "rotating"
    assert sleeps == []


def test_foreign_platform_lists_the_platforms(local_stack, sample_images, orchestrator, counter):
    foreign = sample_images.foreign
    with pytest.raises(PlatformMismatchError) as caught:
        orchestrator.pull(
            foreign.name,
            tag=foreign.tag,
            username="alice",
            password=local_stack.private.password("alice"),
        )
    assert caught.value.wanted == str(Platform.host())
    assert caught.value.available == (str(Platform.foreign()),)
    assert str(Platform.foreign()) in str(caught.value)
    assert len(counter.pulls) == 1


# -- policies and digests ------------------------------------------------------------------------


def test_if_not_present_makes_no_registry_request(local_stack, orchestrator, request):
    pushed = fresh(request, local_stack.ecr, "present/app")
    password = local_stack.ecr.password("AWS")
    first = orchestrator.pull(pushed.reference, username="AWS", password=password)
    before = local_stack.ecr.request_count()
    second = orchestrator.pull(pushed.reference, username="AWS", password=password)
    assert local_stack.ecr.request_count() == before
    assert first.pulled
    assert not second.pulled
    assert second.image_id == first.image_id
    assert second.digest == pushed.digest


def test_never_policy_contacts_no_registry(local_stack, orchestrator):
    before = local_stack.private.request_count()
    with pytest.raises(ImageNotFoundError, match="'never'"):
        orchestrator.pull("127.0.0.1:5443/team/never-pulled:1", policy="never")
    assert local_stack.private.request_count() == before


def test_digest_mismatch_is_detected(local_stack, orchestrator, counter, request):
    pushed = fresh(request, local_stack.private, "pinned/app")
    never_pushed = Image.build(files={"other": request.node.nodeid}).digest
    with pytest.raises(DigestMismatchError) as caught:
        orchestrator.pull(
            pushed.name,
            tag=pushed.tag,
            expected_digest=never_pushed,
            username="alice",
            password=local_stack.private.password("alice"),
        )
    assert caught.value.expected == never_pushed
    assert caught.value.actual == pushed.digest
    assert counter.pulls == [(pushed.name, never_pushed)]


def test_a_moved_tag_does_not_slip_through(local_stack, orchestrator, docker_client, request):
    registry = local_stack.private
    verified = registry.push(Image.build(files={"v": "verified"}), "moving/app", "stable")
    moved = registry.push(Image.build(files={"v": request.node.nodeid}), "moving/app", "stable")
    assert moved.digest != verified.digest
    result = orchestrator.pull(
        verified.name,
        tag="stable",
        expected_digest=verified.digest,
        username="alice",
        password=registry.password("alice"),
        policy="always",
    )
    assert result.digest == verified.digest
    local = docker_client.api.inspect_image(f"{verified.name}:stable")
    assert local["Id"] == result.image_id
    assert f"{verified.name}@{verified.digest}" in local["RepoDigests"]
    assert f"{verified.name}@{moved.digest}" not in local["RepoDigests"]


# -- anonymous pulls ---------------------------------------------------------------------------


def test_anonymous_pull_only_when_no_provider_answers(
    local_stack, orchestrator, counter, caplog, request
):
    pushed = fresh(request, local_stack.hub, "library/e2e-public", "latest")
    local_stack.hub.set_public("library/e2e-public")
    caplog.set_level(logging.DEBUG, logger="registry_auth.orchestrator")
    try:
        result = orchestrator.pull("e2e-public")
    finally:
        local_stack.hub.set_public("library/e2e-public", public=False)
    assert result.provider is None
    assert result.digest == pushed.digest
    assert counter.pulls == [("e2e-public", "latest")]
    assert any("anonymously" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("registry", ["private", "token"])
def test_anonymous_pull_from_a_tls_registry_is_missing_credentials_not_retried(
    local_stack, sample_images, rig, registry
):
    # dockerd treats registries on 127.0.0.0/8 as insecure: refused over TLS for want of
    # credentials, it tries plain HTTP on the TLS port and reports what that gave.
    pushed = getattr(sample_images, registry)
    with pytest.raises(AuthenticationError, match="requires credentials") as caught:
        rig.orchestrator.pull(
            pushed.name, tag=pushed.tag, policy="always", retries=3, retry_interval=0.05
        )
    assert caught.value.registry == ImageReference.parse(pushed.reference).registry
    assert "none were sent" in str(caught.value)
    assert len(rig.counter.pulls) == 1
    assert rig.sleeps == []


def test_anonymous_pulls_can_be_refused(local_stack, counter):
    orchestrator = ContainerOrchestrator(counter, allow_anonymous=False)
    before = local_stack.hub.request_count()
    with pytest.raises(CredentialsNotFoundError, match=r"docker\.io"):
        orchestrator.pull("hubuser/hello:v1", policy="always")
    assert counter.pulls == []
    assert local_stack.hub.request_count() == before
