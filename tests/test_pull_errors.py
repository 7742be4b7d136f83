from __future__ import annotations

import json

import attrs
import docker.errors
import pytest
import requests
import urllib3
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import (
    AuthenticationError,
    Credentials,
    DockerUnavailableError,
    ImageNotFoundError,
    ImageReference,
    PlatformMismatchError,
    PullError,
    PullTimeoutError,
    RegistryUnavailableError,
    Secret,
)
from registry_auth._pull_errors import (
    FailureContext,
    FailureKind,
    build_failure,
    classify_exception,
    classify_message,
    insecure_fallback_kind,
    redact,
    wanted_platform,
)
from registry_auth._redaction import SecretMasks
from registry_auth.testing.fake_docker import make_api_error

K = FailureKind

# Texts the engine (dockerd 20.10, through docker-py 7) really sends, and what they mean.
REAL_TEXTS = [
    # wrong password, basic-auth registry
    ("unauthorized: authentication required", K.AUTHENTICATION),
    # no credentials, basic-auth registry
    (
        'Head "http://127.0.0.1:5791/v2/team/app/manifests/1.0": no basic auth credentials',
        K.AUTHENTICATION,
    ),
    # wrong password, token registry (the token server's 401)
    (
        'Get "https://auth.docker.io/token?scope=repository%3Ahubuser%2Fhello%3Apull'
        '&service=registry.docker.io": unauthorized: incorrect username or password',
        K.AUTHENTICATION,
    ),
    # an expired ECR token
    (
        'Head "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/team/app/manifests/1.0":'
        " denied: Your authorization token has expired. Reauthenticate and try again.",
        K.AUTHENTICATION,
    ),
    # no credentials on a token registry, or a repository missing on Docker Hub
    (
        "pull access denied for hubuser/private, repository does not exist or may require "
        "'docker login': denied: requested access to the resource is denied",
        K.ACCESS_DENIED,
    ),
    ("repository team/app not found: does not exist or no pull access", K.ACCESS_DENIED),
    # missing tag, repository or digest
    (
        "manifest for 127.0.0.1:5791/team/app:nope not found: manifest unknown: manifest unknown",
        K.NOT_FOUND,
    ),
    (
        "manifest for 127.0.0.1:5791/team/app@sha256:" + "a" * 64 + " not found: "
        "manifest unknown: manifest unknown",
        K.NOT_FOUND,
    ),
    ("manifest unknown: manifest unknown", K.NOT_FOUND),
    (
        "no such image: 127.0.0.1:5791/team/app:zzz: No such image: 127.0.0.1:5791/team/app:zzz",
        K.NOT_FOUND,
    ),
    # registry down, DNS, 5xx, rate limits, broken transfers
    (
        'Get "http://127.0.0.1:5799/v2/": dial tcp 127.0.0.1:5799: connect: connection refused',
        K.UNAVAILABLE,
    ),
    (
        'Get "https://nonexistent.invalid/v2/": dial tcp: lookup nonexistent.invalid on '
        "10.255.255.53:53: no such host",
        K.UNAVAILABLE,
    ),
    (
        'Get "https://reg.example/v2/": dial tcp: lookup reg.example: Temporary failure in name '
        "resolution",
        K.UNAVAILABLE,
    ),
    ("received unexpected HTTP status: 503 Service Unavailable", K.UNAVAILABLE),
    ("received unexpected HTTP status: 502 Bad Gateway", K.UNAVAILABLE),
    ("received unexpected HTTP status: 500 Internal Server Error", K.UNAVAILABLE),
    (
        "toomanyrequests: You have reached your pull rate limit. You may increase the limit by "
        "authenticating and upgrading: https://www.docker.com/increase-rate-limit",
        K.UNAVAILABLE,
    ),
    (
        'Get "https://reg.example/v2/": net/http: request canceled while waiting for connection '
        "(Client.Timeout exceeded while awaiting headers)",
        K.UNAVAILABLE,
    ),
    ('Get "https://reg.example/v2/": net/http: TLS handshake timeout', K.UNAVAILABLE),
    ('Get "https://reg.example/v2/": dial tcp 10.0.0.1:443: i/o timeout', K.UNAVAILABLE),
    ("read tcp 127.0.0.1:43210->127.0.0.1:5443: read: connection reset by peer", K.UNAVAILABLE),
    ("unexpected EOF", K.UNAVAILABLE),
    # TLS trust problems: the registry is unusable until someone fixes them
    ('Get "https://reg.example/v2/": x509: certificate signed by unknown authority', K.TLS),
    (
        'Get "https://reg.example/v2/": x509: certificate has expired or is not yet valid',
        K.TLS,
    ),
    ('Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client', K.TLS),
    ("remote error: tls: bad certificate", K.TLS),
    # no variant for this machine
    ("no matching manifest for linux/amd64 in the manifest list entries", K.PLATFORM),
    (
        "image with reference team/app:1.0 was found but does not match the specified platform:"
        " wanted linux/arm64, actual: linux/amd64",
        K.PLATFORM,
    ),
    ('image operating system "windows" cannot be used on this platform', K.PLATFORM),
    # anything else
    (
        "failed to register layer: Error processing tar file(exit status 1): write /x: "
        "no space left on device",
        K.UNKNOWN,
    ),
    ("", K.UNKNOWN),
]


@pytest.mark.parametrize(("text", "kind"), REAL_TEXTS)
def test_real_engine_texts(text, kind):
    assert classify_message(text) is kind


@pytest.mark.parametrize(("text", "kind"), REAL_TEXTS)
def test_classification_ignores_case(text, kind):
    assert classify_message(text.upper()) is kind


def test_image_names_cannot_look_like_failures():
    ref = ImageReference.parse("reg.example/team/certificate:unauthorized")
    text = (
        "manifest for reg.example/team/certificate:unauthorized not found: manifest unknown: "
        "manifest unknown"
    )
    # Without the reference the words in the name mislead; with it they are blanked out.
    assert classify_message(text) is K.AUTHENTICATION
    assert classify_message(text, reference=ref) is K.NOT_FOUND


def test_names_are_blanked_inside_urls():
    ref = ImageReference.parse("localhost:5000/forbidden/app:1.0")
    text = 'Head "http://localhost:5000/v2/forbidden/app/manifests/1.0": unexpected EOF'
    assert classify_message(text) is K.ACCESS_DENIED
    assert classify_message(text, reference=ref) is K.UNAVAILABLE


def test_one_word_official_images_are_not_blanked():
    ref = ImageReference.parse("denied:1.0")
    text = (
        "pull access denied for denied, repository does not exist or may require "
        "'docker login': denied: requested access to the resource is denied"
    )
    assert classify_message(text, reference=ref) is K.ACCESS_DENIED
    missing = "manifest for denied:1.0 not found: manifest unknown: manifest unknown"
    assert classify_message(missing, reference=ref) is K.NOT_FOUND


def test_a_one_letter_image_does_not_blank_every_letter():
    ref = ImageReference.parse("a")
    text = (
        "pull access denied for a, repository does not exist or may require 'docker login': "
        "denied: requested access to the resource is denied"
    )
    assert classify_message(text, reference=ref) is K.ACCESS_DENIED


WORDS = ["unauthorized", "denied", "forbidden", "certificate", "eof", "timeout", "x509", "app"]
# Two components at least: one-word names are Docker Hub's curated official images.
names = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map("/".join)
hosts = st.sampled_from(["", "localhost:5000/", "reg.example/", "eof.example:443/"])
tags = st.sampled_from(["1.0", "latest", "eof", "unauthorized", "x509"])


@given(host=hosts, name=names, tag=tags)
def test_any_image_name_classifies_by_the_message_alone(host, name, tag):
    ref = ImageReference.parse(f"{host}{name}:{tag}")
    engine = f"{ref.familiar}"
    assert (
        classify_message(
            f"manifest for {engine} not found: manifest unknown: manifest unknown", reference=ref
        )
        is K.NOT_FOUND
    )
    assert (
        classify_message(
            f'Get "https://{ref.registry}/v2/": dial tcp 127.0.0.1:5000: connect: connection '
            "refused",
            reference=ref,
        )
        is K.UNAVAILABLE
    )
    bare = ImageReference.parse(f"{host}{name}").familiar
    assert (
        classify_message(
            f"pull access denied for {bare}, repository does not exist or may require "
            "'docker login': denied: requested access to the resource is denied",
            reference=ref,
        )
        is K.ACCESS_DENIED
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, K.AUTHENTICATION), (403, K.ACCESS_DENIED), (404, K.NOT_FOUND), (500, K.UNKNOWN)],
)
def test_status_decides_only_when_the_text_says_nothing(status, kind):
    assert classify_message("something new", status=status) is kind
    assert classify_message("unauthorized: authentication required", status=404) is (
        K.AUTHENTICATION
    )


# -- exceptions --------------------------------------------------------------------------


def test_api_error_is_classified_by_its_explanation():
    exc = make_api_error(500, "unauthorized: authentication required")
    assert type(exc) is docker.errors.APIError
    failure = classify_exception(exc)
    assert failure is not None
    assert failure.kind is K.AUTHENTICATION
    assert failure.status == 500
    assert failure.detail == "unauthorized: authentication required"


def test_pull_access_denied_is_an_image_not_found_404_in_docker_py():
    text = (
        "pull access denied for hubuser/private, repository does not exist or may require "
        "'docker login': denied: requested access to the resource is denied"
    )
    exc = make_api_error(404, text)
    assert type(exc) is docker.errors.ImageNotFound
    failure = classify_exception(exc)
    assert failure is not None
    assert failure.kind is K.ACCESS_DENIED


def test_manifest_unknown_is_a_not_found_404_in_docker_py():
    exc = make_api_error(404, "manifest for team/app:nope not found: manifest unknown")
    assert type(exc) is docker.errors.NotFound
    failure = classify_exception(exc)
    assert failure is not None
    assert failure.kind is K.NOT_FOUND


def test_api_error_without_explanation_uses_its_text():
    exc = docker.errors.APIError("500 Server Error: connection refused")
    failure = classify_exception(exc)
    assert failure is not None
    assert failure.kind is K.UNAVAILABLE
    assert failure.status is None


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.exceptions.ConnectionError("Connection aborted."), K.ENGINE_UNAVAILABLE),
        (requests.exceptions.ConnectTimeout("connect timed out"), K.ENGINE_UNAVAILABLE),
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"), K.TIMEOUT),
        (requests.exceptions.ChunkedEncodingError("Connection broken"), K.ENGINE_UNAVAILABLE),
        (
            urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead"),
            K.ENGINE_UNAVAILABLE,
        ),
        (
            urllib3.exceptions.ReadTimeoutError(
                urllib3.HTTPConnectionPool("localhost"), "/images/create", "timed out"
            ),
            K.TIMEOUT,
        ),
        (docker.errors.InvalidVersion("platform was only introduced in API 1.32"), K.UNKNOWN),
        (docker.errors.DockerException("something"), K.UNKNOWN),
    ],
)
def test_transport_exceptions(exc, kind):
    failure = classify_exception(exc)
    assert failure is not None
    assert failure.kind is kind


@pytest.mark.parametrize("exc", [ValueError("bug"), KeyboardInterrupt(), RuntimeError("x")])
def test_other_exceptions_are_not_engine_failures(exc):
    assert classify_exception(exc) is None


# -- building errors -----------------------------------------------------------------------

REF = ImageReference.parse("localhost:5000/team/app:1.0")
SENT = FailureContext(
    reference=REF, provider="vault", username="alice", secrets=(Secret("hunter2"),)
)
ANONYMOUS = FailureContext(reference=REF)


@pytest.mark.parametrize(
    ("kind", "context", "cls", "transient"),
    [
        (K.AUTHENTICATION, SENT, AuthenticationError, False),
        (K.AUTHENTICATION, ANONYMOUS, AuthenticationError, False),
        (K.ACCESS_DENIED, ANONYMOUS, AuthenticationError, False),
        (K.ACCESS_DENIED, SENT, ImageNotFoundError, False),
        (K.NOT_FOUND, SENT, ImageNotFoundError, False),
        (K.PLATFORM, SENT, PlatformMismatchError, False),
        (K.TLS, SENT, RegistryUnavailableError, False),
        (K.UNAVAILABLE, SENT, RegistryUnavailableError, True),
        (K.TIMEOUT, SENT, PullTimeoutError, True),
        (K.ENGINE_UNAVAILABLE, SENT, DockerUnavailableError, False),
        (K.UNKNOWN, SENT, PullError, False),
    ],
)
def test_build_failure_classes_and_context(kind, context, cls, transient):
    detail = "engine says hunter2 here" if context.secrets else "engine says ******** here"
    failure = build_failure(kind, detail, context)
    error = failure.error
    assert type(error) is cls
    assert failure.transient is transient
    assert failure.kind is kind
    assert error.registry == "localhost:5000"
    assert error.reference == "localhost:5000/team/app:1.0"
    assert "localhost:5000/team/app:1.0" in str(error)
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(error)
    assert "hunter2" not in failure.detail
    assert "engine says ******** here" in str(error)


def test_rejected_credentials_name_user_and_provider():
    error = build_failure(K.AUTHENTICATION, "unauthorized", SENT).error
    assert error.provider == "vault"
    assert "user 'alice'" in str(error)
    assert "provider 'vault'" in str(error)
    assert "rejected" in str(error)


def test_missing_credentials_say_none_were_sent():
    error = build_failure(K.AUTHENTICATION, "no basic auth credentials", ANONYMOUS).error
    assert error.provider is None
    assert "none were sent" in str(error)
    assert "no provider has credentials for localhost:5000" in str(error)


def test_anonymous_access_denied_may_also_be_a_missing_repository():
    error = build_failure(K.ACCESS_DENIED, "pull access denied", ANONYMOUS).error
    assert isinstance(error, AuthenticationError)
    assert "requires credentials" in str(error)
    assert "does not exist" in str(error)


def test_access_denied_with_credentials_names_both_causes():
    error = build_failure(K.ACCESS_DENIED, "pull access denied", SENT).error
    assert isinstance(error, ImageNotFoundError)
    assert "not found" in str(error)
    assert "user 'alice'" in str(error)
    assert "may not pull it" in str(error)


def test_platform_error_lists_platforms():
    text = "no matching manifest for linux/amd64 in the manifest list entries"
    error = build_failure(
        K.PLATFORM, text, ANONYMOUS, available_platforms=("linux/arm64/v8", "linux/s390x")
    ).error
    assert isinstance(error, PlatformMismatchError)
    assert error.wanted == "linux/amd64"
    assert error.available == ("linux/arm64/v8", "linux/s390x")
    assert "linux/arm64/v8, linux/s390x" in str(error)


def test_platform_asked_for_wins_over_the_text():
    context = FailureContext(reference=REF, platform="linux/riscv64")
    error = build_failure(K.PLATFORM, "no matching manifest for linux/amd64 in the ...", context)
    assert isinstance(error.error, PlatformMismatchError)
    assert error.error.wanted == "linux/riscv64"


def test_redact_masks_every_secret_longest_first():
    secrets = [Secret("abc"), Secret("abcdef"), Secret("")]
    assert redact("x abcdef y abc z", secrets) == "x ******** y ******** z"
    assert redact("nothing here", []) == "nothing here"


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        ("no matching manifest for linux/arm64/v8 in the manifest list entries", "linux/arm64/v8"),
        (
            "image with reference x:1 was found but does not match the specified platform: "
            "wanted linux/arm64, actual: linux/amd64",
            "linux/arm64",
        ),
        ("unauthorized", None),
    ],
)
def test_wanted_platform(text, platform):
    assert wanted_platform(text) == platform


def test_redact_masks_secrets_where_they_stand_alone():
    from registry_auth import Secret
    from registry_auth._pull_errors import redact

    assert redact("user x said x", [Secret("x")]) == "user ******** said ********"
    assert redact("unexpected", [Secret("x")]) == "unexpected"
    assert redact("pw=hunter2-long; again (hunter2-long)", [Secret("hunter2-long")]) == (
        "pw=********; again (********)"
    )
    assert redact("a p@ss! b", [Secret("p@ss!")]) == "a ******** b"


# -- the engine's plain-HTTP retry of a TLS registry on a loopback address ---------------------

RESET = "read tcp 127.0.0.1:51562->127.0.0.1:5443: read: connection reset by peer"


@pytest.mark.parametrize(
    ("registry", "detail", "username", "status", "kind"),
    [
        ("127.0.0.1:5443", RESET, None, 500, K.AUTHENTICATION),  # as dockerd 20.10 says it
        ("localhost:5000", RESET, None, 500, K.AUTHENTICATION),
        ("[::1]:5000", RESET, None, 500, K.AUTHENTICATION),
        ("127.0.0.1:5443", RESET, "alice", 500, K.UNAVAILABLE),  # credentials were sent
        ("127.0.0.1:5443", RESET, None, None, K.UNAVAILABLE),  # mid-stream: a real reset
        ("registry.example.com", RESET, None, 500, K.UNAVAILABLE),  # verified TLS: no retry
        ("10.0.0.5:5000", RESET, None, 500, K.UNAVAILABLE),
        (
            "127.0.0.1:5443",
            "dial tcp 127.0.0.1:5443: connect: connection refused",
            None,
            500,
            K.UNAVAILABLE,
        ),
    ],
)
def test_an_anonymous_reset_from_a_loopback_registry_is_missing_credentials(
    registry, detail, username, status, kind
):
    context = FailureContext(
        reference=ImageReference.parse(f"{registry}/team/app:1.0"), username=username
    )
    engine = classify_exception(make_api_error(500, detail), reference=context.reference)
    assert engine is not None
    assert engine.kind is K.UNAVAILABLE
    engine = attrs.evolve(engine, status=status)
    assert insecure_fallback_kind(engine, context) is kind
    failure = build_failure(kind, engine.detail, context)
    assert failure.transient is (kind is K.UNAVAILABLE)
    if kind is K.AUTHENTICATION:
        assert isinstance(failure.error, AuthenticationError)
        assert "requires credentials" in failure.error.message
        assert "none were sent" in failure.error.message


ENCODED_PASSWORD = "p@ss w/rd+canary&7é"


def sent_forms(username: str, password: str, auth_config: dict[str, str]) -> dict[str, str]:
    """Each form in which a pull sends (or a registry may echo) the password, by name."""
    import base64
    import urllib.parse

    from docker import auth as docker_auth

    basic = f"{username}:{password}".encode()
    header = docker_auth.encode_header(auth_config)
    return {
        "plain": password,
        "quote": urllib.parse.quote(password),
        "quote-safe-none": urllib.parse.quote(password, safe=""),
        "quote_plus": urllib.parse.quote_plus(password),
        "quote-lowercase-hex": urllib.parse.quote(password, safe="").lower(),
        "basic": base64.b64encode(basic).decode(),
        "basic-urlsafe": base64.urlsafe_b64encode(basic).decode(),
        "password-base64": base64.b64encode(password.encode()).decode(),
        "x-registry-auth": header.decode() if isinstance(header, bytes) else header,
        "auth-config-base64": base64.b64encode(json.dumps(auth_config).encode("ascii")).decode(),
        "json-escaped": json.dumps(password)[1:-1],
    }


@pytest.mark.parametrize("form", list(sent_forms("u", "p", {"password": "p"})))
def test_build_failure_masks_every_encoding_that_was_sent(form):
    credentials = Credentials(
        username="alice", password=ENCODED_PASSWORD, registry="registry.example.com"
    )
    auth_config = credentials.to_docker_auth_config()
    text = sent_forms("alice", ENCODED_PASSWORD, auth_config)[form]
    context = FailureContext(
        reference=ImageReference.parse("registry.example.com/team/app:1"),
        provider="static",
        username="alice",
        secrets=(credentials.password,),
        masks=SecretMasks.of([credentials.password], username="alice", auth_configs=[auth_config]),
    )
    failure = build_failure(
        FailureKind.AUTHENTICATION, f"unauthorized: sent ({text}) to the registry", context
    )
    assert text not in failure.error.message
    assert "sent (********) to the registry" in failure.error.message
    assert failure.detail == "unauthorized: sent (********) to the registry"


def test_redact_masks_base64_of_user_and_password_given_the_user():
    import base64

    basic = base64.b64encode(b"alice:s3cret-canary").decode()
    text = f"Authorization: Basic {basic}"
    assert redact(text, [Secret("s3cret-canary")], username="alice") == (
        "Authorization: Basic ********"
    )
    assert redact(text, [Secret("s3cret-canary")]) == text  # the user is part of what was sent
