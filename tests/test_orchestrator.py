from __future__ import annotations

import base64
import gc
import json
import logging
import os
import random
import socket
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import attrs
import docker
import docker.errors
import pytest
import requests

from registry_auth import (
    AuthenticationError,
    ConfigurationError,
    CredentialResolver,
    Credentials,
    CredentialsNotFoundError,
    DigestMismatchError,
    DockerUnavailableError,
    ImageNotFoundError,
    ImageReference,
    InvalidReferenceError,
    PlatformMismatchError,
    PullError,
    PullTimeoutError,
    RegistryUnavailableError,
    Secret,
    StaticPasswordProvider,
    TokenFetchError,
)
from registry_auth._orchestrator import (
    ContainerOrchestrator,
    ImageConfig,
    PullPolicy,
    PullProgress,
    PullResult,
)
from registry_auth.testing.fake_docker import FakeDocker, FakeFailure

REG = "localhost:5000"
APP = f"{REG}/team/app"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
UNKNOWN_DIGEST = "sha256:" + "0" * 64


class FakeClock:
    """A monotonic clock that only moves when told to, and a sleep that moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Fraction(random.Random):
    """A jitter source that always draws the same fraction of the range."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


@attrs.define
class RotatingProvider:
    """Caches credentials read from a mutable source until told they were rejected."""

    registry: str
    source: dict[str, str] = attrs.field(repr=False)
    name: str = "rotating"
    reads: int = 0
    invalidated: list[ImageReference] = attrs.Factory(list)
    _cached: Credentials | None = None

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        if ref.registry != self.registry:
            return None
        if self._cached is None:
            self.reads += 1
            self._cached = Credentials(
                username=self.source["username"],
                password=self.source["password"],
                registry=ref.registry,
            )
        return self._cached

    def invalidate(self, ref: ImageReference) -> None:
        self.invalidated.append(ref)
        self._cached = None


@attrs.define
class SpyProvider:
    """Answers with fixed credentials (or none) and records every question."""

    answer: Credentials | None = None
    name: str = "spy"
    asked: list[ImageReference] = attrs.Factory(list)
    invalidated: list[ImageReference] = attrs.Factory(list)

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        self.asked.append(ref)
        return self.answer

    def invalidate(self, ref: ImageReference) -> None:
        self.invalidated.append(ref)


@attrs.define
class FlakyTokenProvider:
    """Fails to fetch a token ``failures`` times, then answers."""

    failures: int
    name: str = "flaky"
    calls: int = 0

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        self.calls += 1
        if self.calls <= self.failures:
            raise TokenFetchError("token service unreachable", provider=self.name)
        return Credentials(username="AWS", password="token-value", registry=ref.registry)


@pytest.fixture
def fake():
    return FakeDocker()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make(fake, clock):
    def build(providers=None, **options):
        options.setdefault("rng", Fraction(1.0))
        return ContainerOrchestrator(fake, providers, clock=clock, sleep=clock.sleep, **options)

    return build


# -- credentials: which path is taken ----------------------------------------------------


def test_anonymous_pull_sends_an_empty_auth_config(fake, make, caplog):
    digest = fake.add_image(f"{APP}:1.0")
    caplog.set_level(logging.DEBUG, logger="registry_auth.orchestrator")
    result = make().pull(f"{APP}:1.0")
    assert len(fake.pulls) == 1
    sent = fake.pulls[0]
    # {} and not None: None would let docker-py read ~/.docker/config.json by itself.
    assert sent.auth_config_given
    assert not sent.sent_credentials
    assert (sent.repository, sent.tag) == (APP, "1.0")
    assert result.provider is None
    assert result.pulled
    assert result.attempts == 1
    assert result.digest == digest
    assert result.repo_digest == f"{APP}@{digest}"
    assert result.image_id.startswith("sha256:")
    assert result.reference == ImageReference.parse(f"{APP}:1.0")
    assert any("anonymously" in r.getMessage() for r in caplog.records)


def docker_login(home: Path, registry: str, username: str, password: str) -> None:
    """What ``docker login`` leaves in ``~/.docker/config.json`` without a credential store."""
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    path = home / ".docker" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"auths": {registry: {"auth": encoded}}}))


def test_no_providers_means_the_defaults_with_docker_logins(fake, monkeypatch):
    """As docker-py and the docker CLI do, credentials from ``docker login`` are used."""
    home = Path(os.environ["HOME"])
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    orchestrator = ContainerOrchestrator(fake, sleep=lambda seconds: None)
    names = [entry.name for entry in orchestrator.resolver.entries]
    assert names == ["keyring", "docker-config", "ecr"]
    # A login made after the orchestrator was created is seen too.
    docker_login(home, f"https://{REG}/v1/", "alice", "s3cret")
    result = orchestrator.pull(f"{APP}:1.0")
    assert result.provider == "docker-config"
    assert (fake.pulls[0].username, fake.pulls[0].password) == ("alice", Secret("s3cret"))


def test_an_empty_provider_list_means_anonymous_pulls(fake, make):
    docker_login(Path(os.environ["HOME"]), REG, "alice", "s3cret")
    fake.add_image(f"{APP}:1.0")
    assert make([]).resolver.entries == ()
    make([]).pull(f"{APP}:1.0")
    assert not fake.pulls[0].sent_credentials


def test_no_providers_with_a_configuration_file_means_that_file(fake, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        '[[providers]]\nprovider = "static"\nregistry = "r.example"\n'
        'username = "u"\npassword = { env = "NOT_SET_ANYWHERE_42" }\n'
    )
    monkeypatch.setenv("REGISTRY_AUTH_CONFIG", str(config))
    monkeypatch.delenv("NOT_SET_ANYWHERE_42", raising=False)
    orchestrator = ContainerOrchestrator(fake)  # one unreadable entry does not stop the others
    with pytest.raises(ConfigurationError, match="NOT_SET_ANYWHERE_42 is not set"):
        orchestrator.pull("r.example/team/app:1.0")
    assert fake.pulls == []


def test_provider_credentials_are_sent_and_the_provider_is_logged(fake, make, caplog):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    provider = StaticPasswordProvider(
        registry=REG, username="alice", password="s3cret", name="vault"
    )
    caplog.set_level(logging.DEBUG, logger="registry_auth.orchestrator")
    result = make([provider]).pull(f"{APP}:1.0")
    sent = fake.pulls[0]
    assert sent.username == "alice"
    assert sent.password == Secret("s3cret")
    assert sent.server_address == REG
    assert result.provider == "vault"
    messages = [r.getMessage() for r in caplog.records if r.name == "registry_auth.orchestrator"]
    assert any("'vault'" in m for m in messages)
    assert not any("anonymously" in m for m in messages)


def test_explicit_credentials_come_before_the_providers(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    spy = SpyProvider(Credentials(username="bob", password="other", registry=REG))
    result = make([spy]).pull(f"{APP}:1.0", username="alice", password="s3cret")
    assert fake.pulls[0].username == "alice"
    assert spy.asked == []
    assert result.provider == "explicit"


def test_providers_answer_when_no_explicit_credentials(fake, make):
    fake.add_image(f"{APP}:1.0")
    spy = SpyProvider(None)
    make(CredentialResolver([spy])).pull(f"{APP}:1.0")
    assert spy.asked == [ImageReference.parse(f"{APP}:1.0")]


def test_allow_anonymous_false_raises_before_any_pull(fake, make):
    fake.add_image(f"{APP}:1.0")
    with pytest.raises(CredentialsNotFoundError, match=REG) as info:
        make(allow_anonymous=False).pull(f"{APP}:1.0")
    assert info.value.registry == REG
    assert fake.registry_requests == 0


def test_allow_anonymous_false_accepts_explicit_credentials(fake, make):
    fake.add_image(f"{APP}:1.0")
    result = make(allow_anonymous=False).pull(f"{APP}:1.0", username="a", password="b")
    assert result.provider == "explicit"


@pytest.mark.parametrize(
    ("username", "password"), [("alice", None), ("alice", ""), (None, "pw"), ("  ", "pw")]
)
def test_username_and_password_go_together(fake, make, username, password):
    with pytest.raises(ConfigurationError):
        make().pull(f"{APP}:1.0", username=username, password=password)
    assert fake.pulls == []


def test_blank_username_and_password_mean_none(fake, make):
    fake.add_image(f"{APP}:1.0")
    result = make().pull(f"{APP}:1.0", username="", password="")
    assert result.provider is None


def test_providers_argument_forms(fake):
    provider = StaticPasswordProvider(registry=REG, username="a", password="b")
    assert ContainerOrchestrator(fake, []).resolver.entries == ()
    assert ContainerOrchestrator(fake, [provider]).resolver.entries == (provider,)
    resolver = CredentialResolver([provider])
    assert ContainerOrchestrator(fake, resolver).resolver is resolver
    with pytest.raises(TypeError, match="list of providers"):
        ContainerOrchestrator(fake, provider)  # type: ignore[arg-type]


# -- names: the engine stores images under the name users gave -----------------------------


@pytest.mark.parametrize(
    ("image", "tag", "expected"),
    [
        ("ubuntu", None, ("ubuntu", "latest")),
        ("ubuntu:22.04", None, ("ubuntu", "22.04")),
        ("docker.io/library/ubuntu:22.04", None, ("ubuntu", "22.04")),
        ("index.docker.io/hubuser/hello", "v1", ("hubuser/hello", "v1")),
        ("hubuser/hello", "v1", ("hubuser/hello", "v1")),
        (f"{APP}", "1.0", (APP, "1.0")),
        ("[::1]:5000/team/app", "1.0", ("[::1]:5000/team/app", "1.0")),
    ],
)
def test_repository_names_as_docker_gives_them(fake, make, image, tag, expected):
    repository, pulled_tag = expected
    fake.add_image(f"{repository}:{pulled_tag}")
    make().pull(image, tag=tag)
    assert (fake.pulls[0].repository, fake.pulls[0].tag) == (repository, pulled_tag)
    assert fake.inspect_image(f"{repository}:{pulled_tag}")["RepoTags"] == [
        f"{repository}:{pulled_tag}"
    ]


def test_gateway_flow_private_docker_hub(fake, make):
    fake.add_image("hubuser/hello:v1")
    fake.require_credentials("docker.io", {"hubuser": "hub-token"}, scheme="token")
    result = make().pull(
        "hubuser/hello", tag="v1", registry_url="", username="hubuser", password="hub-token"
    )
    sent = fake.pulls[0]
    assert (sent.repository, sent.tag) == ("hubuser/hello", "v1")
    assert sent.server_address == "https://index.docker.io/v1/"
    assert result.reference == ImageReference.parse("hubuser/hello:v1")


@pytest.mark.parametrize("image_name", [f"{ECR}/team/app", "app"])
def test_gateway_flow_ecr(fake, make, image_name):
    fake.add_image(f"{ECR}/team/app:1.0")
    fake.require_credentials(ECR, {"AWS": "ecr-token"})
    result = make().pull(
        image_name,
        tag="1.0",
        registry_url=f"https://{ECR}/team/",
        username="AWS",
        password="ecr-token",
    )
    sent = fake.pulls[0]
    assert (sent.repository, sent.tag) == (f"{ECR}/team/app", "1.0")
    assert sent.server_address == ECR
    assert result.provider == "explicit"


def test_pull_accepts_an_image_reference(fake, make):
    fake.add_image(f"{APP}:2.0")
    result = make().pull(ImageReference.parse(APP), tag="2.0")
    assert result.reference.tag == "2.0"


# -- the gateway's per-container record ------------------------------------------------------


def test_image_config_defaults_and_blanks():
    config = ImageConfig(image_name="hubuser/hello", image_tag=" ", registry_url="", username="")
    assert config.image_tag is None
    assert config.registry_url is None
    assert config.username is None
    assert config.password is None
    assert (config.retries, config.retry_interval, config.timeout) == (5, 30.0, 500.0)
    assert config.reference == ImageReference.parse("hubuser/hello")


def test_image_config_masks_the_password():
    config = ImageConfig(image_name="hubuser/hello", username="hubuser", password="hunter2")
    assert config.password == Secret("hunter2")
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"username": "alice"}, ConfigurationError),
        ({"password": "pw"}, ConfigurationError),
        ({"retries": 0}, ConfigurationError),
        ({"retry_interval": 0}, ConfigurationError),
        ({"timeout": -1}, ConfigurationError),
        ({"image_tag": "bad tag"}, InvalidReferenceError),
        ({"registry_url": "other.example"}, InvalidReferenceError),
    ],
)
def test_image_config_is_checked_when_built(fields, error):
    with pytest.raises(error):
        ImageConfig(image_name=f"{APP}", **fields)


def test_pull_config_maps_every_field(fake, make, clock):
    fake.add_image(f"{ECR}/team/app:1.0")
    fake.require_credentials(ECR, {"AWS": "ecr-token"})
    fake.fail_next(FakeFailure.CONNECTION_REFUSED, times=10)
    config = ImageConfig(
        image_name="app",
        image_tag="1.0",
        registry_url=f"{ECR}/team/",
        username="AWS",
        password=Secret("ecr-token"),
        retries=3,
        retry_interval=2.0,
        timeout=10.0,
    )
    with pytest.raises(RegistryUnavailableError):
        make().pull_config(config)
    assert len(fake.pulls) == 3
    assert clock.sleeps == [2.0, 4.0]
    assert {(p.repository, p.tag, p.username) for p in fake.pulls} == {
        (f"{ECR}/team/app", "1.0", "AWS")
    }


# -- classification: each failure once, typed, not retried unless transient ------------------


def single_failure(fake, make, failure, **pull_options):
    fake.add_image(f"{APP}:1.0")
    if failure is not None:
        fake.fail_next(failure, times=10)
    with pytest.raises(Exception) as info:  # noqa: PT011 - each caller checks the type
        make().pull(f"{APP}:1.0", **pull_options)
    return info.value


def test_wrong_password_fails_at_once(fake, make, clock):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    with pytest.raises(AuthenticationError, match="rejected the credentials") as info:
        make().pull(f"{APP}:1.0", username="alice", password="wrong")
    error = info.value
    assert len(fake.pulls) == 1
    assert clock.sleeps == []
    assert error.provider == "explicit"
    assert error.registry == REG
    assert error.reference == f"{APP}:1.0"
    assert isinstance(error.__cause__, docker.errors.APIError)


def test_no_credentials_on_a_basic_auth_registry(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    with pytest.raises(AuthenticationError, match="none were sent"):
        make().pull(f"{APP}:1.0")
    assert len(fake.pulls) == 1


def test_no_credentials_on_a_token_registry(fake, make):
    fake.add_image("hubuser/private:v1")
    fake.require_credentials("docker.io", {"hubuser": "pw"}, scheme="token")
    with pytest.raises(AuthenticationError, match="requires credentials") as info:
        make().pull("hubuser/private:v1")
    assert isinstance(info.value.__cause__, docker.errors.ImageNotFound)
    assert len(fake.pulls) == 1


def test_missing_repository_on_a_token_registry_with_credentials(fake, make):
    fake.require_credentials("docker.io", {"hubuser": "pw"}, scheme="token")
    with pytest.raises(ImageNotFoundError, match="may not pull it") as info:
        make().pull("hubuser/nothing:v1", username="hubuser", password="pw")
    assert info.value.provider == "explicit"
    assert len(fake.pulls) == 1


def test_missing_tag_fails_at_once(fake, make, clock):
    fake.add_image(f"{APP}:1.0")
    with pytest.raises(ImageNotFoundError, match="not found") as info:
        make().pull(f"{APP}:2.0")
    assert isinstance(info.value.__cause__, docker.errors.NotFound)
    assert len(fake.pulls) == 1
    assert clock.sleeps == []


def test_tls_failures_are_not_retried(fake, make, clock):
    error = single_failure(fake, make, FakeFailure.TLS_UNTRUSTED)
    assert isinstance(error, RegistryUnavailableError)
    assert "TLS" in str(error)
    assert len(fake.pulls) == 1


def test_engine_down_is_docker_unavailable(fake, make):
    error = single_failure(fake, make, FakeFailure.ENGINE_DOWN)
    assert isinstance(error, DockerUnavailableError)
    assert isinstance(error.__cause__, requests.exceptions.ConnectionError)
    assert len(fake.pulls) == 1


def test_unknown_stream_error_is_a_pull_error_not_retried(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.fail_next(
        FakeFailure.STREAM_RESET,
        times=3,
        message="failed to register layer: write /x: no space left on device",
    )
    with pytest.raises(PullError, match="no space left on device") as info:
        make().pull(f"{APP}:1.0")
    assert type(info.value) is PullError
    assert len(fake.pulls) == 1


def test_an_error_line_fails_the_pull_even_after_progress(fake, make, clock):
    fake.add_image(f"{APP}:1.0")
    fake.fail_next(FakeFailure.STREAM_RESET)
    events: list[PullProgress] = []
    result = make().pull(f"{APP}:1.0", progress=events.append)
    # The reset was transient: retried once, then the second pull succeeded.
    assert len(fake.pulls) == 2
    assert result.attempts == 2
    assert len(clock.sleeps) == 1
    assert any(e.status == "Pulling fs layer" for e in events)


def test_platform_mismatch_lists_the_platforms(fake, make):
    fake.add_image(f"{APP}:1.0", platforms=["linux/arm64/v8", "linux/arm/v7", "unknown/unknown"])
    fake.require_credentials(REG, {"alice": "s3cret"})
    with pytest.raises(PlatformMismatchError) as info:
        make().pull(f"{APP}:1.0", username="alice", password="s3cret")
    error = info.value
    assert error.wanted == "linux/amd64"
    assert error.available == ("linux/arm64/v8", "linux/arm/v7")
    assert "linux/arm64/v8, linux/arm/v7" in str(error)
    assert len(fake.pulls) == 1
    # The registry was asked for the manifest list with the same credentials.
    assert [r.username for r in fake.distribution_requests] == ["alice"]


def test_platform_mismatch_when_the_registry_cannot_list_platforms(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    fake.fail_next(FakeFailure.NO_MATCHING_PLATFORM)
    fake.set_password(REG, "alice", "changed")  # so the distribution request is refused
    with pytest.raises(PlatformMismatchError, match="it offers: unknown") as info:
        make().pull(f"{APP}:1.0", username="alice", password="s3cret")
    assert info.value.available == ()
    assert info.value.wanted == "linux/amd64"
    assert len(fake.distribution_requests) == 1


def test_platform_is_passed_to_the_engine(fake, make):
    fake.add_image(f"{APP}:1.0", platforms=["linux/amd64", "linux/arm64/v8"])
    make().pull(f"{APP}:1.0", platform="linux/arm64/v8")
    assert fake.pulls[0].platform == "linux/arm64/v8"


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        FakeFailure.CONNECTION_REFUSED,
        FakeFailure.DNS_FAILURE,
        FakeFailure.SERVICE_UNAVAILABLE,
        FakeFailure.RATE_LIMITED,
    ],
)
def test_transient_failures_are_retried_with_backoff(fake, make, clock, failure):
    error = single_failure(fake, make, failure)
    assert isinstance(error, RegistryUnavailableError)
    assert len(fake.pulls) == 5
    # The top of each full-jitter range: 30 s doubling, capped at 300 s.
    assert clock.sleeps == [30.0, 60.0, 120.0, 240.0]
    assert "gave up after 5 failed attempts" in str(error)
    assert isinstance(error.__cause__, docker.errors.APIError)


def test_backoff_is_capped(fake, make, clock):
    error = single_failure(fake, make, FakeFailure.CONNECTION_REFUSED, retries=7)
    assert isinstance(error, RegistryUnavailableError)
    assert clock.sleeps == [30.0, 60.0, 120.0, 240.0, 300.0, 300.0]


def test_jitter_draws_within_the_range(fake, clock):
    fake.add_image(f"{APP}:1.0")
    fake.fail_next(FakeFailure.CONNECTION_REFUSED, times=2)
    orchestrator = ContainerOrchestrator(fake, clock=clock, sleep=clock.sleep, rng=Fraction(0.25))
    orchestrator.pull(f"{APP}:1.0", retry_interval=8.0)
    assert clock.sleeps == [2.0, 4.0]


def test_retry_then_success(fake, make, clock):
    fake.add_image(f"{APP}:1.0")
    fake.fail_next(FakeFailure.SERVICE_UNAVAILABLE, times=2)
    result = make().pull(f"{APP}:1.0", retry_interval=1.0)
    assert result.attempts == 3
    assert clock.sleeps == [1.0, 2.0]


def test_one_attempt_means_no_retry(fake, make, clock):
    error = single_failure(fake, make, FakeFailure.CONNECTION_REFUSED, retries=1)
    assert isinstance(error, RegistryUnavailableError)
    assert len(fake.pulls) == 1
    assert clock.sleeps == []


def test_retries_are_bounded_in_time(fake, make, clock):
    error = single_failure(
        fake,
        make,
        FakeFailure.CONNECTION_REFUSED,
        retries=50,
        retry_interval=10.0,
        max_elapsed=50.0,
    )
    assert isinstance(error, RegistryUnavailableError)
    # Waits of 10 and 20 s; the next (40 s) would end past 50 s: give up.
    assert clock.sleeps == [10.0, 20.0]
    assert len(fake.pulls) == 3


@pytest.mark.parametrize(
    "options",
    [
        {"retries": 0},
        {"retries": -1},
        {"retry_interval": 0},
        {"timeout": 0},
        {"max_elapsed": -1.0},
        {"policy": "sometimes"},
    ],
)
def test_bad_options_are_refused_before_any_pull(fake, make, options):
    fake.add_image(f"{APP}:1.0")
    with pytest.raises(ConfigurationError):
        make().pull(f"{APP}:1.0", **options)
    assert fake.pulls == []


def test_token_fetch_failures_are_retried(fake, make, clock):
    fake.add_image(f"{ECR}/app:1.0")
    provider = FlakyTokenProvider(failures=2)
    result = make([provider]).pull(f"{ECR}/app:1.0", retry_interval=1.0)
    assert clock.sleeps == [1.0, 2.0]
    assert result.attempts == 1
    assert result.provider == "flaky"


def test_token_fetch_failures_give_up_like_the_registry(fake, make, clock):
    provider = FlakyTokenProvider(failures=100)
    with pytest.raises(TokenFetchError, match="gave up after 3"):
        make([provider]).pull(f"{ECR}/app:1.0", retries=3, retry_interval=1.0)
    assert fake.pulls == []
    assert len(clock.sleeps) == 2


# -- invalidate and retry once ------------------------------------------------------------------


def rotated(fake):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "old"})
    return RotatingProvider(REG, {"username": "alice", "password": "old"})


def test_rejected_provider_credentials_are_refreshed_once(fake, make, clock):
    provider = rotated(fake)
    orchestrator = make([provider])
    orchestrator.pull(f"{APP}:1.0")
    fake.set_password(REG, "alice", "new")
    provider.source["password"] = "new"
    result = orchestrator.pull(f"{APP}:1.0", policy="always")
    assert [p.password for p in fake.pulls] == [Secret("old"), Secret("old"), Secret("new")]
    assert provider.invalidated == [ImageReference.parse(f"{APP}:1.0")]
    assert result.attempts == 2
    assert result.provider == "rotating"
    assert clock.sleeps == []


def test_refreshed_credentials_rejected_again_fail(fake, make):
    provider = rotated(fake)
    assert provider.get_credentials(ImageReference.parse(APP)) is not None  # caches "old"
    fake.set_password(REG, "alice", "newer")
    provider.source["password"] = "new"  # the source is stale too
    with pytest.raises(AuthenticationError, match="after the credentials were refreshed"):
        make([provider]).pull(f"{APP}:1.0")
    assert [p.password for p in fake.pulls] == [Secret("old"), Secret("new")]
    assert len(provider.invalidated) == 1


def test_same_credentials_after_invalidation_are_not_retried(fake, make):
    provider = rotated(fake)
    fake.set_password(REG, "alice", "new")  # the source still says "old"
    with pytest.raises(AuthenticationError, match="no fresh credentials"):
        make([provider]).pull(f"{APP}:1.0")
    assert len(fake.pulls) == 1
    assert len(provider.invalidated) == 1


def test_explicit_credentials_are_never_invalidated(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    spy = SpyProvider(Credentials(username="alice", password="s3cret", registry=REG))
    with pytest.raises(AuthenticationError):
        make([spy]).pull(f"{APP}:1.0", username="alice", password="wrong")
    assert spy.invalidated == []
    assert spy.asked == []
    assert len(fake.pulls) == 1


def test_expired_ecr_token_is_refreshed(fake, make):
    fake.add_image(f"{ECR}/team/app:1.0")
    provider = RotatingProvider(ECR, {"username": "AWS", "password": "token-1"})
    orchestrator = make([provider])
    fake.fail_next(FakeFailure.TOKEN_EXPIRED)
    provider.source["password"] = "token-2"
    provider._cached = Credentials(username="AWS", password="token-1", registry=ECR)
    result = orchestrator.pull(f"{ECR}/team/app:1.0")
    assert [p.password for p in fake.pulls] == [Secret("token-1"), Secret("token-2")]
    assert result.attempts == 2


def test_anonymous_rejection_does_not_invalidate(fake, make):
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": "s3cret"})
    spy = SpyProvider(None)
    with pytest.raises(AuthenticationError):
        make([spy]).pull(f"{APP}:1.0")
    assert spy.invalidated == []
    assert len(fake.pulls) == 1


# -- policies ---------------------------------------------------------------------------------


def test_if_not_present_contacts_no_registry(fake, make):
    fake.add_local_image(f"{APP}:1.0")
    spy = SpyProvider(None)
    result = make([spy]).pull(f"{APP}:1.0")
    assert fake.registry_requests == 0
    assert spy.asked == []
    assert not result.pulled
    assert result.attempts == 0
    assert result.provider is None
    assert result.image_id == fake.inspect_image(f"{APP}:1.0")["Id"]


def test_second_pull_is_served_by_the_engine(fake, make):
    fake.add_image(f"{APP}:1.0")
    orchestrator = make()
    first = orchestrator.pull(f"{APP}:1.0")
    second = orchestrator.pull(f"{APP}:1.0")
    assert fake.registry_requests == 1
    assert second.image_id == first.image_id
    assert second.digest == first.digest
    assert not second.pulled


def test_always_pulls_even_when_present(fake, make):
    fake.add_image(f"{APP}:1.0")
    orchestrator = make()
    orchestrator.pull(f"{APP}:1.0")
    orchestrator.pull(f"{APP}:1.0", policy=PullPolicy.ALWAYS)
    assert len(fake.pulls) == 2


def test_never_fails_without_contacting_the_registry(fake, make):
    fake.add_image(f"{APP}:1.0")
    spy = SpyProvider(None)
    with pytest.raises(ImageNotFoundError, match="'never'"):
        make([spy]).pull(f"{APP}:1.0", policy="never")
    assert fake.registry_requests == 0
    assert spy.asked == []


def test_never_uses_the_image_in_the_engine(fake, make):
    image_id = fake.add_local_image(f"{APP}:1.0")
    result = make().pull(f"{APP}:1.0", policy="never")
    assert result.image_id == image_id
    assert fake.registry_requests == 0


def test_engine_down_while_checking_the_engine(fake, make, monkeypatch):
    def refuse(image):
        raise requests.exceptions.ConnectionError("Connection aborted.")

    monkeypatch.setattr(fake, "inspect_image", refuse)
    with pytest.raises(DockerUnavailableError):
        make().pull(f"{APP}:1.0")
    assert fake.registry_requests == 0


# -- digests ----------------------------------------------------------------------------------


def test_pull_by_digest(fake, make):
    digest = fake.add_image(f"{APP}:1.0")
    result = make().pull(f"{APP}@{digest}")
    assert (fake.pulls[0].repository, fake.pulls[0].tag) == (APP, digest)
    assert fake.tags == []
    assert result.digest == digest
    assert result.reference.tag is None


def test_expected_digest_pulls_by_digest_then_tags(fake, make):
    digest = fake.add_image(f"{APP}:1.0")
    result = make().pull(APP, tag="1.0", expected_digest=digest)
    assert fake.pulls[0].tag == digest
    assert fake.tags == [(f"{APP}@{digest}", APP, "1.0")]
    assert fake.inspect_image(f"{APP}:1.0")["Id"] == result.image_id
    assert result.reference == ImageReference.parse(f"{APP}:1.0@{digest}")
    assert result.digest == digest


def test_expected_digest_without_tag_tags_latest(fake, make):
    digest = fake.add_image(f"{APP}:latest")
    make().pull(APP, expected_digest=digest)
    assert fake.tags == [(f"{APP}@{digest}", APP, "latest")]


def test_a_moved_tag_cannot_slip_through(fake, make):
    verified = fake.add_image(f"{APP}:1.0")
    fake.add_image(f"{APP}:1.0")  # the tag moves to another image
    make().pull(f"{APP}:1.0", expected_digest=verified)
    # What the engine now calls app:1.0 is the verified image, not what the tag points to.
    assert fake.inspect_image(f"{APP}:1.0")["RepoDigests"] == [f"{APP}@{verified}"]


def test_digest_mismatch_when_the_tag_moved_and_the_digest_is_gone(fake, make, clock):
    current = fake.add_image(f"{APP}:1.0")
    with pytest.raises(DigestMismatchError) as info:
        make().pull(f"{APP}:1.0", expected_digest=UNKNOWN_DIGEST)
    error = info.value
    assert error.expected == UNKNOWN_DIGEST
    assert error.actual == current
    assert "now points to" in str(error)
    assert len(fake.pulls) == 1
    assert clock.sleeps == []
    assert isinstance(error.__cause__, docker.errors.NotFound)


def test_digest_gone_and_tag_gone_is_not_found(fake, make):
    fake.add_image(f"{APP}:1.0")
    with pytest.raises(ImageNotFoundError):
        make().pull(f"{APP}:2.0", expected_digest=UNKNOWN_DIGEST)


def test_engine_recording_another_digest_is_a_mismatch(fake, make):
    digest = fake.add_image(f"{APP}:1.0")
    fake.fail_next(FakeFailure.WRONG_DIGEST)
    with pytest.raises(DigestMismatchError) as info:
        make().pull(f"{APP}:1.0", expected_digest=digest)
    assert info.value.expected == digest
    assert info.value.actual not in {None, digest}
    assert fake.tags == []


def test_reference_digest_and_expected_digest_must_agree(fake, make):
    digest = fake.add_image(f"{APP}:1.0")
    with pytest.raises(ConfigurationError, match="expected_digest"):
        make().pull(f"{APP}@{digest}", expected_digest=UNKNOWN_DIGEST)
    assert fake.pulls == []


def test_invalid_expected_digest(fake, make):
    with pytest.raises(InvalidReferenceError):
        make().pull(f"{APP}:1.0", expected_digest="sha256:abc")


def test_if_not_present_with_digest_tags_without_pulling(fake, make):
    digest = fake.add_image(f"{APP}:1.0")
    orchestrator = make()
    orchestrator.pull(f"{APP}@{digest}")
    result = orchestrator.pull(f"{APP}:stable", expected_digest=digest)
    assert len(fake.pulls) == 1
    assert not result.pulled
    assert fake.inspect_image(f"{APP}:stable")["Id"] == result.image_id


def test_if_not_present_with_digest_pulls_when_the_local_tag_is_another_image(fake, make):
    fake.add_local_image(f"{APP}:1.0")
    digest = fake.add_image(f"{APP}:1.0")
    result = make().pull(f"{APP}:1.0", expected_digest=digest)
    assert result.pulled
    assert fake.inspect_image(f"{APP}:1.0")["Id"] == result.image_id


# -- progress -----------------------------------------------------------------------------------


def test_progress_events(fake, make):
    fake.add_image(f"{APP}:1.0", layers=2)
    events: list[PullProgress] = []
    make().pull(f"{APP}:1.0", progress=events.append)
    assert events[0] == PullProgress(id="1.0", status="Pulling from team/app")
    downloading = [e for e in events if e.status == "Downloading"]
    assert len(downloading) == 4
    assert {e.total for e in downloading} == {1024}
    assert downloading[0].current == 512
    assert len({e.id for e in downloading}) == 2
    assert events[-1].id is None
    assert events[-1].status.startswith("Status: Downloaded newer image")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        events[0].status = "x"  # type: ignore[misc]


def test_a_failing_progress_callback_stops_the_pull(fake, make):
    fake.add_image(f"{APP}:1.0")

    def explode(event):
        raise RuntimeError("callback bug")

    with pytest.raises(RuntimeError, match="callback bug"):
        make().pull(f"{APP}:1.0", progress=explode)
    assert len(fake.pulls) == 1


# -- timeouts ----------------------------------------------------------------------------------


def test_timeout_is_enforced_across_the_stream(clock):
    fake = FakeDocker(on_line=lambda line: setattr(clock, "now", clock.now + 100.0))
    fake.add_image(f"{APP}:1.0", layers=3)
    orchestrator = ContainerOrchestrator(fake, clock=clock, sleep=clock.sleep, rng=Fraction(0))
    with pytest.raises(PullTimeoutError, match="did not finish within 250 s") as info:
        orchestrator.pull(f"{APP}:1.0", timeout=250.0, retries=2, max_elapsed=1e6)
    assert "gave up after 2" in str(info.value)
    assert len(fake.pulls) == 2


@pytest.mark.parametrize("failure", [FakeFailure.HANG, FakeFailure.STALL])
def test_a_hung_engine_times_out(failure):
    fake = FakeDocker()
    fake.add_image(f"{APP}:1.0")
    fake.fail_next(failure)
    orchestrator = ContainerOrchestrator(fake, sleep=lambda seconds: None)
    try:
        with pytest.raises(PullTimeoutError):
            orchestrator.pull(f"{APP}:1.0", timeout=0.2, retries=1)
    finally:
        fake.release()
    assert len(fake.pulls) == 1


class _SilentEngineStream:
    """A pull stream shaped as docker-py's: a generator over a response whose connection's
    socket is real; the engine sends one line, then nothing, as a stalled registry does."""

    def __init__(self):
        self.engine_end, self.client_end = socket.socketpair()
        self.engine_end.sendall(b'{"status": "Pulling from team/app"}\n')

    def pull(self, *_args, **_kwargs):
        connection = types.SimpleNamespace(sock=self.client_end)
        return self._lines(types.SimpleNamespace(raw=types.SimpleNamespace(connection=connection)))

    @staticmethod
    def _lines(response):
        reader = response.raw.connection.sock.makefile("rb")
        for line in reader:  # blocks in recv() once the first line is read
            yield json.loads(line)

    def close(self):
        self.engine_end.close()
        self.client_end.close()


def _pull_threads():
    return [t for t in threading.enumerate() if t.name == "registry-auth-pull" and t.is_alive()]


def test_a_pull_that_times_out_leaves_no_reader_thread_behind():
    fake = FakeDocker()
    fake.add_image(f"{APP}:1.0")
    silent = _SilentEngineStream()
    fake.pull = silent.pull  # type: ignore[method-assign]  # the engine stalls mid-stream
    orchestrator = ContainerOrchestrator(fake, sleep=lambda seconds: None)
    others = set(_pull_threads())  # other tests' pulls may still be ending
    try:
        with pytest.raises(PullTimeoutError):
            orchestrator.pull(f"{APP}:1.0", timeout=0.2, retries=1)
        # this pull's reader was woken from its read and has ended, not left blocked
        assert set(_pull_threads()) - others == set()
    finally:
        silent.close()


# -- the engine client ----------------------------------------------------------------------


def test_the_client_is_created_lazily(monkeypatch, fake):
    calls = []

    def from_env(**kwargs):
        calls.append(kwargs)
        return fake

    monkeypatch.setattr(docker, "from_env", from_env)
    orchestrator = ContainerOrchestrator(engine_timeout=12.5)
    assert calls == []
    fake.add_image(f"{APP}:1.0")
    orchestrator.pull(f"{APP}:1.0")
    orchestrator.pull(f"{APP}:1.0")
    assert calls == [{"timeout": 13}]
    assert orchestrator.docker_client is fake


def test_no_engine_is_docker_unavailable(monkeypatch):
    def from_env(**kwargs):
        raise docker.errors.DockerException(
            "Error while fetching server API version: ('Connection aborted.', "
            "FileNotFoundError(2, 'No such file or directory'))"
        )

    monkeypatch.setattr(docker, "from_env", from_env)
    with pytest.raises(DockerUnavailableError, match="no container engine") as info:
        ContainerOrchestrator().pull(f"{APP}:1.0")
    assert isinstance(info.value.__cause__, docker.errors.DockerException)


# docker-py drops its socket unclosed when from_env() fails; it is collected here, in the test.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_no_engine_names_the_socket_from_docker_host(monkeypatch, tmp_path):
    socket = tmp_path / "nothing-listens.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    with pytest.raises(DockerUnavailableError) as info:
        ContainerOrchestrator(engine_timeout=2).pull(f"{APP}:1.0")
    message = str(info.value)
    assert f"no container engine answered at unix://{socket} (from DOCKER_HOST): " in message
    assert isinstance(info.value.__cause__, docker.errors.DockerException)
    del info
    gc.collect()


def test_no_engine_names_the_default_socket(monkeypatch):
    def from_env(**kwargs):
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(docker, "from_env", from_env)
    with pytest.raises(DockerUnavailableError) as info:
        ContainerOrchestrator().pull(f"{APP}:1.0")
    assert str(info.value).startswith(
        "no container engine answered at unix:///var/run/docker.sock "
        "(the default: DOCKER_HOST is not set): "
    )


@pytest.mark.parametrize(
    ("docker_host", "shown"),
    [
        ("tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"),
        ("ssh://deploy@edge.example.com", "ssh://deploy@edge.example.com"),
        ("ssh://deploy:hunter2@edge.example.com:22/x", "ssh://deploy:***@edge.example.com:22/x"),
    ],
)
def test_the_engine_address_never_shows_a_password(monkeypatch, docker_host, shown):
    def from_env(**kwargs):
        raise docker.errors.DockerException("refused")

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    monkeypatch.setattr(docker, "from_env", from_env)
    with pytest.raises(DockerUnavailableError) as info:
        ContainerOrchestrator().pull(f"{APP}:1.0")
    assert f"answered at {shown} (from DOCKER_HOST): refused" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_close_closes_only_a_client_it_created(monkeypatch):
    closed = []

    class Closing(FakeDocker):
        def close(self):
            closed.append(self)

    given = Closing()
    with ContainerOrchestrator(given):
        pass
    assert closed == []

    created = Closing()
    monkeypatch.setattr(docker, "from_env", lambda **kwargs: created)
    with ContainerOrchestrator() as orchestrator:
        assert orchestrator.docker_client is created
    assert closed == [created]


def test_importing_the_orchestrator_does_not_import_docker():
    code = textwrap.dedent(
        """
        import sys
        import registry_auth._orchestrator
        import registry_auth._pull_errors
        import registry_auth._retry
        assert "docker" not in sys.modules, "docker was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- secrets ------------------------------------------------------------------------------------

SECRET = "pa55-w0rd-value"


def test_secrets_never_show(fake, make, caplog):
    caplog.set_level(logging.DEBUG)
    fake.add_image(f"{APP}:1.0")
    fake.require_credentials(REG, {"alice": SECRET})
    provider = RotatingProvider(REG, {"username": "alice", "password": SECRET})
    orchestrator = make([provider])
    shown: list[str] = [repr(orchestrator)]

    # Retries with an engine error that echoes the password back.
    fake.fail_next(FakeFailure.STREAM_RESET, times=2, message=f"connection reset: {SECRET}")
    result = orchestrator.pull(f"{APP}:1.0", retry_interval=1.0)
    shown += [repr(result), str(result)]

    # A rejection, an invalidation and a refresh.
    fake.set_password(REG, "alice", "other")
    with pytest.raises(AuthenticationError) as rejected:
        orchestrator.pull(f"{APP}:1.0", policy="always")
    shown += [str(rejected.value), repr(rejected.value)]

    # Explicit credentials, echoed back in a failure that is not retried.
    fake.fail_next(FakeFailure.STREAM_RESET, message=f"no space left on device {SECRET}")
    with pytest.raises(PullError) as info:
        orchestrator.pull(f"{APP}:1.0", username="alice", password=SECRET, policy="always")
    shown += [str(info.value), repr(info.value)]
    assert "********" in str(info.value)

    shown += [repr(ImageConfig(image_name=APP, username="alice", password=SECRET))]
    shown += [r.getMessage() for r in caplog.records]
    shown += [repr(r.args) for r in caplog.records]
    assert any("retrying" in s for s in shown)
    for text in shown:
        assert SECRET not in text


def test_results_are_frozen(fake, make):
    fake.add_image(f"{APP}:1.0")
    result = make().pull(f"{APP}:1.0")
    assert isinstance(result, PullResult)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.pulled = False  # type: ignore[misc]


def test_concurrent_pulls_share_one_orchestrator(fake, make):
    for n in range(4):
        fake.add_image(f"{APP}:{n}")
    orchestrator = make()
    results: list[PullResult] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(orchestrator.pull(f"{APP}:{n}")))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.reference.tag or "" for r in results) == ["0", "1", "2", "3"]
