import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import (
    CredentialResolver,
    Credentials,
    InvalidReferenceError,
    ProtocolError,
    StaticPasswordProvider,
)
from registry_auth._kubelet import API_VERSION, API_VERSIONS, format_go_duration, handle_request

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
SECRET = "kubelet-canary-8812"


def request(image, **overrides):
    body = {"apiVersion": API_VERSION, "kind": "CredentialProviderRequest", "image": image}
    body.update(overrides)
    return json.dumps(body).encode()


@attrs.frozen
class Expiring:
    """A provider whose credentials expire at a fixed time."""

    expires_at: dt.datetime
    name: str = "expiring"

    def get_credentials(self, ref):
        if not ref.registry.endswith(".amazonaws.com"):
            return None
        return Credentials(
            username="AWS", password=SECRET, registry=ref.registry, expires_at=self.expires_at
        )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (-5, "0s"),
        (1, "1s"),
        (59.9, "59s"),
        (60, "1m0s"),
        (330, "5m30s"),
        (3600, "1h0m0s"),
        (6 * 3600, "6h0m0s"),
        (43199, "11h59m59s"),
        (90061, "25h1m1s"),
    ],
)
def test_go_duration(seconds, text):
    assert format_go_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**7))
def test_go_duration_round_trips(seconds):
    text = format_go_duration(seconds)
    total = 0
    number = ""
    for ch in text:
        if ch.isdigit():
            number += ch
        else:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
    assert total == seconds


def test_expiring_token_cached_for_half_its_remaining_life():
    resolver = CredentialResolver([Expiring(NOW + dt.timedelta(hours=12))])
    response = handle_request(
        request("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1"),
        resolver,
        now=lambda: NOW,
    )
    assert response == {
        "apiVersion": API_VERSION,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "cacheDuration": "6h0m0s",
        "auth": {
            "123456789012.dkr.ecr.us-east-1.amazonaws.com": {"username": "AWS", "password": SECRET}
        },
    }


def test_expired_token_is_not_cached():
    resolver = CredentialResolver([Expiring(NOW - dt.timedelta(minutes=1))])
    response = handle_request(
        request("123456789012.dkr.ecr.us-east-1.amazonaws.com/app"), resolver, now=lambda: NOW
    )
    assert response["cacheDuration"] == "0s"


def test_static_credentials_leave_cache_duration_to_the_kubelet():
    resolver = CredentialResolver(
        [StaticPasswordProvider(registry="registry.example.com", username="u", password=SECRET)]
    )
    response = handle_request(request("registry.example.com/team/app@sha256:" + "a" * 64), resolver)
    assert "cacheDuration" not in response
    assert response["auth"] == {"registry.example.com": {"username": "u", "password": SECRET}}


def test_docker_hub_images_are_keyed_docker_io():
    resolver = CredentialResolver(
        [StaticPasswordProvider(registry="", username="hubuser", password=SECRET)]
    )
    response = handle_request(request("hubuser/hello:v1"), resolver)
    assert list(response["auth"]) == ["docker.io"]


V1BETA1 = "credentialprovider.kubelet.k8s.io/v1beta1"

# Requests as kubelets write them (Go's encoding of the request type: kind first, then
# apiVersion, then image; a trailing newline from the encoder). Kubelets before 1.26 can speak
# only v1beta1; later ones send whichever version the provider's configuration names, and 1.33+
# may add service-account fields, which this plugin does not use.
KUBELET_REQUESTS = [
    pytest.param(
        b'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/'
        b'v1beta1","image":"registry.example.com/team/app:1.0"}\n',
        V1BETA1,
        id="v1beta1 (kubelet 1.24, 1.25)",
    ),
    pytest.param(
        b'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/'
        b'v1","image":"registry.example.com/team/app:1.0"}\n',
        API_VERSION,
        id="v1 (kubelet 1.26+)",
    ),
    pytest.param(
        b'{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/'
        b'v1","image":"registry.example.com/team/app:1.0","serviceAccountToken":"eyJ.x.y",'
        b'"serviceAccountAnnotations":{"example.com/role":"puller"}}\n',
        API_VERSION,
        id="v1 with service-account fields (kubelet 1.33+)",
    ),
]


@pytest.mark.parametrize(("raw", "version"), KUBELET_REQUESTS)
def test_kubelet_requests_of_each_version_are_answered_in_that_version(raw, version):
    provider = StaticPasswordProvider(
        registry="registry.example.com", username="alice", password=SECRET
    )
    response = handle_request(raw, CredentialResolver([provider]))
    assert response == {
        "apiVersion": version,
        "kind": "CredentialProviderResponse",
        "cacheKeyType": "Registry",
        "auth": {"registry.example.com": {"username": "alice", "password": SECRET}},
    }


def test_both_versions_are_answered():
    assert set(API_VERSIONS) == {API_VERSION, V1BETA1}


@pytest.mark.parametrize("version", API_VERSIONS)
def test_an_empty_answer_keeps_the_request_version(version):
    response = handle_request(request("quay.io/x/y", apiVersion=version), CredentialResolver())
    assert response["apiVersion"] == version


def test_nothing_found_gives_an_empty_auth_map():
    response = handle_request(request("quay.io/x/y"), CredentialResolver())
    assert response["auth"] == {}
    assert response["cacheKeyType"] == "Registry"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not a JSON object"),
        (
            request("x", apiVersion="credentialprovider.kubelet.k8s.io/v1alpha1"),
            "unsupported apiVersion",
        ),
        (request("x", apiVersion="credentialprovider.kubelet.k8s.io/v2"), "v1 and "),
        (request("x", apiVersion="v1"), "unsupported apiVersion"),
        (request("x", apiVersion=None), "unsupported apiVersion"),
        (request("x", apiVersion=["credentialprovider.kubelet.k8s.io/v1"]), "unsupported"),
        (request("x", kind="Other"), "kind must be"),
        (request(""), "no image"),
        (
            json.dumps({"apiVersion": API_VERSION, "kind": "CredentialProviderRequest"}).encode(),
            "no image",
        ),
        (b" " * (64 * 1024 + 1), "larger than"),
    ],
)
def test_bad_requests(raw, message):
    with pytest.raises(ProtocolError, match=message):
        handle_request(raw, CredentialResolver())


def test_invalid_image():
    with pytest.raises(InvalidReferenceError, match="request image is invalid"):
        handle_request(request("UPPER/Case"), CredentialResolver())


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_typed_errors(raw):
    with contextlib.suppress(ProtocolError, InvalidReferenceError):
        handle_request(raw, CredentialResolver())


def run_plugin(stdin: bytes, config: Path, env=None):
    exe = Path(sys.executable).parent / "registry-auth"
    return subprocess.run(
        [str(exe), "--config", str(config), "kubelet-plugin"],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[registries."registry.example.com"]\nprovider = "static"\nusername = "alice"\n'
        'password = { env = "KUBELET_TEST_PASSWORD" }\n'
    )
    return path


@pytest.mark.parametrize("version", API_VERSIONS)
def test_executable_answers_the_kubelet(config, version):
    result = run_plugin(
        request("registry.example.com/team/app:1", apiVersion=version),
        config,
        {"KUBELET_TEST_PASSWORD": SECRET},
    )
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["apiVersion"] == version
    assert response["auth"]["registry.example.com"] == {"username": "alice", "password": SECRET}
    assert result.stderr == b""


@pytest.mark.parametrize(
    "stdin", [b"not json", request("x", kind="Nope"), request("Bad/Image"), b""]
)
def test_executable_rejects_bad_input_without_leaking(config, stdin):
    result = run_plugin(stdin, config, {"KUBELET_TEST_PASSWORD": SECRET})
    assert result.returncode == 2
    assert result.stdout == b""
    assert SECRET.encode() not in result.stderr
    assert b"Traceback" not in result.stderr
    assert result.stderr.count(b"\n") == 1


def test_executable_reports_configuration_errors(config, monkeypatch):
    monkeypatch.delenv("KUBELET_TEST_PASSWORD", raising=False)
    result = run_plugin(request("registry.example.com/team/app"), config)
    assert result.returncode == 3
    assert b"KUBELET_TEST_PASSWORD is not set" in result.stderr
