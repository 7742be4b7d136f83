import logging

import attrs
import pytest

from registry_auth import (
    CredentialResolver,
    Credentials,
    DockerHubProvider,
    ImageReference,
    Route,
    StaticPasswordProvider,
)
from registry_auth.matching import RegistryPattern


def ref(text):
    return ImageReference.parse(text)


@attrs.define
class Recording:
    """A provider that records what it was asked and can be told to answer or not."""

    name: str
    answer: bool = True
    asked: list[str] = attrs.Factory(list)
    invalidated: list[str] = attrs.Factory(list)

    def get_credentials(self, r):
        self.asked.append(str(r))
        if not self.answer:
            return None
        return Credentials(username=self.name, password="pw", registry=r.registry)

    def invalidate(self, r):
        self.invalidated.append(str(r))


def test_first_answer_wins_in_order():
    a, b = Recording("a", answer=False), Recording("b")
    c = Recording("c")
    creds = CredentialResolver([a, b, c]).resolve(ref("r.example/x"))
    assert creds is not None
    assert creds.username == "b"
    assert creds.provider == "b"
    assert a.asked == ["r.example/x"]
    assert c.asked == []


def test_none_when_nobody_answers(caplog):
    caplog.set_level(logging.DEBUG, logger="registry_auth.resolver")
    assert CredentialResolver([Recording("a", answer=False)]).resolve(ref("ubuntu")) is None
    assert CredentialResolver().resolve(ref("ubuntu")) is None
    assert "no provider has credentials for docker.io" in caplog.text


def test_routes_scope_providers_and_most_specific_wins():
    broad = Recording("broad")
    narrow = Recording("narrow")
    fallback = Recording("fallback")
    resolver = CredentialResolver(
        [
            Route(pattern=RegistryPattern.parse("*.example.com"), provider=broad),
            fallback,
            Route(pattern=RegistryPattern.parse("r.example.com/team"), provider=narrow),
        ]
    )
    assert resolver.resolve(ref("r.example.com/team/app")).username == "narrow"
    assert resolver.resolve(ref("r.example.com/other/app")).username == "broad"
    assert resolver.resolve(ref("quay.io/x/y")).username == "fallback"
    # A routed provider is never even asked about references outside its pattern.
    assert "quay.io/x/y" not in broad.asked
    assert narrow.asked == ["r.example.com/team/app"]
    assert [type(e).__name__ for e in resolver.entries] == ["Route", "Route", "Recording"]


def test_invalidate_reaches_providers_that_could_answer():
    routed = Recording("routed")
    other = Recording("other")
    plain = StaticPasswordProvider(registry="r.example.com", username="u", password="p")
    resolver = CredentialResolver(
        [Route(pattern=RegistryPattern.parse("q.example.com"), provider=other), routed, plain]
    )
    resolver.invalidate(ref("r.example.com/app"))
    assert routed.invalidated == ["r.example.com/app"]
    assert other.invalidated == []


def test_real_providers_compose():
    resolver = CredentialResolver(
        [
            DockerHubProvider(username="hubuser", password="hubpw"),
            StaticPasswordProvider(registry="localhost:5443", username="alice", password="s3"),
        ]
    )
    assert resolver.resolve(ref("hubuser/hello:v1")).provider == "dockerhub"
    assert resolver.resolve(ref("localhost:5443/team/app")).provider == "static"
    assert resolver.resolve(ref("quay.io/x")) is None
    assert len(resolver.providers_for(ref("ubuntu"))) == 2


def test_rejects_things_that_are_not_providers():
    with pytest.raises(TypeError, match="providers or routes"):
        CredentialResolver([object()])  # type: ignore[list-item, unused-ignore]


def test_provider_errors_propagate():
    class Failing:
        name = "failing"

        def get_credentials(self, r):
            raise RuntimeError("backend down")

    with pytest.raises(RuntimeError):
        CredentialResolver([Failing(), Recording("b")]).resolve(ref("ubuntu"))


class Stamped:
    """A provider that hands out one Credentials object, already carrying its name."""

    def __init__(self, name, *, stamp=True):
        self.names_read = 0
        self._name = name
        self.credentials = Credentials(
            username="u", password="pw", registry="r.example", provider=name if stamp else None
        )

    @property
    def name(self):
        self.names_read += 1
        return self._name

    def get_credentials(self, r):
        return self.credentials


def test_credentials_already_naming_their_provider_are_returned_as_they_are():
    stamped = Stamped("stamped")
    assert CredentialResolver([stamped]).resolve(ref("r.example/app")) is stamped.credentials
    # Credentials naming no provider get the name of the one that answered.
    bare = Stamped("bare", stamp=False)
    creds = CredentialResolver([bare]).resolve(ref("r.example/app"))
    assert creds is not None
    assert creds is not bare.credentials
    assert creds.provider == "bare"
    assert attrs.evolve(creds, provider=None) == bare.credentials


def test_nothing_is_computed_for_a_debug_log_that_is_disabled(caplog):
    caplog.set_level(logging.INFO, logger="registry_auth.resolver")
    stamped = Stamped("stamped")
    resolver = CredentialResolver([stamped])
    stamped.names_read = 0  # the protocol check in the constructor reads it
    assert resolver.resolve(ref("r.example/app")) is stamped.credentials
    assert stamped.names_read == 0
    assert caplog.records == []


def test_debug_log_lines(caplog):
    caplog.set_level(logging.DEBUG, logger="registry_auth.resolver")
    stamped = Stamped("stamped")
    resolver = CredentialResolver(
        [
            Route(pattern=RegistryPattern.parse("q.example"), provider=Recording("routed")),
            Recording("silent", answer=False),
            stamped,
        ]
    )
    stamped.names_read = 0  # the protocol check in the constructor reads it
    resolver.resolve(ref("r.example/app"))
    resolver.resolve(ref("q.example/app"))
    assert [record.getMessage() for record in caplog.records] == [
        "credentials for r.example from provider 'stamped' (user 'u')",
        "credentials for q.example from provider 'routed' (user 'routed')",
    ]
    assert stamped.names_read == 1


def test_providers_after_a_route_that_does_not_apply_are_asked_in_order():
    routed = Recording("routed")
    first, second = Recording("first", answer=False), Recording("second")
    resolver = CredentialResolver(
        [first, Route(pattern=RegistryPattern.parse("q.example"), provider=routed), second]
    )
    assert resolver.resolve(ref("r.example/app")).username == "second"
    assert routed.asked == []
    assert first.asked == second.asked == ["r.example/app"]
    assert resolver.resolve(ref("q.example/app")).username == "routed"
    assert first.asked == ["r.example/app"]  # the route, more specific than anything, answered
