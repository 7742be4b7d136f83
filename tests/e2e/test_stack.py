"""The local stack, proven with plain docker-py: what pulls, what fails, and how it fails.

The error types and messages asserted here are dockerd 20.10's (API 1.41), as docker-py 7
reports them; registry-auth's error classification is built on them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import docker
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.lab import _components
from tests.lab._netns import NetworkNamespace
from tests.lab._tokens import TokenSigner, parse_scope, token_claims
from tests.lab.stack import (
    ECR_ACCOUNT,
    Image,
    ImageIndex,
    LocalStack,
    MissingComponentError,
    Platform,
    StackError,
)

pytestmark = pytest.mark.e2e


def _fresh_image(request):
    """An image no other test pushes, so its pull really fetches it."""
    return Image.build(files={"test.txt": request.node.nodeid})


def _repo_digests(image):
    return set(image.attrs["RepoDigests"])


# Pulls that work.


def test_pull_from_local_docker_hub(local_stack, sample_images, docker_client):
    image = docker_client.images.pull(
        "hubuser/hello", tag="v1", auth_config=local_stack.hub.auth_config("hubuser")
    )
    assert f"hubuser/hello@{sample_images.hub.digest}" in _repo_digests(image)
    assert sample_images.hub.reference == "hubuser/hello:v1"
    granted = [r for r in local_stack.hub.token_requests() if r.status == 200]
    assert granted[-1].account == "hubuser"
    assert granted[-1].scopes == ("repository:hubuser/hello:pull",)


def test_pull_from_local_ecr_with_the_password_moto_hands_out(
    local_stack, sample_images, docker_client
):
    ecr = boto3.client(
        "ecr",
        region_name="us-east-1",
        endpoint_url=local_stack.moto_endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    data = ecr.get_authorization_token()["authorizationData"][0]
    username, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert data["proxyEndpoint"] == f"https://{local_stack.ecr.host}"
    assert username == "AWS"
    assert password == local_stack.ecr.password("AWS")

    image = docker_client.images.pull(
        sample_images.ecr.name,
        tag="1.0",
        auth_config={"username": username, "password": password},
    )
    assert sample_images.ecr.pinned in _repo_digests(image)
    assert sample_images.ecr.name == f"{ECR_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app"


def test_pull_from_htpasswd_registry(local_stack, sample_images, docker_client):
    image = docker_client.images.pull(
        "127.0.0.1:5443/team/app", tag="1.0", auth_config=local_stack.private.auth_config("alice")
    )
    assert sample_images.private.pinned in _repo_digests(image)


def test_pull_from_token_registry(local_stack, sample_images, docker_client):
    image = docker_client.images.pull(
        "127.0.0.1:5444/team/app", tag="1.0", auth_config=local_stack.token.auth_config("bob")
    )
    assert sample_images.token.pinned in _repo_digests(image)
    assert any(r.account == "bob" and r.status == 200 for r in local_stack.token.token_requests())


def test_pull_by_digest(local_stack, sample_images, docker_client):
    image = docker_client.images.pull(
        sample_images.private.pinned, auth_config=local_stack.private.auth_config("alice")
    )
    assert sample_images.private.pinned in _repo_digests(image)


def test_anonymous_pull_of_a_public_hub_repository(local_stack, docker_client, request):
    pushed = local_stack.hub.push(_fresh_image(request), "library/hello-world", "latest")
    local_stack.hub.set_public("library/hello-world")
    try:
        image = docker_client.images.pull("hello-world", tag="latest")
    finally:
        local_stack.hub.set_public("library/hello-world", public=False)
    assert pushed.name == "hello-world"
    assert f"hello-world@{pushed.digest}" in _repo_digests(image)


# Pulls that fail, and how.


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        (
            "hub",
            'Head "https://registry-1.docker.io/v2/hubuser/hello/manifests/v1":'
            " unauthorized: incorrect username or password",
        ),
        (
            "token",
            'Head "https://127.0.0.1:5444/v2/team/app/manifests/1.0":'
            " unauthorized: incorrect username or password",
        ),
        ("private", "unauthorized: authentication required"),
        ("ecr", "unauthorized: authentication required"),
    ],
)
def test_wrong_password(local_stack, sample_images, docker_client, registry, message):
    pushed = getattr(sample_images, registry)
    username = local_stack.registries[registry].usernames()[0]
    with pytest.raises(docker.errors.APIError) as caught:
        docker_client.images.pull(
            pushed.name, tag=pushed.tag, auth_config={"username": username, "password": "wrong"}
        )
    assert type(caught.value) is docker.errors.APIError
    assert caught.value.status_code == 500
    assert caught.value.explanation == message


def test_missing_credentials_on_docker_hub(sample_images, docker_client):
    with pytest.raises(docker.errors.ImageNotFound) as caught:
        docker_client.images.pull("hubuser/hello", tag="v1")
    assert caught.value.status_code == 404
    assert caught.value.explanation == (
        "pull access denied for hubuser/hello, repository does not exist or may require"
        " 'docker login': denied: requested access to the resource is denied"
    )


def test_missing_credentials_on_token_registry(sample_images, docker_client):
    with pytest.raises(docker.errors.APIError) as caught:
        docker_client.images.pull("127.0.0.1:5444/team/app", tag="1.0")
    assert type(caught.value) is docker.errors.APIError
    assert caught.value.explanation == (
        'Head "https://127.0.0.1:5444/v2/team/app/manifests/1.0":'
        " unauthorized: authentication required"
    )


def test_missing_credentials_on_ecr(local_stack, sample_images, docker_client):
    with pytest.raises(docker.errors.APIError) as caught:
        docker_client.images.pull(sample_images.ecr.name, tag="1.0")
    assert type(caught.value) is docker.errors.APIError
    assert caught.value.explanation == (
        f'Head "https://{local_stack.ecr.host}/v2/team/app/manifests/1.0":'
        " no basic auth credentials"
    )


def test_missing_credentials_on_localhost_htpasswd_registry(sample_images, docker_client):
    # dockerd treats registries on 127.0.0.0/8 as insecure: after the HTTPS attempt is refused
    # for want of credentials it retries over plain HTTP, and reports that failure instead.
    with pytest.raises(docker.errors.APIError) as caught:
        docker_client.images.pull("127.0.0.1:5443/team/app", tag="1.0")
    assert type(caught.value) is docker.errors.APIError
    assert caught.value.status_code == 500
    assert "127.0.0.1:5443" in caught.value.explanation


@pytest.mark.parametrize("registry", ["hub", "token", "private", "ecr"])
def test_missing_tag(local_stack, sample_images, docker_client, registry):
    pushed = getattr(sample_images, registry)
    username = local_stack.registries[registry].usernames()[0]
    with pytest.raises(docker.errors.NotFound) as caught:
        docker_client.images.pull(
            pushed.name,
            tag="no-such-tag",
            auth_config=local_stack.registries[registry].auth_config(username),
        )
    assert type(caught.value) is docker.errors.NotFound
    assert caught.value.explanation == (
        f"manifest for {pushed.name}:no-such-tag not found: manifest unknown: manifest unknown"
    )


def test_missing_repository(local_stack, sample_images, docker_client):
    with pytest.raises(docker.errors.NotFound) as caught:
        docker_client.images.pull(
            "127.0.0.1:5443/team/nothing",
            tag="1",
            auth_config=local_stack.private.auth_config("alice"),
        )
    assert caught.value.explanation == (
        "manifest for 127.0.0.1:5443/team/nothing:1 not found: manifest unknown: manifest unknown"
    )


def test_foreign_platform_manifest_list(local_stack, sample_images, docker_client):
    host = Platform.host()
    auth = local_stack.private.auth_config("alice")
    # docker-py's images.pull ignores the error in the pull stream, then fails to find the image.
    with pytest.raises(docker.errors.ImageNotFound) as caught:
        docker_client.images.pull(sample_images.foreign.name, tag="foreign", auth_config=auth)
    assert caught.value.explanation.startswith(f"no such image: {sample_images.foreign.reference}")
    # The daemon's own words are in the stream.
    events = list(
        docker_client.api.pull(
            sample_images.foreign.name, tag="foreign", auth_config=auth, stream=True, decode=True
        )
    )
    errors = [event["error"] for event in events if "error" in event]
    assert errors == [f"no matching manifest for {host} in the manifest list entries"]


def test_registry_down(local_stack, sample_images, docker_client):
    auth = local_stack.private.auth_config("alice")
    with local_stack.private.down():
        assert not local_stack.private.running()
        with pytest.raises(docker.errors.APIError) as caught:
            docker_client.images.pull("127.0.0.1:5443/team/app", tag="1.0", auth_config=auth)
    assert type(caught.value) is docker.errors.APIError
    assert caught.value.explanation == (
        'Get "http://127.0.0.1:5443/v2/": dial tcp 127.0.0.1:5443: connect: connection refused'
    )
    assert local_stack.private.running()
    docker_client.images.pull("127.0.0.1:5443/team/app", tag="1.0", auth_config=auth)


def test_docker_hub_down(local_stack, sample_images, docker_client):
    with local_stack.hub.down(), pytest.raises(docker.errors.APIError) as caught:
        docker_client.images.pull(
            "hubuser/hello", tag="v1", auth_config=local_stack.hub.auth_config("hubuser")
        )
    assert caught.value.explanation == (
        'Get "https://registry-1.docker.io/v2/": dial tcp 192.0.2.2:443: connect: connection refused'
    )


# Users, passwords and counters.


@pytest.mark.parametrize("registry", ["private", "token"])
def test_password_rotation_takes_effect_without_restart(
    local_stack, docker_client, registry, request
):
    target = local_stack.registries[registry]
    pushed = target.push(_fresh_image(request), f"rotation/{registry}", "1")
    target.set_user("carol", "first-password")
    docker_client.images.pull(pushed.name, tag="1", auth_config=target.auth_config("carol"))

    target.set_user("carol", "second-password")
    with pytest.raises(docker.errors.APIError, match="unauthorized"):
        docker_client.images.pull(
            pushed.name, tag="1", auth_config={"username": "carol", "password": "first-password"}
        )
    docker_client.images.pull(
        pushed.name, tag="1", auth_config={"username": "carol", "password": "second-password"}
    )

    target.remove_user("carol")
    with pytest.raises(docker.errors.APIError, match="unauthorized"):
        docker_client.images.pull(
            pushed.name, tag="1", auth_config={"username": "carol", "password": "second-password"}
        )
    assert "carol" not in target.usernames()


def test_request_counter_moves_with_pulls_not_with_pushes(local_stack, docker_client, request):
    before = local_stack.ecr.request_count()
    pushed = local_stack.ecr.push(_fresh_image(request), "counted/app", "1")
    assert local_stack.ecr.request_count() == before
    assert local_stack.ecr.request_count(include_setup=True) > before

    docker_client.images.pull(pushed.name, tag="1", auth_config=local_stack.ecr.auth_config("AWS"))
    pulls = local_stack.ecr.requests()[before:]
    assert len(pulls) >= 3  # /v2/ ping, the manifest, the blobs it lacked
    assert any(
        r.method in ("GET", "HEAD") and r.path == "/v2/counted/app/manifests/1" and r.status == 200
        for r in pulls
    )
    assert all(r.user_agent.startswith("docker/") for r in pulls)


def test_no_request_reaches_an_untouched_registry(local_stack, docker_client, sample_images):
    before = {name: registry.request_count() for name, registry in local_stack.registries.items()}
    docker_client.images.pull(
        "127.0.0.1:5444/team/app", tag="1.0", auth_config=local_stack.token.auth_config("bob")
    )
    after = {name: registry.request_count() for name, registry in local_stack.registries.items()}
    assert after["token"] > before["token"]
    assert {name: after[name] for name in ("hub", "ecr", "private")} == {
        name: before[name] for name in ("hub", "ecr", "private")
    }


def test_forget_images_makes_the_next_pull_fetch_layers_again(local_stack, docker_client, request):
    pushed = local_stack.private.push(_fresh_image(request), "forget/app", "1")
    auth = local_stack.private.auth_config("alice")
    docker_client.images.pull(pushed.name, tag="1", auth_config=auth)
    assert local_stack.forget_images() >= 1
    assert docker_client.images.list() == []

    before = local_stack.private.request_count()
    docker_client.images.pull(pushed.name, tag="1", auth_config=auth)
    fetched = [r.path for r in local_stack.private.requests()[before:] if "/blobs/" in r.path]
    assert len(fetched) == 2  # the config and the layer


def test_tokens_carry_what_registries_check(local_stack):
    signer = TokenSigner.from_pem(
        local_stack.lab.signing.key.read_bytes(),
        local_stack.lab.signing.certificate.read_bytes(),
    )
    grants = parse_scope("repository:team/app:pull,push")
    claims = token_claims(
        issuer="issuer", subject="bob", audience="service", access=grants, now=1000, lifetime=300
    )
    header_b64, claims_b64, signature_b64 = signer.sign(claims).split(".")

    def decode(part):
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header = json.loads(decode(header_b64))
    certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert certificate == signer.certificate
    assert header["alg"] == "RS256"
    assert header["kid"].count(":") == 11
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        decode(signature_b64),
        f"{header_b64}.{claims_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert json.loads(decode(claims_b64)) == {
        "iss": "issuer",
        "sub": "bob",
        "aud": "service",
        "exp": 1300,
        "nbf": 999,
        "iat": 1000,
        "jti": claims["jti"],
        "access": [{"type": "repository", "name": "team/app", "actions": ["pull", "push"]}],
    }


def test_images_are_deterministic():
    assert Image.build().digest == Image.build().digest
    assert Image.build(files={"a": "1"}).digest != Image.build(files={"a": "2"}).digest
    index = ImageIndex.foreign_only()
    assert index.platforms == (Platform.foreign(),)
    assert Platform.foreign() != Platform.host()


# Life cycle.


def _mounts_under(directory: Path) -> list[str]:
    return [
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if str(directory) in line
    ]


def _alive(pid: int) -> bool:
    """Whether *pid* runs; a zombie (exited, waiting for init to reap it) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_stop_leaves_nothing_behind(local_stack):
    stack = LocalStack(moto=True)
    stack.start()
    try:
        assert stack.startup_seconds is not None
        assert stack.startup_seconds < 15
        namespace = stack.namespace
        directory = stack.directory
        assert namespace != local_stack.namespace
        assert namespace.startswith(f"ra-lab-{os.getpid()}-")
        pids = stack.lab.namespace.pids()
        assert len(pids) >= 7  # dockerd, containerd, four registries, the token server
        pids.append(stack.moto.process.pid)
        client = stack.docker_client()
        try:
            assert client.ping()
        finally:
            client.close()
    finally:
        stack.stop()
    assert not any(_alive(pid) for pid in pids)
    assert not Path(f"/run/netns/{namespace}").exists()
    assert not directory.exists()
    assert _mounts_under(directory) == []
    stack.stop()  # a second stop is harmless


def _namespaces(prefix="ra-lab"):
    """Namespaces of this run (other runs may come and go meanwhile)."""
    directory = Path("/run/netns")
    if not directory.is_dir():
        return set()
    return {
        entry.name
        for entry in directory.iterdir()
        if entry.name.startswith(f"{prefix}-{os.getpid()}-")
    }


def test_failed_start_cleans_up(monkeypatch, tmp_path):
    started = []

    def refuse(self, timeout):
        started.append(self.process.pid)
        raise StackError("dockerd refused to start (simulated)")

    monkeypatch.setattr("tests.lab._daemon.DockerDaemon.wait_ready", refuse)
    namespaces_before = _namespaces()
    stack = LocalStack(directory=tmp_path)
    with pytest.raises(StackError, match="simulated"):
        stack.start()
    assert _namespaces() == namespaces_before
    assert list(tmp_path.iterdir()) == []
    assert not _alive(started[0])
    with pytest.raises(StackError, match="not started"):
        _ = stack.private


def test_missing_binary_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(_components, "_SYSTEM_DIRECTORIES", ())
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingComponentError) as caught:
        LocalStack().start()
    assert caught.value.component == "ip"
    assert caught.value.package == "iproute2"
    assert str(caught.value) == (
        "ip not found: install the Debian package 'iproute2' (apt-get install iproute2)"
    )


# The killed run's stack has a prefix of its own, so that another test run reaping orphans at
# the same time does not get there first.
_KILLED_RUN = """
import sys, time
from tests.lab.stack import LocalStack
stack = LocalStack(namespace_prefix=sys.argv[1]).start()
print(stack.namespace, stack.directory, flush=True)
time.sleep(600)
"""


def test_leftovers_of_a_killed_run_are_reaped():
    prefix = f"ra-killed{os.getpid()}"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, prefix],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],  # the repository root, which holds tests.lab
    )
    try:
        namespace, directory = child.stdout.readline().split()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    pids = NetworkNamespace(name=namespace).pids()
    assert pids
    assert all(_alive(pid) for pid in pids)

    assert LocalStack.reap_orphans(prefix=prefix) == [namespace]

    assert not Path(f"/run/netns/{namespace}").exists()
    assert not any(_alive(pid) for pid in pids)
    assert not Path(directory).exists()
