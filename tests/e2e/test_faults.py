"""Fault injection against the real stack: what each failure turns into, in bounded attempts.

Registry-side faults go through a :class:`FaultProxy` inside the lab (where dockerd lives);
AWS-side faults through one in front of moto, in this process's namespace. Components a test
must break (a registry, the token server, dockerd) are restored before it ends, and the two
that other tests cannot do without (the token server, dockerd) are broken only in a private
stack, so test order does not matter. Sleeps between retries are recorded, not slept, and every
assertion counts attempts or requests, never seconds.
"""

from __future__ import annotations

import datetime as dt
import gc
import http.client
import http.server
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import boto3
import pytest

from registry_auth import (
    ContainerOrchestrator,
    DockerUnavailableError,
    EcrProvider,
    ImageReference,
    PullTimeoutError,
    RegistryUnavailableError,
    TokenCache,
    TokenFetchError,
)
from registry_auth._cache import CacheKey
from tests.lab.faults import (
    FaultProxy,
    Forward,
    Reset,
    Respond,
    Stall,
    TlsIdentity,
    wait_listening,
)
from tests.lab.stack import ECR_ACCOUNT, ECR_REGION, Image, LocalStack, SampleImages

pytestmark = pytest.mark.e2e

ECR_HOST = f"{ECR_ACCOUNT}.dkr.ecr.{ECR_REGION}.amazonaws.com"
ECR_IMAGE = ImageReference.parse(f"{ECR_HOST}/team/app:1.0")
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


@attrs.define
class PullCounter:
    """A docker client that records each pull started through it."""

    client: Any
    pulls: list[str] = attrs.Factory(list)

    @property
    def api(self) -> PullCounter:
        return self

    def pull(self, repository: str, **options: Any) -> Any:
        self.pulls.append(repository)
        return self.client.api.pull(repository, **options)

    def inspect_image(self, image: str) -> Any:
        return self.client.api.inspect_image(image)

    def inspect_distribution(self, image: str, **options: Any) -> Any:
        return self.client.api.inspect_distribution(image, **options)

    def tag(self, image: str, repository: str, **options: Any) -> Any:
        return self.client.api.tag(image, repository, **options)


@attrs.frozen
class Rig:
    orchestrator: ContainerOrchestrator
    counter: PullCounter
    sleeps: list[float]


def make_rig(client: Any, providers: Any = None) -> Rig:
    counter = PullCounter(client)
    sleeps: list[float] = []
    return Rig(ContainerOrchestrator(counter, providers, sleep=sleeps.append), counter, sleeps)


@pytest.fixture
def rig(docker_client) -> Rig:
    return make_rig(docker_client)


@pytest.fixture
def lab_proxy(local_stack: LocalStack) -> Iterator[Any]:
    """Start FaultProxies inside the shared stack's lab; all are stopped at teardown."""
    started: list[FaultProxy] = []

    def start(**options: Any) -> FaultProxy:
        proxy = FaultProxy(netns=local_stack.lab.namespace.path, **options)
        started.append(proxy.start())
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def proxied_name(proxy: FaultProxy, repository: str, tag: str) -> str:
    return f"127.0.0.1:{proxy.address[1]}/{repository}:{tag}"


# -- the proxy itself, in this namespace -------------------------------------------------------


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello from upstream"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[tuple[str, int]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


def fetch(proxy: FaultProxy, timeout: float = 10) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(*proxy.address, timeout=timeout)
    try:
        connection.request("GET", "/v2/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_fault_proxy_plays_a_sequence_of_faults_then_forwards(upstream):
    with FaultProxy(upstream=upstream) as proxy:
        proxy.set_sequence([Respond(status=503, body=b"busy"), Reset()], then=Forward())
        assert fetch(proxy) == (503, b"busy")
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
            fetch(proxy)
        assert fetch(proxy) == (200, b"hello from upstream")
        assert proxy.connections == 3
        assert [(r.method, r.target, r.connection) for r in proxy.requests] == [("GET", "/v2/", 0)]
        assert proxy.bytes_to_client > len(b"hello from upstream")
        assert proxy.wait_relayed(proxy.bytes_to_client, timeout=1)
        assert wait_listening(proxy.address, timeout=5)
        address = proxy.address
    assert not wait_listening(address, timeout=0.2)


def test_fault_proxy_stall_holds_the_request_unanswered(upstream):
    with FaultProxy(upstream=upstream, behaviour=Stall()) as proxy:
        with pytest.raises(TimeoutError):
            fetch(proxy, timeout=0.5)
        assert [r.target for r in proxy.requests] == ["/v2/"]
        assert proxy.bytes_to_client == 0


# -- the registry: killed, failing, slow, untrusted -----------------------------------------


def test_registry_killed_mid_pull_fails_typed_after_bounded_retries(
    local_stack: LocalStack, rig: Rig, lab_proxy, request
):
    registry = local_stack.private
    layer_size = 6 * 1024 * 1024
    big = Image.build(files={"big.bin": os.urandom(layer_size), "id": request.node.nodeid})
    pushed = registry.push(big, "faults/big", "1")
    # A proxy slows the download down enough for the registry to die in the middle of it.
    proxy = lab_proxy(upstream=(registry.address.ip, registry.address.port))
    proxy.set(Forward(rate=1024 * 1024))
    name = proxied_name(proxy, "faults/big", "1")
    killed: list[int] = []

    def kill_when_downloading(event):
        if not killed and event.status == "Downloading":
            killed.append(proxy.bytes_to_client)
            registry.stop()

    try:
        with pytest.raises(RegistryUnavailableError) as caught:
            rig.orchestrator.pull(
                name,
                username="alice",
                password=registry.password("alice"),
                policy="always",
                retries=2,
                retry_interval=0.05,
                timeout=3,
                progress=kill_when_downloading,
            )
    finally:
        registry.start()
    assert killed, "the registry was never seen downloading"
    assert 0 < proxy.bytes_to_client < layer_size  # cut in the middle of the layer
    assert "gave up after 2 failed attempts" in str(caught.value)
    assert caught.value.registry == f"127.0.0.1:{proxy.address[1]}"
    assert len(rig.counter.pulls) == 2
    assert len(rig.sleeps) == 1
    # The registry is back: the same pull now completes, with the pushed content.
    proxy.set(Forward())
    result = rig.orchestrator.pull(
        name, username="alice", password=registry.password("alice"), policy="always"
    )
    assert result.digest == pushed.digest


@pytest.mark.parametrize("status", [503, 500])
def test_server_errors_are_retried_then_unavailable(
    local_stack: LocalStack, sample_images: SampleImages, rig: Rig, lab_proxy, status
):
    ecr = local_stack.ecr
    tls = TlsIdentity(
        certificate=local_stack.lab.tls.certificate_chain, key=local_stack.lab.tls.key
    )
    with ecr.down():
        proxy = lab_proxy(
            listen=(ecr.address.ip, ecr.address.port), tls=tls, behaviour=Respond(status=status)
        )
        try:
            with pytest.raises(RegistryUnavailableError) as caught:
                rig.orchestrator.pull(
                    sample_images.ecr.reference,
                    username="AWS",
                    password=ecr.password("AWS"),
                    policy="always",
                    retries=3,
                    retry_interval=0.05,
                )
        finally:
            proxy.stop()
    assert f"HTTP status: {status}" in str(caught.value)
    assert "gave up after 3 failed attempts" in str(caught.value)
    assert caught.value.registry == ECR_HOST
    assert len(rig.counter.pulls) == 3
    assert len(rig.sleeps) == 2
    assert proxy.requests  # the engine did reach the failing "registry"
    assert all(r.target.startswith("/v2/") for r in proxy.requests)


def test_registry_slower_than_the_timeout(local_stack: LocalStack, rig: Rig, lab_proxy, request):
    registry = local_stack.private
    pushed = registry.push(Image.build(files={"id": request.node.nodeid}), "faults/slow", "1")
    proxy = lab_proxy(
        upstream=(registry.address.ip, registry.address.port), behaviour=Forward(delay=120)
    )
    name = proxied_name(proxy, "faults/slow", "1")
    password = registry.password("alice")
    with pytest.raises(PullTimeoutError) as caught:
        rig.orchestrator.pull(
            name,
            username="alice",
            password=password,
            policy="always",
            retries=2,
            retry_interval=0.05,
            timeout=1,
        )
    assert "did not finish within 1 s" in str(caught.value)
    assert "gave up after 2 failed attempts" in str(caught.value)
    assert len(rig.counter.pulls) == 2
    assert proxy.bytes_to_client == 0
    # The same registry without the delay: the pull goes through.
    proxy.set(Forward())
    result = rig.orchestrator.pull(name, username="alice", password=password, policy="always")
    assert result.digest == pushed.digest


def test_registry_that_never_answers_on_a_verified_name(
    local_stack: LocalStack, sample_images: SampleImages, rig: Rig, lab_proxy
):
    ecr = local_stack.ecr
    tls = TlsIdentity(
        certificate=local_stack.lab.tls.certificate_chain, key=local_stack.lab.tls.key
    )
    with ecr.down():
        proxy = lab_proxy(listen=(ecr.address.ip, ecr.address.port), tls=tls, behaviour=Stall())
        try:
            with pytest.raises(PullTimeoutError):
                rig.orchestrator.pull(
                    sample_images.ecr.reference,
                    username="AWS",
                    password=ecr.password("AWS"),
                    policy="always",
                    retries=2,
                    retry_interval=0.05,
                    timeout=1,
                )
        finally:
            proxy.stop()
    assert len(rig.counter.pulls) == 2
    assert [r.target for r in proxy.requests][:1] == ["/v2/"]


@pytest.mark.parametrize("registry", ["hub", "ecr"])
def test_untrusted_certificate_fails_at_once_and_sends_nothing(
    local_stack: LocalStack, sample_images: SampleImages, rig: Rig, lab_proxy, tmp_path, registry
):
    target = local_stack.registries[registry]
    pushed = getattr(sample_images, registry)
    username = target.usernames()[0]
    names = [target.host, "index.docker.io"] if registry == "hub" else [target.host]
    impostor = TlsIdentity.untrusted(tmp_path, names)
    with target.down():
        proxy = lab_proxy(
            listen=(target.address.ip, target.address.port),
            tls=impostor,
            behaviour=Respond(status=200, body=b"{}"),
        )
        try:
            with pytest.raises(RegistryUnavailableError) as caught:
                rig.orchestrator.pull(
                    pushed.reference,
                    username=username,
                    password=target.password(username),
                    policy="always",
                    retries=3,
                    retry_interval=0.05,
                )
        finally:
            proxy.stop()
    message = str(caught.value)
    assert "TLS connection" in message
    assert "certificate" in message
    assert len(rig.counter.pulls) == 1  # a trust problem is not retried
    assert rig.sleeps == []
    assert proxy.tls_failures >= 1
    assert proxy.requests == []  # no request (and so no credential) crossed that connection


# -- AWS (moto): throttled, down; the token cache on disk -----------------------------------


def twelve_hours_from(clock):
    def hook(parsed, **_):
        # moto dates every token 2015-01-01; a real one lives 12 hours.
        for entry in parsed.get("authorizationData", []):
            entry["expiresAt"] = clock() + dt.timedelta(hours=12)

    return hook


@attrs.define
class Clock:
    now: dt.datetime = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws_session(clock, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=ECR_REGION
    )
    session.events.register("after-call.ecr.GetAuthorizationToken", twelve_hours_from(clock))
    return session


@pytest.fixture
def moto_proxy(local_stack: LocalStack) -> Iterator[FaultProxy]:
    upstream = ("127.0.0.1", local_stack.moto.port)
    with FaultProxy(upstream=upstream) as proxy:
        yield proxy


def ecr_provider(session, proxy: FaultProxy, cache: TokenCache) -> EcrProvider:
    return EcrProvider(
        session=session, endpoint_url=proxy.url, max_attempts=2, timeout=5, cache=cache
    )


def cache_key(provider: EcrProvider) -> CacheKey:
    (key,) = provider.cache.keys()
    return key


def test_throttled_aws_without_a_cached_token(aws_session, moto_proxy, clock, tmp_path):
    moto_proxy.set(Respond.aws_throttling())
    cache = TokenCache(path=tmp_path / "cache", clock=clock)
    provider = ecr_provider(aws_session, moto_proxy, cache)
    with pytest.raises(TokenFetchError) as caught:
        provider.get_credentials(ECR_IMAGE)
    assert caught.value.registry == ECR_HOST
    assert ECR_HOST in str(caught.value)
    assert "ThrottlingException" in str(caught.value)
    assert len(moto_proxy.requests) == 2  # botocore's attempts, bounded by max_attempts
    assert cache.keys() == []


def test_throttled_or_unreachable_aws_serves_the_cached_token(
    aws_session, moto_proxy, clock, tmp_path, caplog
):
    cache_dir = tmp_path / "cache"
    provider = ecr_provider(aws_session, moto_proxy, TokenCache(path=cache_dir, clock=clock))
    first = provider.get_credentials(ECR_IMAGE)
    key = cache_key(provider)
    clock.now += dt.timedelta(hours=7)  # past half its life: due for a refresh, still valid
    caplog.set_level(logging.WARNING, logger="registry_auth.cache")
    for fault in (Respond.aws_throttling(), Reset()):
        moto_proxy.set(fault)
        before = moto_proxy.connections
        served = provider.get_credentials(ECR_IMAGE)
        assert served.password == first.password
        assert moto_proxy.connections > before  # AWS was asked, and failed
    assert "serving the cached token" in caplog.text
    # Nothing was lost: the entry is still in memory and on disk.
    assert provider.cache.peek(key) is not None

    def still_down():
        raise ConnectionError("AWS is still unreachable")

    reread = TokenCache(path=cache_dir, clock=clock)  # a new process, with only the disk
    assert reread.get_or_fetch(key, still_down).password == first.password
    # Once the token has expired, the failure is the caller's, naming the registry.
    clock.now += dt.timedelta(hours=6)
    with pytest.raises(TokenFetchError) as caught:
        provider.get_credentials(ECR_IMAGE)
    assert caught.value.registry == ECR_HOST


def test_aws_down_is_a_token_fetch_error(aws_session, moto_proxy, clock):
    provider = ecr_provider(aws_session, moto_proxy, TokenCache(clock=clock))
    moto_proxy.stop()  # nothing listens there any more: connection refused
    with pytest.raises(TokenFetchError) as caught:
        provider.get_credentials(ECR_IMAGE)
    assert caught.value.registry == ECR_HOST
    assert "EndpointConnectionError" in str(caught.value)


def test_pull_waits_out_throttling_then_succeeds(
    local_stack: LocalStack, sample_images: SampleImages, docker_client, aws_session, moto_proxy
):
    provider = ecr_provider(aws_session, moto_proxy, TokenCache())
    rig = make_rig(docker_client, [provider])
    moto_proxy.set(Respond.aws_throttling())
    with pytest.raises(TokenFetchError) as caught:
        rig.orchestrator.pull(
            sample_images.ecr.reference, policy="always", retries=2, retry_interval=0.05
        )
    assert "gave up after 2 failed attempts" in str(caught.value)
    assert rig.counter.pulls == []  # no pull without a token
    assert len(rig.sleeps) == 1
    assert len(moto_proxy.requests) == 4  # 2 pull attempts x 2 AWS attempts
    moto_proxy.set(Forward())
    result = rig.orchestrator.pull(sample_images.ecr.reference, policy="always")
    assert result.provider == "ecr"
    assert result.digest == sample_images.ecr.digest


def test_corrupted_cache_file_is_ignored_and_rewritten(
    aws_session, moto_proxy, clock, tmp_path, caplog
):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / "tokens.json").write_bytes(b'{"format": "registry-auth/token-cache", "entr')
    provider = ecr_provider(aws_session, moto_proxy, TokenCache(path=cache_dir, clock=clock))
    caplog.set_level(logging.WARNING, logger="registry_auth.cache")
    credentials = provider.get_credentials(ECR_IMAGE)
    assert credentials is not None
    assert "ignoring the token cache file" in caplog.text
    document = json.loads((cache_dir / "tokens.json").read_text())
    assert [entry["registry"] for entry in document["entries"]] == [ECR_HOST]


@pytest.mark.parametrize("damage", ["file-is-a-directory", "directory-open-to-others"])
def test_unusable_cache_keeps_tokens_in_memory(
    aws_session, moto_proxy, clock, tmp_path, caplog, damage
):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    if damage == "file-is-a-directory":
        (cache_dir / "tokens.json").mkdir()
    else:
        cache_dir.chmod(0o755)
    provider = ecr_provider(aws_session, moto_proxy, TokenCache(path=cache_dir, clock=clock))
    caplog.set_level(logging.WARNING, logger="registry_auth.cache")
    first = provider.get_credentials(ECR_IMAGE)
    requests = moto_proxy.connections
    again = provider.get_credentials(ECR_IMAGE)
    assert again.password == first.password
    assert moto_proxy.connections == requests  # served from memory, not fetched again
    assert not provider.cache.persistent
    assert "in memory only" in caplog.text
    assert not (cache_dir / "tokens.json").is_file()


_WRITER = """
import datetime as dt, sys
from registry_auth import Credentials, TokenCache
from registry_auth._cache import CacheKey
directory, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
now = dt.datetime.now(dt.timezone.utc)
cache = TokenCache(path=directory)
for index in range(count):
    registry = f"r{worker}-{index}.example"
    cache.get_or_fetch(
        CacheKey(provider="faults", registry=registry),
        lambda: Credentials(username="u", password=f"pw-{worker}-{index}", registry=registry,
                            expires_at=now + dt.timedelta(hours=12)),
    )
"""


def test_two_processes_writing_the_cache_at_once_lose_nothing(tmp_path):
    cache_dir = tmp_path / "cache"
    workers, count = 4, 15
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(cache_dir), str(worker), str(count)],
            stderr=subprocess.PIPE,
        )
        for worker in range(workers)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr
    cache = TokenCache(path=cache_dir)
    for worker in range(workers):
        for index in range(count):
            key = CacheKey(provider="faults", registry=f"r{worker}-{index}.example")
            found = cache.get_or_fetch(key, lambda: pytest.fail("an entry was lost"))
            assert found.password.reveal() == f"pw-{worker}-{index}"
    assert (cache_dir / "tokens.json").stat().st_mode & 0o777 == 0o600


# -- components other tests need: broken in a private stack, and restored -------------------


@pytest.fixture(scope="module")
def fragile_stack() -> Iterator[LocalStack]:
    """A stack of this module's own, for the faults that take shared pieces down."""
    with LocalStack(namespace_prefix="ra-faults") as stack:
        yield stack


@pytest.fixture(scope="module")
def fragile_samples(fragile_stack: LocalStack) -> SampleImages:
    return fragile_stack.publish_samples()


@pytest.mark.parametrize("registry", ["token", "hub"])
def test_token_server_down(fragile_stack: LocalStack, fragile_samples: SampleImages, registry):
    target = fragile_stack.registries[registry]
    pushed = getattr(fragile_samples, registry)
    username = target.usernames()[0]
    token_server = fragile_stack._token_server  # the stack offers no public handle on it
    assert token_server is not None
    assert token_server.process is not None
    client = fragile_stack.docker_client()
    rig = make_rig(client)
    token_server.process.stop()
    try:
        with pytest.raises(RegistryUnavailableError) as caught:
            rig.orchestrator.pull(
                pushed.reference,
                username=username,
                password=target.password(username),
                policy="always",
                retries=2,
                retry_interval=0.05,
            )
    finally:
        token_server.launch(fragile_stack.lab)
        assert wait_listening(
            ("127.0.0.1", 5601), netns=fragile_stack.lab.namespace.path, timeout=30
        )
    assert "connection refused" in str(caught.value)
    assert "token" in str(caught.value)
    assert len(rig.counter.pulls) == 2
    result = rig.orchestrator.pull(
        pushed.reference, username=username, password=target.password(username), policy="always"
    )
    assert result.digest == pushed.digest
    client.close()


def _raised(call) -> BaseException:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned for the test to look at
        return exc
    pytest.fail("no exception")


# docker-py and urllib3 drop their socket unclosed when the engine's socket vanishes under them
# (and when docker.from_env() fails); those sockets are collected here, inside the test.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_dockerd_down(fragile_stack: LocalStack, fragile_samples: SampleImages, monkeypatch):
    pushed = fragile_samples.private
    password = fragile_stack.private.password("alice")
    client = fragile_stack.docker_client()
    rig = make_rig(client)
    monkeypatch.setenv("DOCKER_HOST", fragile_stack.docker_base_url)
    fragile_stack.docker.stop()
    try:
        errors = [
            _raised(
                lambda policy=policy: rig.orchestrator.pull(
                    pushed.reference,
                    username="alice",
                    password=password,
                    policy=policy,
                    retries=3,
                    retry_interval=0.05,
                )
            )
            for policy in ("always", "if-not-present")
        ]
        from_env = _raised(lambda: ContainerOrchestrator(engine_timeout=2).pull(pushed.reference))
    finally:
        fragile_stack.docker.launch(fragile_stack.lab)
        fragile_stack.docker.wait_ready(30)
    assert [type(error) for error in errors] == [DockerUnavailableError] * 2
    assert all(getattr(error, "registry", None) == pushed.registry for error in errors)
    assert len(rig.counter.pulls) == 1  # "always" tried once; "if-not-present" never got there
    assert rig.sleeps == []  # no engine is not a reason to retry
    assert isinstance(from_env, DockerUnavailableError)
    assert "no container engine answered" in str(from_env)
    del errors, from_env
    gc.collect()
    restored = ContainerOrchestrator(client).pull(
        pushed.reference, username="alice", password=password, policy="always"
    )
    assert restored.digest == pushed.digest
    client.close()
