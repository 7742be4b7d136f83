"""Hypothesis strategies for registry-auth's value objects.

Use them to property-test code that takes image references or credentials::

    from hypothesis import given
    from registry_auth.testing.strategies import image_references

    @given(image_references())
    def test_my_code_accepts_any_reference(ref):
        ...

This is the only module of registry-auth that imports hypothesis; it needs the ``hypothesis``
package installed.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from hypothesis import strategies as st

from registry_auth._credentials import Credentials, Secret
from registry_auth._reference import DOCKER_HUB, ImageReference

__all__ = ["credentials", "image_references", "registries"]

_ALNUM: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
_HEX: Final = "0123456789abcdef"
_ECR_REGIONS: Final = (
    ("us-east-1", "amazonaws.com"),
    ("eu-west-1", "amazonaws.com"),
    ("ap-southeast-2", "amazonaws.com"),
    ("us-gov-west-1", "amazonaws.com"),
    ("cn-north-1", "amazonaws.com.cn"),
)
_DIGEST_ALGORITHMS: Final = (("sha256", 64), ("sha384", 96), ("sha512", 128))


def _ports() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(["443", "5000", "8080"]), st.integers(1, 65535).map(str)).map(
        lambda port: ":" + port
    )


def _with_optional_port(hosts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(hosts, st.one_of(st.just(""), _ports())).map("".join)


def _host_names() -> st.SearchStrategy[str]:
    label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
    return (
        st.lists(label, min_size=2, max_size=4)
        .map(".".join)
        # index.docker.io is read as docker.io, so it is no registry name of its own.
        .filter(lambda host: host != "index.docker.io")
    )


def _ecr_hosts() -> st.SearchStrategy[str]:
    def build(account: str, fips: bool, region: tuple[str, str]) -> str:
        name, suffix = region
        return f"{account}.dkr.ecr{'-fips' if fips else ''}.{name}.{suffix}"

    return st.builds(
        build,
        st.text(alphabet="0123456789", min_size=12, max_size=12),
        st.booleans(),
        st.sampled_from(_ECR_REGIONS),
    )


def registries() -> st.SearchStrategy[str]:
    """Registry names as :attr:`ImageReference.registry` holds them.

    Docker Hub (``docker.io``), host names, ``localhost``, IPv4 addresses, bracketed IPv6
    addresses and AWS ECR hosts, each possibly with a port. For every value ``r``,
    ``ImageReference.parse(r + "/app").registry == r``.
    """
    ipv6 = (
        st.ip_addresses(v=6)
        .map(str)
        # IPv4-mapped forms ("::ffff:1.2.3.4") are outside the reference grammar.
        .filter(lambda address: "." not in address)
        .map(lambda address: f"[{address}]")
    )
    return st.one_of(
        st.just(DOCKER_HUB),
        _with_optional_port(_host_names()),
        _with_optional_port(st.just("localhost")),
        _with_optional_port(st.ip_addresses(v=4).map(str)),
        _with_optional_port(ipv6),
        _ecr_hosts(),
        st.just("public.ecr.aws"),
    )


def _path_components() -> st.SearchStrategy[str]:
    alnum = st.text(alphabet=_ALNUM, min_size=1, max_size=8)
    separator = st.sampled_from([".", "_", "__", "-", "--"])
    return st.builds(
        lambda first, rest: first + "".join(sep + part for sep, part in rest),
        alnum,
        st.lists(st.tuples(separator, alnum), max_size=2),
    )


def _digests() -> st.SearchStrategy[str]:
    return st.sampled_from(_DIGEST_ALGORITHMS).flatmap(
        lambda algorithm: st.text(alphabet=_HEX, min_size=algorithm[1], max_size=algorithm[1]).map(
            lambda encoded: f"{algorithm[0]}:{encoded}"
        )
    )


def image_references(
    registry: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[ImageReference]:
    """Valid, normalized image references, as :meth:`ImageReference.parse` returns them.

    They mix Docker Hub short names (``ubuntu``, ``user/app``), the legacy
    ``index.docker.io`` name and the registries of :func:`registries`, with or without a tag
    and a digest.

    Args:
        registry: where to draw registries from instead (a strategy of registry names).
    """
    prefixes = st.one_of(
        st.just(""), st.just("index.docker.io/"), (registry or registries()).map(lambda r: r + "/")
    )
    tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)

    def build(
        prefix: str, components: list[str], tag: str | None, digest: str | None
    ) -> ImageReference:
        if not prefix and len(components) > 1 and "." in components[0]:
            # Without a registry, a first component with a "." would be read as one.
            prefix = DOCKER_HUB + "/"
        text = prefix + "/".join(components)
        text += "" if tag is None else ":" + tag
        text += "" if digest is None else "@" + digest
        return ImageReference.parse(text)

    return st.builds(
        build,
        prefixes,
        st.lists(_path_components(), min_size=1, max_size=4),
        st.none() | tags,
        st.none() | _digests(),
    )


def credentials(
    registry: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Credentials]:
    """:class:`~registry_auth.Credentials` with random usernames and secret passwords.

    Usernames are printable and hold no ``:`` (it separates user and password in HTTP Basic
    auth); some are ``AWS`` or ``<token>``, as ECR and identity-token logins use. Some
    credentials expire (at a timezone-aware time) or carry an identity token.

    Args:
        registry: where to draw the registry from instead of :func:`registries`.
    """
    printable = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
    usernames = st.one_of(
        st.sampled_from(["AWS", "<token>"]),
        st.text(alphabet=printable.filter(lambda ch: ch != ":"), min_size=1, max_size=30),
    )
    secrets = st.builds(Secret, st.text(alphabet=printable, min_size=1, max_size=64))
    expiry = st.none() | st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.timezone.utc),
    )
    return st.builds(
        Credentials,
        username=usernames,
        password=secrets,
        registry=registry or registries(),
        expires_at=expiry,
        identity_token=st.none() | secrets,
        provider=st.none() | st.sampled_from(["static", "dockerhub", "ecr"]),
    )
