"""Credentials go to the registry they are for, and to no host that only looks like it.

Every built-in provider, and the resolver's routes, are given credentials for a few real
registries (Docker Hub, an ECR registry, a plain registry, a path under it), then asked for
trick references: the host as a subdomain or a path of another, with user information, other
ports, trailing dots, other case, Unicode look-alikes and punycode. Each trick is either refused
by the parser (``InvalidReferenceError``) or parsed to a registry; a provider may answer only if
that registry *is* the configured host (DNS names compare without regard to case), and then
only with credentials filed under the reference's own registry.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_auth import (
    ConfigurationError,
    CredentialResolver,
    Credentials,
    DockerConfigProvider,
    DockerHubProvider,
    EcrProvider,
    ImageReference,
    InvalidReferenceError,
    KeyringProvider,
    Route,
    StaticPasswordProvider,
)
from registry_auth._config import parse_config
from registry_auth._credential_helper import run as run_helper
from registry_auth._kubelet import API_VERSION, handle_request
from registry_auth.matching import RegistryPattern

HUB = "docker.io"
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
PLAIN = "registry.example.com"
HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

# Characters that look like ASCII letters of the hosts above.
CONFUSABLES = {
    "o": ["\u043e", "\u03bf", "\uff4f", "\u0585"],  # Cyrillic, Greek, fullwidth, Armenian
    "e": ["\u0435", "\uff45"],
    "a": ["\u0430", "\uff41"],
    "c": ["\u0441", "\u217d"],
    "i": ["\u0456", "\u0131"],
    "k": ["\u212a"],  # KELVIN SIGN, which str.lower() turns into "k"
    ".": ["\u3002", "\uff0e"],  # ideographic and fullwidth full stops
}


def tricks(host: str, repository: str = "app") -> list[str]:
    """Image references that name ``host`` without being on it."""
    first, _, rest = host.partition(".")
    return [
        f"{host}.evil.example/{repository}",
        f"{host}.evil.example:443/{repository}",
        f"evil.example/{host}/{repository}",
        f"evil.example:5000/{host}/{repository}",
        f"{first}-{rest}.evil.example/{repository}",
        f"{first}.{rest}x/{repository}",
        f"x{host}/{repository}",
        f"evil-{host}/{repository}",
        f"{host}-evil.example/{repository}",
        f"{host}:443/{repository}",
        f"{host}:5000/{repository}",
        f"{host}:1/{repository}",
        f"{host}./{repository}",
        f"{host}../{repository}",
        f".{host}/{repository}",
        f"{host}@evil.example/{repository}",
        f"alice@{host}/{repository}",
        f"https://{host}@evil.example/{repository}",
        f"https://{host}/{repository}",
        f"{host}%2eevil.example/{repository}",
        f"{host}\\@evil.example/{repository}",
        f"{host}/../evil.example/{repository}",
        f" {host}/{repository}",
        f"{host}\n/{repository}",
        f"{host}\x00.evil.example/{repository}",
        f"xn--{first}-9ve.{rest}/{repository}",
        f"{first}.{rest}.localhost/{repository}",
        *(
            f"{host.replace(letter, lookalike, 1)}/{repository}"
            for letter, lookalikes in CONFUSABLES.items()
            if letter in host
            for lookalike in lookalikes
        ),
    ]


HUB_TRICKS = [
    *tricks("docker.io", "hubuser/app"),
    *tricks("index.docker.io", "hubuser/app"),
    *tricks("registry-1.docker.io", "hubuser/app"),
    "docker.io.evil.example/hubuser/app",
    "evil.example/docker.io/hubuser/app",
    "evil.example/hubuser/app",
    "hubuser.evil.example/app",
]
ECR_TRICKS = [
    *tricks(ECR, "team/app"),
    f"{ECR.upper()}.evil.example/team/app",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn/team/app",
    "123456789012.dkr.ecr.cn-north-1.amazonaws.com/team/app",
    "1234567890123.dkr.ecr.us-east-1.amazonaws.com/team/app",
    "123456789012.dkr.ecrx.us-east-1.amazonaws.com/team/app",
]
PLAIN_TRICKS = [*tricks(PLAIN, "team/app"), f"{PLAIN}/teamx/app", f"{PLAIN}/tea/app"]
ALL_TRICKS = sorted({*HUB_TRICKS, *ECR_TRICKS, *PLAIN_TRICKS})


def normalized(registry: str) -> str:
    host = registry.lower()
    return HUB if host in HUB_ALIASES else host


def parsed(text: str) -> ImageReference | None:
    """The reference ``text`` names, or None when the parser refuses it."""
    try:
        return ImageReference.parse(text)
    except InvalidReferenceError:
        return None


TRICK_REFERENCES = [ref for ref in map(parsed, ALL_TRICKS) if ref is not None]


def allowed(ref: ImageReference, host: str, path: str = "") -> bool:
    """Whether credentials for ``host`` (and ``path``) may be sent for ``ref``."""
    if normalized(ref.registry) != normalized(host):
        return False
    return not path or ref.repository == path or ref.repository.startswith(path + "/")


def check(provider: Any, refs: list[ImageReference], host: str, path: str = "") -> None:
    answered = []
    for ref in refs:
        credentials = provider.get_credentials(ref)
        if credentials is None:
            continue
        assert credentials.registry == ref.registry, ref
        if not allowed(ref, host, path):
            answered.append(str(ref))
    assert answered == [], f"{provider!r} answered for {answered}"


def test_tricks_parse_to_another_registry_or_not_at_all():
    for text in ALL_TRICKS:
        ref = parsed(text)
        if ref is None:
            continue
        assert ref.registry.isascii()
        assert "@" not in ref.registry
        assert not ref.registry.endswith(".")
    # The tricks that parse are the ones a provider must turn down itself.
    assert len(TRICK_REFERENCES) > 40


@pytest.mark.parametrize(
    "text",
    [
        "d\u043ecker.io/hubuser/app",  # a Cyrillic o
        "\uff44ocker.io/hubuser/app",  # a fullwidth d
        "docker\u3002io/hubuser/app",  # an ideographic full stop
        f"{ECR.replace('k', chr(0x212A))}/team/app",
        "docker.io./hubuser/app",
        "docker.io@evil.example/app",
        "https://docker.io@evil.example/app",
        "https://docker.io/app",
        " docker.io/app",
        "docker.io/app\n",
    ],
)
def test_look_alike_hosts_are_refused_by_the_parser(text):
    with pytest.raises(InvalidReferenceError):
        ImageReference.parse(text)


@pytest.mark.parametrize(
    ("image", "registry_url"),
    [
        ("app", "https://docker.io@evil.example"),
        ("app", "https://alice:pw@registry.example.com/"),
        ("app", "registry.example.com@evil.example"),
        ("app", "https://registry.example.com./"),
        ("app", "https://d\u043ecker.io/"),  # a Cyrillic o
        ("app", "https://registry.example.com/?x=evil.example"),
        ("app", "https://registry.example.com#evil.example"),
        ("app", "ftp://registry.example.com/"),
        ("app", "evil"),  # a Docker Hub namespace, not a registry
        ("registry.example.com/team/app", "https://evil.example/"),
        ("evil.example/team/app", "registry.example.com"),
        (f"{ECR}/team/app", f"{ECR}.evil.example/team/"),
        (f"{ECR}/other/app", f"{ECR}/team/"),
        ("evil.example/app", "registry.example.com"),
    ],
)
def test_gateway_fields_that_disagree_or_smuggle_a_host_are_refused(image, registry_url):
    with pytest.raises(InvalidReferenceError):
        ImageReference.from_fields(image, registry_url=registry_url)


@pytest.mark.parametrize(
    ("image", "registry_url", "registry"),
    [
        ("hubuser/app", "https://index.docker.io/v1/", "docker.io"),
        ("hubuser/app", "registry-1.docker.io", "docker.io"),
        ("team/app", "https://Registry.Example.com:5000/", "Registry.Example.com:5000"),
        ("app", f"{ECR}/team/", ECR),
        ("hubuser/app", "https://registry.example.com/", "registry.example.com"),
    ],
)
def test_gateway_fields_name_the_registry_of_the_url(image, registry_url, registry):
    ref = ImageReference.from_fields(image, registry_url=registry_url)
    assert ref.registry == registry


# -- every provider ------------------------------------------------------------------------


def test_static_provider():
    for host, path in [
        (HUB, ""),
        (ECR, "team"),
        (PLAIN, ""),
        (PLAIN, "team"),
        ("localhost:5000", ""),
    ]:
        scope = f"{host}/{path}" if path else host
        provider = StaticPasswordProvider(registry=scope, username="u", password="static-pw")
        check(provider, TRICK_REFERENCES, host, path)
        assert provider.get_credentials(ImageReference.parse(f"{host}/team/app")) is not None


def test_static_provider_refuses_trick_scopes():
    for scope in [
        "docker.io.",
        "docker.io@evil.example",
        "https://docker.io@evil.example",
        "d\u043ecker.io",
    ]:
        with pytest.raises(ConfigurationError, match="invalid registry pattern"):
            StaticPasswordProvider(registry=scope, username="u", password="pw")


def test_docker_hub_provider():
    provider = DockerHubProvider(username="hubuser", password="hub-pw")
    check(provider, TRICK_REFERENCES, HUB)
    assert provider.get_credentials(ImageReference.parse("hubuser/app")) is not None


@attrs.define
class TokenFactory:
    """An AWS client factory that hands out a token to whoever asks, and counts the asks."""

    asked: list[tuple[str, str]] = attrs.Factory(list)

    def __call__(self, service: str, region: str, fips: bool) -> TokenFactory:
        self.asked.append((service, region))
        return self

    def get_authorization_token(self, **params: Any) -> dict[str, Any]:
        ids = params.get("registryIds", ["123456789012"])
        return {
            "authorizationData": [
                {
                    "authorizationToken": base64.b64encode(b"AWS:ecr-pw").decode(),
                    "proxyEndpoint": f"https://{account}.dkr.ecr.us-east-1.amazonaws.com",
                }
                for account in ids
            ]
        }


def test_ecr_provider_never_asks_aws_for_a_trick_host():
    factory = TokenFactory()
    provider = EcrProvider(client_factory=factory, public=False)
    check(provider, TRICK_REFERENCES, ECR)
    tricks_asked = len(factory.asked)  # only for the same host in other case, if at all
    assert provider.get_credentials(ImageReference.parse(f"{ECR}/team/app")) is not None
    assert len(factory.asked) == tricks_asked + 1


def test_docker_config_provider():
    config = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hub-pw").decode()},
            PLAIN: {"auth": base64.b64encode(b"alice:plain-pw").decode()},
            f"https://{ECR}": {"username": "AWS", "password": "ecr-pw"},
            "quay.io/org": {"username": "org", "password": "org-pw"},
        },
        # A helper that does not exist: asking it at all would raise ProviderError.
        "credHelpers": {"helper.example.com": "registry-auth-test-no-such-helper"},
    }
    provider = DockerConfigProvider(config)
    answered = [ref for ref in TRICK_REFERENCES if provider.get_credentials(ref) is not None]
    assert [
        str(ref) for ref in answered if not any(allowed(ref, host) for host in (HUB, PLAIN, ECR))
    ] == []
    helper_tricks = [ref for ref in map(parsed, tricks("helper.example.com")) if ref is not None]
    check(provider, helper_tricks, "helper.example.com")
    quay = [ref for ref in map(parsed, tricks("quay.io", "org/app")) if ref is not None]
    check(provider, [*quay, ImageReference.parse("quay.io/organisation/app")], "quay.io", "org")


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    import keyring
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()
            self.entries: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.entries.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield keyring
    keyring.set_keyring(previous)


def test_keyring_provider(memory_keyring):
    provider = KeyringProvider()
    for host in (HUB, ECR, PLAIN):
        provider.store(host, "user", f"{host}-pw")
    answered = [ref for ref in TRICK_REFERENCES if provider.get_credentials(ref) is not None]
    assert [
        str(ref) for ref in answered if not any(allowed(ref, host) for host in (HUB, ECR, PLAIN))
    ] == []
    scoped = KeyringProvider(registries=[f"{PLAIN}/team"])
    check(scoped, TRICK_REFERENCES, PLAIN, "team")


@attrs.define
class Greedy:
    """A provider that answers for anything, and records what it was asked."""

    name: str = "greedy"
    asked: list[ImageReference] = attrs.Factory(list)

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        self.asked.append(ref)
        return Credentials(username="u", password="greedy-pw", registry=ref.registry)


@attrs.frozen
class AsProvider:
    resolver: CredentialResolver

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        return self.resolver.resolve(ref)


@pytest.mark.parametrize(
    ("pattern", "host", "path"),
    [
        (PLAIN, PLAIN, ""),
        (f"{PLAIN}/team", PLAIN, "team"),
        ("docker.io", HUB, ""),
        ("https://index.docker.io/v1/", HUB, ""),
        (ECR, ECR, ""),
    ],
)
def test_routes_keep_a_greedy_provider_to_its_pattern(pattern, host, path):
    greedy = Greedy()
    resolver = CredentialResolver([Route(pattern=RegistryPattern.parse(pattern), provider=greedy)])
    check(AsProvider(resolver), TRICK_REFERENCES, host, path)
    assert all(allowed(ref, host, path) for ref in greedy.asked)


def test_routes_from_a_configuration_file():
    config = parse_config(
        {
            "registries": {
                PLAIN: {"provider": "static", "username": "alice", "password": "plain-pw"},
                "docker.io": {"provider": "dockerhub", "username": "hub", "password": "hub-pw"},
            }
        }
    )
    resolver = config.resolver()
    answered = [ref for ref in TRICK_REFERENCES if resolver.resolve(ref) is not None]
    assert [str(ref) for ref in answered if not any(allowed(ref, h) for h in (PLAIN, HUB))] == []


def test_credential_helper_answers_no_trick_address():
    def resolver() -> CredentialResolver:
        return CredentialResolver(
            [StaticPasswordProvider(registry=PLAIN, username="alice", password="plain-pw")]
        )

    addresses = [text.rsplit("/team/app", 1)[0] for text in PLAIN_TRICKS if "/team/app" in text]
    addresses += [f"https://{PLAIN}.evil.example/v2/", f"https://alice:pw@{PLAIN}", f"{PLAIN}:443"]
    answered = []
    for address in addresses:
        out = io.StringIO()
        code = run_helper(
            ["get"], stdin=io.BytesIO(address.encode()), stdout=out, resolver=resolver
        )
        if code == 0:
            answered.append(address)
    # Only for the host itself (helpers are asked per host: a path does not matter).
    authorities = {a.strip().removeprefix("https://").split("/")[0] for a in answered}
    assert authorities == {PLAIN}


def test_kubelet_plugin_answers_no_trick_image():
    resolver = CredentialResolver(
        [
            StaticPasswordProvider(registry=PLAIN, username="alice", password="plain-pw"),
            DockerHubProvider(username="hub", password="hub-pw"),
        ]
    )
    for text in ALL_TRICKS:
        raw = json.dumps(
            {"apiVersion": API_VERSION, "kind": "CredentialProviderRequest", "image": text}
        ).encode()
        try:
            response = handle_request(raw, resolver)
        except InvalidReferenceError:
            continue
        ref = ImageReference.parse(text)
        for registry in response["auth"]:
            assert registry == ref.registry
            assert allowed(ref, PLAIN) or allowed(ref, HUB), text


# -- generated tricks ------------------------------------------------------------------------


def mutations(host: str) -> st.SearchStrategy[str]:
    label = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
    flip = st.lists(st.booleans(), min_size=len(host), max_size=len(host)).map(
        lambda flips: "".join(c.upper() if f else c for c, f in zip(host, flips, strict=True))
    )
    confusable = st.sampled_from(
        [
            host.replace(letter, lookalike, 1)
            for letter, lookalikes in CONFUSABLES.items()
            if letter in host
            for lookalike in lookalikes
        ]
        or [host]
    )
    return st.one_of(
        st.builds(lambda x: f"{host}.{x}", label),
        st.builds(lambda x: f"{x}.{host}", label),
        st.builds(lambda x: f"{x}{host}", label),
        st.builds(lambda x: f"{host}{x}", label),
        st.builds(lambda x: f"{x}/{host}", label.map(lambda s: s + ".example")),
        st.builds(lambda p: f"{host}:{p}", st.integers(0, 65535)),
        st.builds(lambda x: f"{x}@{host}", label),
        st.builds(lambda x: f"{host}@{x}.example", label),
        flip,
        confusable,
        st.just(host + "."),
    )


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    host=st.sampled_from([HUB, ECR, PLAIN, "localhost:5000"]),
    data=st.data(),
)
def test_no_provider_answers_for_a_generated_look_alike(host, data, memory_keyring):
    trick = data.draw(mutations(host))
    repository = data.draw(st.sampled_from(["app", "team/app", "hubuser/app"]))
    ref = parsed(f"{trick}/{repository}")
    field = None
    with contextlib.suppress(InvalidReferenceError):
        field = ImageReference.from_fields(repository, registry_url=f"https://{trick}/")
    providers: list[Any] = [
        StaticPasswordProvider(registry=host, username="u", password="pw"),
        DockerHubProvider(username="u", password="pw"),
        EcrProvider(client_factory=TokenFactory(), public=False),
        DockerConfigProvider({"auths": {host: {"username": "u", "password": "pw"}}}),
        KeyringProvider(),
    ]
    memory_keyring.set_password(f"registry-auth:{normalized(host)}", "u", "pw")
    index = {"version": 1, "registries": {normalized(host): "u"}}
    memory_keyring.set_password("registry-auth", "registries", json.dumps(index))
    for candidate in (ref, field):
        if candidate is None:
            continue
        for provider in providers:
            credentials = provider.get_credentials(candidate)
            if credentials is not None:
                assert credentials.registry == candidate.registry
                assert any(allowed(candidate, h) for h in (host, HUB, ECR)), (provider, candidate)
