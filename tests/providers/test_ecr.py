import base64
import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import threading

import boto3
import botocore.handlers
import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from registry_auth import (
    ConfigurationError,
    CredentialProvider,
    CredentialResolver,
    ImageReference,
    InvalidatingProvider,
    ProviderError,
    Secret,
    TokenFetchError,
)
from registry_auth._cache import TokenCache
from registry_auth.matching import RegistryPattern
from registry_auth.providers.ecr import EcrHost, EcrProvider, EcrSettings, parse_ecr_host


class FakeClock:
    """A settable, thread-safe clock for caches."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += dt.timedelta(**delta)


# moto's tokens expire at 2015-01-01T00:00Z: twelve hours after this instant, as real ones do.
BEFORE_MOTO_EXPIRY = dt.datetime(2014, 12, 31, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock():
    return FakeClock(BEFORE_MOTO_EXPIRY)


ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
HOST = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
CROSS_HOST = f"{OTHER_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
CANARY = "canary-ecr-password-7f3a"


def ref(text):
    return ImageReference.parse(text)


def b64(text):
    return base64.b64encode(text.encode()).decode()


# --- parse_ecr_host ---------------------------------------------------------------------------

PUBLIC = "public"

# The server-URL table of the reference credential helper (amazon-ecr-credential-helper,
# ecr-login/api/client_test.go, TestExtractRegistry): input -> (account, fips, region), PUBLIC,
# or None where the helper reports an error.
REFERENCE_CASES = [
    (
        "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/blah/blah",
        ("123456789012", False, "us-east-1"),
    ),
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com", ("123456789012", False, "us-west-2")),
    ("123456789012.dkr-ecr.us-west-2.on.aws", ("123456789012", False, "us-west-2")),
    ("210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/foo", ("210987654321", False, "cn-north-1")),
    ("210987654321.dkr.ecr.us-iso-east-1.c2s.ic.gov", ("210987654321", False, "us-iso-east-1")),
    (
        "123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
        ("123456789012", False, "us-isob-east-1"),
    ),
    (
        "123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk",
        ("123456789012", False, "eu-isoe-west-1"),
    ),
    (
        "123456789012.dkr.ecr.us-isof-east-1.csp.hci.ic.gov",
        ("123456789012", False, "us-isof-east-1"),
    ),
    (
        "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        ("123456789012", True, "us-gov-west-1"),
    ),
    ("https://public.ecr.aws", PUBLIC),
    ("public.ecr.aws", PUBLIC),
    ("https://public.ecr.aws/amazonlinux", PUBLIC),
    (".dkr.ecr.not-real.amazonaws.com", None),
    ("not.ecr.io", None),
    ("https://123456789012.dkr.ecr.us-west-2.amazonaws.com.fake.example.com/image:latest", None),
    ("123456789012.dkr.ecr.us-west-2.amazonaws.com.fake.example.com", None),
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com.fake.example.com", None),
    ("210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn.fake.example.com.cn", None),
    ("https://public.ecr.aws.fake.example.com", None),
    ("public.ecr.aws.fake.example.com", None),
]


def _summary(host):
    if host is None:
        return None
    if host.public:
        return PUBLIC
    return (host.registry_id, host.fips, host.region)


@pytest.mark.parametrize(("text", "expected"), REFERENCE_CASES)
def test_agrees_with_the_reference_helper(text, expected):
    assert _summary(parse_ecr_host(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
            EcrHost(
                host="123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu",
                registry_id="123456789012",
                region="eusc-de-east-1",
                dns_suffix="amazonaws.eu",
            ),
        ),
        (
            "123456789012.dkr-ecr-fips.us-east-1.on.aws",
            EcrHost(
                host="123456789012.dkr-ecr-fips.us-east-1.on.aws",
                registry_id="123456789012",
                region="us-east-1",
                fips=True,
                dual_stack=True,
                dns_suffix="on.aws",
            ),
        ),
        (
            "123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
            EcrHost(
                host="123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn",
                registry_id="123456789012",
                region="cn-northwest-1",
                dual_stack=True,
                dns_suffix="on.amazonwebservices.com.cn",
            ),
        ),
        (
            "123456789012.dkr-ecr-fips.us-gov-east-1.on.aws",
            EcrHost(
                host="123456789012.dkr-ecr-fips.us-gov-east-1.on.aws",
                registry_id="123456789012",
                region="us-gov-east-1",
                fips=True,
                dual_stack=True,
                dns_suffix="on.aws",
            ),
        ),
        (
            "ecr-public.aws.com",
            EcrHost(
                host="ecr-public.aws.com",
                registry_id=None,
                region=None,
                dual_stack=True,
                public=True,
            ),
        ),
        (
            "HTTPS://123456789012.DKR.ECR.EU-WEST-1.AMAZONAWS.COM/Team/App",
            EcrHost(
                host="123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                registry_id="123456789012",
                region="eu-west-1",
                dns_suffix="amazonaws.com",
            ),
        ),
        (
            "  http://123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/ ",
            EcrHost(
                host="123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov",
                registry_id="123456789012",
                region="us-isob-east-1",
                dns_suffix="sc2s.sgov.gov",
            ),
        ),
    ],
)
def test_every_partition_and_form(text, expected):
    assert parse_ecr_host(text) == expected


def test_public_hosts_take_tokens_from_us_east_1():
    public = parse_ecr_host("public.ecr.aws")
    assert public is not None
    assert (public.registry_id, public.region, public.api_region) == (None, None, "us-east-1")
    private = parse_ecr_host(CROSS_HOST)
    assert private is not None
    assert private.api_region == "eu-west-1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "https://",
        f"{HOST}:443",
        f"https://{HOST}:443/v2/",
        f"{HOST}.",
        f"{HOST}..",
        f"{HOST}.evil.example",
        f"{HOST}.evil.example/team/app",
        f"evil.example/{HOST}",
        f"https://evil.example/{HOST}/app",
        f"{HOST}@evil.example",
        f"https://{HOST}@evil.example/app",
        f"https://user@{HOST}/app",
        f"x{HOST}",
        f"www.{HOST}",
        f"ftp://{HOST}",
        f"{HOST} .evil.example",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
        "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
        "dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr..amazonaws.com",
        "123456789012.dkr.ecr.amazonaws.com",
        "123456789012.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
        "123456789012.dkr.ecr.us-iso-east-1.amazonaws.com",
        "123456789012.dkr.ecr.eusc-de-east-1.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.on.aws",
        "123456789012.dkr-ecr.us-east-1.amazonaws.com",
        "123456789012.dkr-ecr.cn-north-1.on.aws",
        "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com.evil.example",
        "123456789012.dkr.ecr.us_east_1.amazonaws.com",
        "123456789012.d\u212ar.ecr.us-east-1.amazonaws.com",  # KELVIN SIGN lowercases to "k"
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff11\uff12"
        ".dkr.ecr.us-east-1.amazonaws.com",  # full-width digits
        "[::1]",
        "public.ecr.aws:443",
        "public.ecr.aws.",
        "xpublic.ecr.aws",
        "ecr.aws",
        "public-ecr.aws",
        "ecr-public.aws.com.evil.example",
        "ecr.us-west-1.amazonaws.com",
    ],
)
def test_refuses_lookalikes_ports_and_garbage(text):
    assert parse_ecr_host(text) is None


def test_rejects_a_non_string():
    with pytest.raises(TypeError):
        parse_ecr_host(b"public.ecr.aws")  # type: ignore[arg-type]


_REGIONS_AND_SUFFIXES = [
    ("us-east-1", "amazonaws.com", "on.aws"),
    ("ap-southeast-7", "amazonaws.com", "on.aws"),
    ("us-gov-west-1", "amazonaws.com", "on.aws"),
    ("cn-north-1", "amazonaws.com.cn", "on.amazonwebservices.com.cn"),
    ("eusc-de-east-1", "amazonaws.eu", None),
    ("us-iso-west-1", "c2s.ic.gov", None),
    ("us-isob-east-1", "sc2s.sgov.gov", None),
    ("eu-isoe-west-1", "cloud.adc-e.uk", None),
    ("us-isof-south-1", "csp.hci.ic.gov", None),
]


@st.composite
def ecr_hosts(draw):
    account = draw(st.from_regex(r"[0-9]{12}", fullmatch=True))
    region, ipv4_suffix, dual_suffix = draw(st.sampled_from(_REGIONS_AND_SUFFIXES))
    dual = dual_suffix is not None and draw(st.booleans())
    fips = draw(st.booleans())
    kind = "dkr-ecr" if dual else "dkr.ecr"
    suffix = dual_suffix if dual else ipv4_suffix
    host = f"{account}.{kind}{'-fips' if fips else ''}.{region}.{suffix}"
    return host, account, region, fips, dual


@given(ecr_hosts(), st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True))
def test_generated_hosts_parse_and_their_extensions_do_not(generated, label):
    host, account, region, fips, dual = generated
    parsed = parse_ecr_host(host)
    assert parsed is not None
    assert (parsed.registry_id, parsed.region, parsed.fips, parsed.dual_stack) == (
        account,
        region,
        fips,
        dual,
    )
    assert parse_ecr_host(f"https://{host.upper()}/{label}") == parsed
    assert parse_ecr_host(f"{host}.{label}") is None
    assert parse_ecr_host(f"{host}.{label}.example") is None
    assert parse_ecr_host(f"{label}.{host}") is None
    assert parse_ecr_host(f"{host}:{len(label)}") is None
    assert parse_ecr_host(f"{host}-{label}") is None


# --- helpers for the provider tests -----------------------------------------------------------


class _Raw:
    """The raw body of a fake HTTP response, as botocore reads it."""

    def __init__(self, body):
        self._body = body

    def stream(self, **_kwargs):
        yield self._body


def _response(url, status, body):
    headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.1"})
    return AWSResponse(url, status, headers, _Raw(json.dumps(body).encode()))


def _token_body(account, region, password=CANARY, expires=BEFORE_MOTO_EXPIRY):
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return {
        "authorizationData": [
            {
                "authorizationToken": b64(f"AWS:{password}"),
                "expiresAt": (expires + dt.timedelta(hours=12)).timestamp(),
                "proxyEndpoint": f"https://{account}.dkr.ecr.{region}.{suffix}",
            }
        ]
    }


class FakeAws:
    """Answers every ECR request of a boto3 session from the test, before it leaves the host.

    ``answer`` maps (url, params) to (status, body); the default gives a valid token.
    """

    def __init__(self, session):
        self.requests = []
        self.answer = None
        self._params = {}
        session.events.register(
            "before-parameter-build.ecr.GetAuthorizationToken", self._remember_params
        )
        session.events.register("before-send.ecr.GetAuthorizationToken", self._send)

    def _remember_params(self, params, **_kwargs):
        self._params[threading.get_ident()] = dict(params)

    def _send(self, request, **_kwargs):
        params = self._params[threading.get_ident()]
        self.requests.append((request.url, params))
        if self.answer is not None:
            status, body = self.answer(request.url, params)
        else:
            region = re.search(r"ecr(?:-fips)?\.([a-z0-9-]+)\.", request.url)
            assert region is not None
            status, body = 200, _token_body(params["registryIds"][0], region[1])
        return _response(request.url, status, body)


class FakeClient:
    """A stand-in for an ECR client, for ``client_factory``."""

    def __init__(self, body=None, respond=None):
        self.calls = []
        self.body = body
        self.respond = respond

    def get_authorization_token(self, **params):
        self.calls.append(params)
        if self.respond is not None:
            return self.respond(**params)
        return self.body


def factory_for(clients):
    """A client factory handing out the FakeClient for each (service, region, fips)."""
    made = []

    def factory(service, region, fips):
        made.append((service, region, fips))
        return clients[(service, region, fips)]

    factory.made = made  # type: ignore[attr-defined]
    return factory


def _fake_token(account, region, password, hours=12):
    return {
        "authorizationData": [
            {
                "authorizationToken": b64(f"AWS:{password}"),
                "expiresAt": BEFORE_MOTO_EXPIRY + dt.timedelta(hours=hours),
                "proxyEndpoint": f"https://{account}.dkr.ecr.{region}.amazonaws.com",
            }
        ]
    }


# --- the provider: basics ---------------------------------------------------------------------


def test_is_an_invalidating_provider_named_ecr(aws_env):
    provider = EcrProvider()
    assert isinstance(provider, CredentialProvider)
    assert isinstance(provider, InvalidatingProvider)
    assert provider.name == "ecr"


def test_answers_none_for_other_registries_without_calling_aws(clock):
    def factory(*_args):
        raise AssertionError("no AWS call may be made for a non-ECR reference")

    provider = EcrProvider(client_factory=factory, clock=clock)
    for text in [
        "ubuntu:22.04",
        "localhost:5000/team/app",
        "quay.io/org/app",
        f"{HOST}.evil.example/team/app",
        f"{HOST}:443/team/app",
        f"evil.example/{HOST}/app",
        f"x{HOST}/team/app",
        "public.ecr.aws.evil.example/app",
    ]:
        assert provider.get_credentials(ref(text)) is None, text
        provider.invalidate(ref(text))  # a no-op for references that are not ours


def test_token_from_moto_in_process(aws_env, clock):
    with moto.mock_aws():
        session = boto3.Session()
        seen = []
        session.events.register(
            "before-parameter-build.ecr.GetAuthorizationToken",
            lambda params, **_: seen.append(dict(params)),
        )
        urls = []
        session.events.register(
            "before-send.ecr.GetAuthorizationToken", lambda request, **_: urls.append(request.url)
        )
        provider = EcrProvider(session=session, clock=clock)
        creds = provider.get_credentials(ref(f"{CROSS_HOST}/team/app:1.0"))
    assert creds is not None
    assert creds.username == "AWS"
    # moto's token for an account is "<account>-auth-token": this one is the other account's.
    assert creds.password == Secret(f"{OTHER_ACCOUNT}-auth-token")
    assert creds.registry == CROSS_HOST
    assert creds.provider == "ecr"
    assert creds.expires_at == dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc)
    assert creds.expires_at.utcoffset() == dt.timedelta(0)
    # Cross-account: the registry's own account id, in the registry's own region.
    assert seen == [{"registryIds": [OTHER_ACCOUNT]}]
    assert urls == ["https://api.ecr.eu-west-1.amazonaws.com/"]


def test_token_from_a_moto_server(aws_env, clock, moto_server):
    session = boto3.Session()
    calls = []
    session.events.register(
        "before-parameter-build.ecr.GetAuthorizationToken",
        lambda params, **_: calls.append(dict(params)),
    )
    provider = EcrProvider(session=session, endpoint_url=moto_server.endpoint_url, clock=clock)
    creds = provider.get_credentials(ref(f"{HOST}/team/app"))
    assert creds is not None
    assert (creds.username, creds.password) == ("AWS", Secret(f"{ACCOUNT}-auth-token"))
    assert provider.get_credentials(ref(f"{HOST}/other/app:2")) == creds
    assert calls == [{"registryIds": [ACCOUNT]}]


def test_registry_keeps_the_spelling_of_the_reference(clock):
    host = f"{ACCOUNT}.DKR.ECR.us-east-1.amazonaws.com"
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}), clock=clock
    )
    creds = provider.get_credentials(ImageReference(registry=host, repository="team/app"))
    assert creds is not None
    assert creds.registry == host
    assert provider.get_credentials(ref(f"{HOST}/team/app")) is not None
    assert len(client.calls) == 1  # one token for both spellings of the host


# --- single flight and warm cache, in-process and against a server ----------------------------


@pytest.fixture(params=["in-process", "server"])
def moto_endpoint(request, aws_env):
    if request.param == "in-process":
        with moto.mock_aws():
            yield None
    else:
        yield request.getfixturevalue("moto_server").endpoint_url


def test_64_threads_make_one_call_and_1000_warm_lookups_none(moto_endpoint, clock):
    session = boto3.Session()
    calls = []
    lock = threading.Lock()
    release = threading.Event()

    def count(**_kwargs):
        with lock:
            calls.append(1)
        release.wait(5)  # hold the one fetch until every thread is waiting for it

    session.events.register("before-call.ecr.GetAuthorizationToken", count)
    provider = EcrProvider(session=session, endpoint_url=moto_endpoint, clock=clock)
    reference = ref(f"{HOST}/team/app:1")
    barrier = threading.Barrier(64)
    results, errors = [], []

    def resolve():
        barrier.wait()
        try:
            results.append(provider.get_credentials(reference))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=resolve) for _ in range(64)]
    for thread in threads:
        thread.start()
    while not calls:
        release.wait(0.01)
    release.wait(0.3)
    release.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(results) == 64
    assert all(r == results[0] for r in results)
    assert results[0].password == Secret(f"{ACCOUNT}-auth-token")
    assert len(calls) == 1

    for _ in range(1000):
        assert provider.get_credentials(reference) == results[0]
    assert len(calls) == 1


# --- failures: stale-on-error, wrapped errors, no secrets -------------------------------------


def _throttle(url, _params):
    return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}


def test_throttling_serves_the_cached_token_then_fails_without_one(aws_env, clock, caplog):
    session = boto3.Session()
    aws = FakeAws(session)
    provider = EcrProvider(session=session, max_attempts=1, clock=clock)
    reference = ref(f"{HOST}/team/app")
    first = provider.get_credentials(reference)
    assert first is not None
    assert first.password == Secret(CANARY)

    clock.advance(hours=7)  # past the refresh point (6 h), before expiry (12 h)
    aws.answer = _throttle
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        served = provider.get_credentials(reference)
    assert served == first
    assert len(aws.requests) == 2  # the refresh was tried
    warnings = [r for r in caplog.records if r.name == "registry_auth.cache"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    message = warnings[0].getMessage()
    assert HOST in message
    assert "ThrottlingException" in message
    assert CANARY not in caplog.text
    assert b64(f"AWS:{CANARY}") not in caplog.text

    clock.advance(hours=6)  # now the cached token has expired too
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(reference)
    error = info.value
    assert error.registry == HOST
    assert error.provider == "ecr"
    assert HOST in str(error)
    assert "ThrottlingException" in str(error)
    assert isinstance(error.__cause__, ClientError)
    assert CANARY not in repr(error)
    assert "Rate exceeded" not in str(error)


def test_throttling_without_a_cached_token_raises(aws_env, clock):
    session = boto3.Session()
    aws = FakeAws(session)
    aws.answer = _throttle
    provider = EcrProvider(session=session, max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError, match=re.escape(HOST)) as info:
        provider.get_credentials(ref(f"{HOST}/team/app"))
    assert info.value.registry == HOST
    assert isinstance(info.value.__cause__, ClientError)


def test_access_denied_is_wrapped_without_the_aws_message(aws_env, clock):
    session = boto3.Session()
    aws = FakeAws(session)
    # AWS's own text (which botocore logs at DEBUG, as it is) never reaches our error.
    marker = "aws-message-marker-5521"
    secretish = f"User arn:aws:iam::{ACCOUNT}:user/ci with key {marker} is not authorized"
    aws.answer = lambda _url, _params: (
        400,
        {"__type": "AccessDeniedException", "message": secretish},
    )
    provider = EcrProvider(session=session, max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{HOST}/team/app"))
    assert "AccessDeniedException" in str(info.value)
    assert HOST in str(info.value)
    assert marker not in str(info.value)
    assert marker not in repr(info.value)
    assert isinstance(info.value.__cause__, ClientError)


def test_unreachable_aws_serves_the_cached_token_then_names_the_registry(
    aws_env, clock, start_moto_server, caplog
):
    server = start_moto_server()
    provider = EcrProvider(endpoint_url=server.endpoint_url, max_attempts=1, timeout=2, clock=clock)
    reference = ref(f"{HOST}/team/app")
    first = provider.get_credentials(reference)
    assert first is not None

    server.stop()  # AWS is now unreachable
    clock.advance(hours=8)
    with caplog.at_level(logging.WARNING, logger="registry_auth.cache"):
        assert provider.get_credentials(reference) == first
    assert "EndpointConnectionError" in caplog.text
    assert HOST in caplog.text
    assert first.password.reveal() not in caplog.text

    provider.invalidate(reference)  # nothing cached any more
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(reference)
    assert info.value.registry == HOST
    assert HOST in str(info.value)
    assert "EndpointConnectionError" in str(info.value)
    assert isinstance(info.value.__cause__, EndpointConnectionError)


def test_no_aws_credentials_is_a_token_fetch_error(no_aws_env, clock):
    provider = EcrProvider(endpoint_url="http://127.0.0.1:9", max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{CROSS_HOST}/team/app"))
    assert "NoCredentialsError" in str(info.value)
    assert CROSS_HOST in str(info.value)
    assert isinstance(info.value.__cause__, NoCredentialsError)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({"authorizationData": []}, "no token"),
        ({}, "no token"),
        ({"authorizationData": [{"proxyEndpoint": f"https://{HOST}"}]}, "no token"),
        (
            {
                "authorizationData": [
                    {"authorizationToken": "AWS:" + CANARY, "proxyEndpoint": f"https://{HOST}"}
                ]
            },
            "not base64",
        ),
        (
            {
                "authorizationData": [
                    {"authorizationToken": b64(CANARY), "proxyEndpoint": f"https://{HOST}"}
                ]
            },
            "not 'user:password'",
        ),
    ],
)
def test_malformed_answers_are_refused_without_quoting_them(clock, body, what):
    client = FakeClient(body=body)
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}), clock=clock
    )
    with pytest.raises(TokenFetchError, match=re.escape(what)) as info:
        provider.get_credentials(ref(f"{HOST}/app"))
    assert CANARY not in str(info.value)
    assert info.value.registry == HOST


def test_a_token_for_another_account_is_refused(clock):
    # ECR answering with another registry's endpoint: never hand that token to this host.
    client = FakeClient(body=_fake_token(OTHER_ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}), clock=clock
    )
    with pytest.raises(TokenFetchError, match="no token"):
        provider.get_credentials(ref(f"{HOST}/app"))
    assert client.calls == [{"registryIds": [ACCOUNT]}]


def test_a_token_is_never_reused_for_another_registry(clock):
    def answer(region):
        def respond(registryIds):  # noqa: N803 - the API's parameter name
            account = registryIds[0]
            return _fake_token(account, region, f"pw-{account}-{region}")

        return respond

    clients = {
        ("ecr", "us-east-1", False): FakeClient(respond=answer("us-east-1")),
        ("ecr", "eu-west-1", False): FakeClient(respond=answer("eu-west-1")),
        ("ecr", "us-east-1", True): FakeClient(respond=answer("us-east-1")),
    }
    factory = factory_for(clients)
    provider = EcrProvider(client_factory=factory, clock=clock)

    a = provider.get_credentials(ref(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app"))
    other_account = provider.get_credentials(
        ref(f"{OTHER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app")
    )
    other_region = provider.get_credentials(ref(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app"))
    fips = provider.get_credentials(ref(f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com/app"))
    lookalike = provider.get_credentials(
        ref(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.evil.example/app")
    )
    assert lookalike is None
    assert a is not None
    assert other_account is not None
    assert other_region is not None
    assert fips is not None
    assert a.password == Secret(f"pw-{ACCOUNT}-us-east-1")
    assert other_account.password == Secret(f"pw-{OTHER_ACCOUNT}-us-east-1")
    assert other_region.password == Secret(f"pw-{ACCOUNT}-eu-west-1")
    assert fips.registry == f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com"
    assert clients[("ecr", "us-east-1", False)].calls == [
        {"registryIds": [ACCOUNT]},
        {"registryIds": [OTHER_ACCOUNT]},
    ]
    assert clients[("ecr", "eu-west-1", False)].calls == [{"registryIds": [ACCOUNT]}]
    assert clients[("ecr", "us-east-1", True)].calls == [{"registryIds": [ACCOUNT]}]


def test_invalidate_drops_the_cached_token(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}), clock=clock
    )
    reference = ref(f"{HOST}/app")
    provider.get_credentials(reference)
    provider.get_credentials(reference)
    assert len(client.calls) == 1
    provider.invalidate(reference)
    provider.get_credentials(reference)
    assert len(client.calls) == 2


def test_fresh_until_is_when_the_cache_would_ask_again(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}), clock=clock
    )
    reference = ref(f"{HOST}/app")
    assert provider.fresh_until(reference) is None  # nothing cached yet
    provider.get_credentials(reference)
    assert provider.fresh_until(reference) == BEFORE_MOTO_EXPIRY + dt.timedelta(hours=6)
    assert provider.fresh_until(ref("quay.io/app")) is None  # not an ECR registry
    clock.advance(hours=6)
    assert provider.fresh_until(reference) is None  # due for a refresh
    provider.invalidate(reference)
    assert provider.fresh_until(reference) is None
    assert len(client.calls) == 1


def test_fips_and_dual_stack_hosts_use_the_matching_api_endpoints(aws_env, clock):
    session = boto3.Session()
    aws = FakeAws(session)
    provider = EcrProvider(session=session, max_attempts=1, clock=clock)
    cases = {
        f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com": (
            "https://api.ecr-fips.us-gov-west-1.amazonaws.com/"
        ),
        f"{ACCOUNT}.dkr.ecr-fips.us-east-1.amazonaws.com": (
            "https://api.ecr-fips.us-east-1.amazonaws.com/"
        ),
        f"{ACCOUNT}.dkr-ecr.us-west-2.on.aws": "https://ecr.us-west-2.api.aws/",
        f"{ACCOUNT}.dkr-ecr-fips.us-west-2.on.aws": "https://ecr-fips.us-west-2.api.aws/",
        f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn": (
            "https://api.ecr.cn-north-1.amazonaws.com.cn/"
        ),
        f"{ACCOUNT}.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn": (
            "https://ecr.cn-north-1.api.amazonwebservices.com.cn/"
        ),
        f"{ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com": "https://api.ecr.eu-central-1.amazonaws.com/",
    }
    for host, url in cases.items():
        creds = provider.get_credentials(ref(f"{host}/team/app"))
        assert creds is not None
        assert creds.registry == host
        assert aws.requests[-1] == (url, {"registryIds": [ACCOUNT]}), host


def test_client_factory_gets_the_fips_flag_and_region(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "us-gov-west-1", CANARY))
    factory = factory_for({("ecr", "us-gov-west-1", True): client})
    provider = EcrProvider(client_factory=factory, clock=clock)
    creds = provider.get_credentials(ref(f"{ACCOUNT}.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a"))
    assert creds is not None
    assert factory.made == [("ecr", "us-gov-west-1", True)]


# --- ECR Public -------------------------------------------------------------------------------


def test_ecr_public_uses_the_ecr_public_api_in_us_east_1(aws_env, clock):
    client = boto3.Session().client("ecr-public", region_name="us-east-1")
    stubber = Stubber(client)
    expires = BEFORE_MOTO_EXPIRY + dt.timedelta(hours=12)
    stubber.add_response(
        "get_authorization_token",
        {"authorizationData": {"authorizationToken": b64(f"AWS:{CANARY}"), "expiresAt": expires}},
        {},
    )
    made = []

    def factory(service, region, fips):
        made.append((service, region, fips))
        return client

    provider = EcrProvider(client_factory=factory, clock=clock)
    with stubber:
        creds = provider.get_credentials(ref("public.ecr.aws/nginx/nginx:latest"))
        again = provider.get_credentials(ref("public.ecr.aws/docker/library/alpine"))
    stubber.assert_no_pending_responses()
    assert made == [("ecr-public", "us-east-1", False)]
    assert creds is not None
    assert again == creds
    assert (creds.username, creds.password, creds.registry) == (
        "AWS",
        Secret(CANARY),
        "public.ecr.aws",
    )
    assert creds.expires_at == expires


def test_ecr_public_can_be_switched_off(clock):
    def factory(*_args):
        raise AssertionError("no call expected")

    provider = EcrProvider(client_factory=factory, public=False, clock=clock)
    assert provider.get_credentials(ref("public.ecr.aws/nginx/nginx")) is None
    assert provider.get_credentials(ref("ecr-public.aws.com/nginx/nginx")) is None


# --- options ----------------------------------------------------------------------------------


def test_registry_ids_limit_the_accounts_served(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}),
        registry_ids=[ACCOUNT],
        clock=clock,
    )
    assert (
        provider.get_credentials(ref(f"{OTHER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/a")) is None
    )
    assert provider.get_credentials(ref(f"{HOST}/a")) is not None
    assert client.calls == [{"registryIds": [ACCOUNT]}]


@pytest.mark.parametrize("bad", [["12345"], [123456789012], ["12345678901x"]])
def test_registry_ids_are_validated(bad, aws_env):
    with pytest.raises(ConfigurationError, match="12-digit"):
        EcrProvider(registry_ids=bad)


def test_settings_per_registry_and_glob(aws_env):
    provider = EcrProvider(
        profile="default-profile",
        registries={
            "*.dkr.ecr.*.amazonaws.com": {"profile": "any-region"},
            f"{ACCOUNT}.dkr.ecr.*.amazonaws.com": {"profile": "prod"},
            f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com": EcrSettings(
                role_arn=f"arn:aws:iam::{ACCOUNT}:role/pull", external_id="ext-1234"
            ),
            "*.dkr-ecr.*.on.aws": {},
        },
    )
    assert provider.settings_for(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com") == EcrSettings(
        profile="default-profile",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/pull",
        external_id="ext-1234",
    )
    assert provider.settings_for(f"{ACCOUNT}.DKR.ECR.us-east-1.amazonaws.com").profile == "prod"
    assert provider.settings_for(f"{OTHER_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com").profile == (
        "any-region"
    )
    assert provider.settings_for(f"{ACCOUNT}.dkr-ecr.us-east-1.on.aws").profile == (
        "default-profile"
    )
    assert provider.settings_for("public.ecr.aws") == EcrSettings(profile="default-profile")
    # a glob label covers one label only
    assert provider.settings_for(f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com.cn").profile == (
        "default-profile"
    )


def test_a_role_of_its_own_does_not_inherit_the_default_external_id(aws_env):
    provider = EcrProvider(
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/default",
        external_id="default-ext",
        registries={HOST: {"role_arn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/other"}},
    )
    settings = provider.settings_for(HOST)
    assert settings.role_arn == f"arn:aws:iam::{OTHER_ACCOUNT}:role/other"
    assert settings.external_id is None


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"registries": {"https://x.example/": {}}}, "registry pattern"),
        ({"registries": {"host.example:5000": {}}}, "registry pattern"),
        ({"registries": {"": {}}}, "registry pattern"),
        ({"registries": {HOST: {"profil": "x"}}}, "unknown option"),
        ({"registries": {HOST: {"profile": 3}}}, "must be a string"),
        ({"registries": {HOST: "prod"}}, "table of options"),
        ({"role_arn": "arn:aws:iam::123:role/x"}, "role_arn"),
        ({"role_arn": "prod-role"}, "role_arn"),
        ({"external_id": "abc"}, "need a role_arn"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:role/x", "role_session_name": "a b"}, "session"),
        ({"role_arn": f"arn:aws:iam::{ACCOUNT}:role/x", "external_id": "x"}, "external_id"),
        ({"profile": " "}, "profile"),
        ({"timeout": 0}, "timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"session": object(), "client_factory": lambda *a: None}, "not both"),
        ({"cache": TokenCache(), "clock": lambda: BEFORE_MOTO_EXPIRY}, "clock"),
        ({"cache": TokenCache(), "cache_dir": "/nonexistent"}, "directory"),
    ],
)
def test_invalid_options_are_configuration_errors(aws_env, options, match):
    with pytest.raises(ConfigurationError, match=match) as info:
        EcrProvider(**options)
    assert info.value.provider == "ecr"


def test_repr_shows_the_configuration_but_no_secret(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "us-east-1", False): client}),
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/pull",
        external_id="canary-external-id",
        registries={HOST: {"profile": "prod"}},
        registry_ids=[ACCOUNT],
        endpoint_url="http://127.0.0.1:5000",
        clock=clock,
    )
    provider.get_credentials(ref(f"{HOST}/app"))
    text = repr(provider)
    assert "canary-external-id" not in text
    assert CANARY not in text
    assert b64(f"AWS:{CANARY}") not in text
    for shown in [f"arn:aws:iam::{ACCOUNT}:role/pull", "'prod'", "http://127.0.0.1:5000"]:
        assert shown in text


# --- profiles, roles and identities (moto in-process) -----------------------------------------


@pytest.fixture
def recorded_requests(monkeypatch):
    """Every AWS request that any boto3 session sends: (service operation, url, access key)."""
    requests = []

    def record(request, event_name, **_kwargs):
        authorization = request.headers.get("Authorization", b"")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        key = re.search(r"Credential=([^/]+)/", authorization)
        requests.append((event_name.split(".", 1)[1], request.url, key and key[1]))

    monkeypatch.setattr(
        botocore.handlers,
        "BUILTIN_HANDLERS",
        [*botocore.handlers.BUILTIN_HANDLERS, ("before-send", record)],
    )
    return requests


@pytest.fixture
def aws_profiles(aws_env, tmp_path, monkeypatch):
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile prod]\n"
        "aws_access_key_id = AKIAPRODEXAMPLE00001\n"
        "aws_secret_access_key = prod-secret\n"
        "[profile dev]\n"
        "aws_access_key_id = AKIADEVEXAMPLE000001\n"
        "aws_secret_access_key = dev-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


def test_a_profile_per_registry_signs_the_request(aws_profiles, clock, recorded_requests):
    with moto.mock_aws():
        provider = EcrProvider(
            registries={f"{OTHER_ACCOUNT}.dkr.ecr.*.amazonaws.com": {"profile": "prod"}},
            clock=clock,
        )
        assert provider.get_credentials(ref(f"{CROSS_HOST}/app")) is not None
        assert provider.get_credentials(ref(f"{HOST}/app")) is not None
        environment_key = os.environ["AWS_ACCESS_KEY_ID"]  # moto sets its own while mocking
    keys = [key for op, _url, key in recorded_requests if op == "ecr.GetAuthorizationToken"]
    assert keys == ["AKIAPRODEXAMPLE00001", environment_key]


def test_a_role_is_assumed_before_asking_ecr(aws_env, clock, recorded_requests):
    with moto.mock_aws():
        session = boto3.Session()
        assume_params = []
        session.events.register(
            "before-parameter-build.sts.AssumeRole",
            lambda params, **_: assume_params.append(dict(params)),
        )
        provider = EcrProvider(
            session=session,
            role_arn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/puller",
            external_id="ext-1234",
            clock=clock,
        )
        creds = provider.get_credentials(ref(f"{CROSS_HOST}/app"))
        environment_key = os.environ["AWS_ACCESS_KEY_ID"]  # moto sets its own while mocking
    assert creds is not None
    assert assume_params == [
        {
            "RoleArn": f"arn:aws:iam::{OTHER_ACCOUNT}:role/puller",
            "RoleSessionName": "registry-auth",
            "ExternalId": "ext-1234",
        }
    ]
    ops = [(op, url, key) for op, url, key in recorded_requests]
    assert [op for op, _, _ in ops] == ["sts.AssumeRole", "ecr.GetAuthorizationToken"]
    assert ops[0][1] == "https://sts.eu-west-1.amazonaws.com/"
    assert ops[0][2] == environment_key
    assert ops[1][2] not in {None, environment_key}  # signed with the role's temporary key


def test_identities_do_not_share_tokens(aws_profiles, clock):
    cache = TokenCache(clock=clock)
    with moto.mock_aws():
        prod = EcrProvider(profile="prod", cache=cache)
        dev = EcrProvider(profile="dev", cache=cache)
        prod_again = EcrProvider(profile="prod", cache=cache)
        reference = ref(f"{HOST}/app")
        prod.get_credentials(reference)
        dev.get_credentials(reference)
        prod_again.get_credentials(reference)
    keys = set(cache.keys())
    assert len(keys) == 2
    assert {k.registry for k in keys} == {HOST}
    for key in keys:
        assert "prod" not in key.identity
        assert "AKIA" not in key.identity


def test_short_lived_processes_share_the_disk_cache(aws_env, clock, tmp_path):
    calls = []
    with moto.mock_aws():
        for _ in range(3):  # three "processes", each with a fresh provider and cache
            session = boto3.Session()
            session.events.register(
                "before-call.ecr.GetAuthorizationToken", lambda **_: calls.append(1)
            )
            provider = EcrProvider(session=session, cache_dir=tmp_path / "ecr-cache", clock=clock)
            creds = provider.get_credentials(ref(f"{HOST}/app"))
            assert creds is not None
            assert creds.password == Secret(f"{ACCOUNT}-auth-token")
    assert len(calls) == 1
    text = (tmp_path / "ecr-cache" / "tokens.json").read_text()
    assert f"{ACCOUNT}-auth-token" not in text
    assert "testing" not in text


# --- boto3 is optional and imported late ------------------------------------------------------


def test_importing_the_module_does_not_import_boto3():
    code = (
        "import sys\n"
        "import registry_auth\n"
        "import registry_auth.providers.ecr as ecr\n"
        "from registry_auth import ImageReference\n"
        "p = ecr.EcrProvider()\n"
        "assert p.get_credentials(ImageReference.parse('ubuntu')) is None\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore'})\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "[]"


def test_without_boto3_the_error_names_the_extra(aws_env, clock, monkeypatch):
    provider = EcrProvider(clock=clock)  # boto3 importable when built, gone when used
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigurationError, match=re.escape("registry-auth[ecr]")):
        EcrProvider()
    with pytest.raises(ProviderError, match=re.escape("registry-auth[ecr]")) as info:
        provider.get_credentials(ref(f"{HOST}/app"))
    assert not isinstance(info.value, TokenFetchError)
    assert isinstance(info.value.__cause__, ImportError)
    # a client factory needs no boto3
    client = FakeClient(body=_fake_token(ACCOUNT, "us-east-1", CANARY))
    factory = factory_for({("ecr", "us-east-1", False): client})
    assert EcrProvider(client_factory=factory, clock=clock).get_credentials(ref(f"{HOST}/a"))


# --- what an AWS failure says: where credentials were looked for, which endpoint failed -------


def test_no_credentials_says_where_they_were_looked_for(no_aws_env, clock, tmp_path):
    provider = EcrProvider(endpoint_url="http://127.0.0.1:9", max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{CROSS_HOST}/team/app"))
    message = str(info.value)
    assert message.startswith(
        f"could not get an ECR token for {CROSS_HOST}: NoCredentialsError: no AWS credentials "
        "found (profile 'default'; looked in environment variables AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, "
    )
    assert f"the shared credentials file {tmp_path / 'no-aws-credentials'}" in message
    assert f"the config file {tmp_path / 'no-aws-config'}" in message
    assert "container credentials" in message
    assert "the instance metadata service (switched off by AWS_EC2_METADATA_DISABLED)" in message


def test_a_named_profile_without_credentials_is_named(no_aws_env, clock, tmp_path):
    config = tmp_path / "no-aws-config"
    config.write_text("[profile empty]\nregion = eu-west-1\n")
    provider = EcrProvider(
        profile="empty", endpoint_url="http://127.0.0.1:9", max_attempts=1, clock=clock
    )
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{HOST}/team/app"))
    message = str(info.value)
    assert "NoCredentialsError: no AWS credentials found (profile 'empty'; looked in " in message
    # A named profile is not read from the environment variables: the message does not say so.
    assert "AWS_ACCESS_KEY_ID" not in message


def test_an_unknown_profile_names_the_files(no_aws_env, clock, tmp_path):
    provider = EcrProvider(profile="nosuch", max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{HOST}/team/app"))
    message = str(info.value)
    assert "ProfileNotFound: the AWS profile 'nosuch' is not in " in message
    assert str(tmp_path / "no-aws-config") in message


def test_an_unreachable_endpoint_is_named_with_its_region(aws_env, clock, start_moto_server):
    server = start_moto_server()
    url = server.endpoint_url
    server.stop()  # nothing listens there any more
    provider = EcrProvider(endpoint_url=url, max_attempts=1, timeout=2, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{CROSS_HOST}/team/app"))
    assert str(info.value) == (
        f"could not get an ECR token for {CROSS_HOST}: EndpointConnectionError: could not "
        f"reach {url}/ (ecr in region eu-west-1)"
    )
    assert isinstance(info.value.__cause__, EndpointConnectionError)


def test_an_aws_refusal_names_the_code_and_the_endpoint(aws_env, clock, moto_server):
    # moto's server does not implement ECR Public: it answers HTTP 500, as a failing AWS would.
    provider = EcrProvider(endpoint_url=moto_server.endpoint_url, max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref("public.ecr.aws/team/app"))
    assert str(info.value) == (
        "could not get an ECR token for public.ecr.aws: ClientError 500 from "
        f"{moto_server.endpoint_url} (ecr-public in region us-east-1)"
    )
    assert "Internal Server Error" not in str(info.value)  # AWS's text is never quoted
    assert isinstance(info.value.__cause__, ClientError)


def test_the_default_endpoint_is_named_when_aws_refuses(aws_env, clock):
    session = boto3.Session()
    aws = FakeAws(session)
    aws.answer = lambda _url, _params: (400, {"__type": "AccessDeniedException"})
    provider = EcrProvider(session=session, max_attempts=1, clock=clock)
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{CROSS_HOST}/team/app"))
    assert str(info.value).endswith(
        "ClientError AccessDeniedException from https://api.ecr.eu-west-1.amazonaws.com "
        "(ecr in region eu-west-1)"
    )


def test_a_client_factory_failure_names_the_service_and_region(clock):
    def failing(**_params):
        raise RuntimeError("factory-client-down")

    client = FakeClient(respond=failing)
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "eu-west-1", False): client}), clock=clock
    )
    with pytest.raises(TokenFetchError) as info:
        provider.get_credentials(ref(f"{CROSS_HOST}/team/app"))
    assert str(info.value) == (
        f"could not get an ECR token for {CROSS_HOST}: RuntimeError (ecr in eu-west-1)"
    )


# --- a registry reached under another name ----------------------------------------------------

ALIAS = "ecr.internal.example.com"


def test_an_alias_gets_its_registrys_token_from_moto(aws_env, clock, moto_server):
    session = boto3.Session()
    calls = []
    session.events.register(
        "before-parameter-build.ecr.GetAuthorizationToken",
        lambda params, **_: calls.append(dict(params)),
    )
    signatures = []
    session.events.register(
        "before-send.ecr.GetAuthorizationToken",
        lambda request, **_: signatures.append(request.headers["Authorization"]),
    )
    provider = EcrProvider(
        session=session,
        endpoint_url=moto_server.endpoint_url,
        registry=ALIAS,
        registry_id=OTHER_ACCOUNT,
        region="eu-west-1",
        clock=clock,
    )
    creds = provider.get_credentials(ref(f"{ALIAS}/team/app:1.0"))
    assert creds is not None
    assert (creds.username, creds.password) == ("AWS", Secret(f"{OTHER_ACCOUNT}-auth-token"))
    assert creds.registry == ALIAS
    assert calls == [{"registryIds": [OTHER_ACCOUNT]}]
    # Signed for ECR in the registry's region, whatever the name it is reached under.
    signature = signatures[0]
    if isinstance(signature, bytes):
        signature = signature.decode()
    assert "/eu-west-1/ecr/aws4_request" in signature
    # Cached under the alias: a second pull asks AWS nothing.
    assert provider.get_credentials(ref(f"{ALIAS}/other/app")) == creds
    assert len(calls) == 1
    # Other hosts are still not answered; ECR hosts by their own names still are.
    assert provider.get_credentials(ref("ecr.other.example.com/team/app")) is None
    assert provider.get_credentials(ref(f"{HOST}/team/app")) is not None


def test_an_alias_through_the_configuration_file(aws_env, clock, moto_server, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        f'[registries."{ALIAS}:8443"]\nprovider = "ecr"\nregistry_id = "{OTHER_ACCOUNT}"\n'
        f'region = "eu-west-1"\nendpoint_url = "{moto_server.endpoint_url}"\n'
    )
    resolver = CredentialResolver.from_config(path)
    creds = resolver.resolve(ref(f"{ALIAS}:8443/team/app"))
    assert creds is not None
    assert creds.password == Secret(f"{OTHER_ACCOUNT}-auth-token")
    assert creds.registry == f"{ALIAS}:8443"
    assert creds.provider == "ecr"
    assert resolver.resolve(ref(f"{ALIAS}/team/app")) is None  # the port must match


def test_an_alias_ignores_registry_ids_and_is_served_in_code(clock):
    client = FakeClient(body=_fake_token(OTHER_ACCOUNT, "eu-west-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "eu-west-1", False): client}),
        registry_ids=[ACCOUNT],
        registry=ALIAS,
        registry_id=OTHER_ACCOUNT,
        region="eu-west-1",
        clock=clock,
    )
    creds = provider.get_credentials(ref(f"{ALIAS}/team/app"))
    assert creds is not None
    assert creds.password.reveal() == CANARY
    assert client.calls == [{"registryIds": [OTHER_ACCOUNT]}]
    assert provider.get_credentials(ref(f"{CROSS_HOST}/team/app")) is None  # registry_ids
    assert f"registry={ALIAS!r}" in repr(provider)


def test_an_alias_refuses_a_token_for_another_registry(clock):
    client = FakeClient(body=_fake_token(ACCOUNT, "eu-west-1", CANARY))
    provider = EcrProvider(
        client_factory=factory_for({("ecr", "eu-west-1", False): client}),
        registry=ALIAS,
        registry_id=OTHER_ACCOUNT,
        region="eu-west-1",
        clock=clock,
    )
    with pytest.raises(TokenFetchError, match=f"ECR answered with no token for {ALIAS}"):
        provider.get_credentials(ref(f"{ALIAS}/team/app"))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"registry": ALIAS}, "registry given alone"),
        ({"registry_id": ACCOUNT, "region": "eu-west-1"}, "registry_id and region given alone"),
        ({"registry": ALIAS, "registry_id": "12", "region": "eu-west-1"}, "12-digit"),
        ({"registry": ALIAS, "registry_id": ACCOUNT, "region": "Ireland"}, "not an AWS region"),
        ({"registry": "bad host!", "registry_id": ACCOUNT, "region": "eu-west-1"}, "pattern"),
    ],
)
def test_alias_options_are_checked(aws_env, options, match):
    with pytest.raises(ConfigurationError, match=match):
        EcrProvider(**options)


# --- which configuration keys the provider could serve ----------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*.dkr.ecr.*.amazonaws.com", True),
        (HOST, True),
        (f"{HOST}/team", True),
        ("123456789012.dkr-ecr.us-west-2.on.aws", True),
        ("*.dkr.ecr-fips.*.amazonaws.com", True),
        ("*.dkr.ecr.*.amazonaws.com.cn", True),
        ("*.amazonaws.com.cn", False),
        ("public.ecr.aws", True),
        ("docker.io", False),
        ("quay.io", False),
        (f"{HOST}:443", False),
        ("12.dkr.ecr.eu-west-1.amazonaws.com", False),
        ("*.dkr.ecr.*.amazonaws.com.evil.example", False),
        (ALIAS, False),
    ],
)
def test_serves(aws_env, pattern, expected):
    assert EcrProvider().serves(RegistryPattern.parse(pattern)) is expected


def test_serves_its_alias_and_not_public_when_switched_off(aws_env):
    provider = EcrProvider(registry=ALIAS, registry_id=ACCOUNT, region="eu-west-1", public=False)
    assert provider.serves(RegistryPattern.parse(ALIAS)) is True
    assert provider.serves(RegistryPattern.parse("*.internal.example.com")) is True
    assert provider.serves(RegistryPattern.parse("*.example.com")) is False  # 3 labels, not 4
    assert provider.serves(RegistryPattern.parse("public.ecr.aws")) is False
