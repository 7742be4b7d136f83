"""Telling pull failures apart: from the engine's error texts to typed errors.

The engine reports most registry failures as HTTP 500 with a message, or as an ``error`` line in
the pull stream, so the message is what tells them apart. :func:`classify_message` maps a
message to a :class:`FailureKind`; :func:`classify_exception` does the same for the exceptions
docker-py and requests raise; :func:`build_failure` turns a kind into the error the caller sees,
with the reference, registry and provider in it and every secret that was sent scrubbed out.

========================  ===========================================  ========================
kind                      typical engine text                          error (retried?)
========================  ===========================================  ========================
``PLATFORM``              no matching manifest for linux/arm64 in ...  PlatformMismatchError
``AUTHENTICATION``        unauthorized: authentication required;       AuthenticationError (no;
                          no basic auth credentials; token expired     once after invalidation)
``ACCESS_DENIED``         pull access denied for x, repository does    AuthenticationError if no
                          not exist or may require 'docker login'      credentials were sent,
                                                                       else ImageNotFoundError
``TLS``                   x509: certificate signed by unknown ...      RegistryUnavailableError
                                                                       (no: needs a fix)
``UNAVAILABLE``           connect: connection refused; no such host;   RegistryUnavailableError
                          received unexpected HTTP status: 503; EOF    (yes)
``NOT_FOUND``             manifest unknown; not found; no such image   ImageNotFoundError (no)
``TIMEOUT``               (the deadline, or a read timeout)            PullTimeoutError (yes)
``ENGINE_UNAVAILABLE``    no engine socket; engine connection broken   DockerUnavailableError
``UNKNOWN``               anything else                                PullError (no)
========================  ===========================================  ========================

An anonymous pull from a TLS registry on a loopback address fails in a way that looks like an
outage: the engine treats such registries as insecure, and when the registry refuses it over TLS
for want of credentials it retries in plain HTTP on the TLS port, which resets the connection
(``read: connection reset by peer``). :func:`insecure_fallback_kind` reads that as missing
credentials (``AUTHENTICATION``, not retried).

Matching is done on the lowercased message after the image's own names are blanked out, so an
image called ``team/unauthorized`` cannot look like an authentication failure. (One-word official
images such as ``ubuntu`` are not blanked: a bare word cannot be told from the engine's words.)
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

import attrs

from registry_auth._errors import (
    AuthenticationError,
    DockerUnavailableError,
    ImageNotFoundError,
    PlatformMismatchError,
    PullError,
    PullTimeoutError,
    RegistryAuthError,
    RegistryUnavailableError,
)
from registry_auth._redaction import SecretMasks

if TYPE_CHECKING:
    from registry_auth._credentials import Secret
    from registry_auth._reference import ImageReference

__all__ = [
    "EngineFailure",
    "FailureContext",
    "FailureKind",
    "PullFailure",
    "build_failure",
    "classify_exception",
    "classify_message",
    "insecure_fallback_kind",
    "redact",
    "wanted_platform",
]


class FailureKind(enum.Enum):
    """Why a pull failed, as far as the engine's answer tells."""

    PLATFORM = "platform"
    AUTHENTICATION = "authentication"
    ACCESS_DENIED = "access-denied"
    TLS = "tls"
    UNAVAILABLE = "unavailable"
    NOT_FOUND = "not-found"
    TIMEOUT = "timeout"
    ENGINE_UNAVAILABLE = "engine-unavailable"
    UNKNOWN = "unknown"


_TRANSIENT: Final = frozenset({FailureKind.UNAVAILABLE, FailureKind.TIMEOUT})

# Checked in this order; the first match wins.
_PATTERNS: Final = (
    (
        FailureKind.PLATFORM,
        re.compile(
            r"no matching manifest for"
            r"|does not match the specified platform"
            r"|cannot be used on this platform"
            r"|no match for platform in manifest"
        ),
    ),
    (
        FailureKind.AUTHENTICATION,
        re.compile(
            r"unauthorized"
            r"|authentication required"
            r"|no basic auth credentials"
            r"|incorrect username or password"
            r"|invalid username/password"
            r"|authorization token has expired"
        ),
    ),
    (
        FailureKind.ACCESS_DENIED,
        re.compile(
            r"pull access denied"
            r"|access to the resource is denied"
            r"|does not exist or no pull access"
            r"|\bdenied:"
            r"|\bforbidden\b"
        ),
    ),
    (
        FailureKind.TLS,
        re.compile(
            r"x509:"
            r"|\btls: "
            r"|certificate"
            r"|http response to https client"
            r"|does not look like a tls handshake"
        ),
    ),
    (
        FailureKind.UNAVAILABLE,
        re.compile(
            r"connection refused"
            r"|connection reset"
            r"|broken pipe"
            r"|no such host"
            r"|server misbehaving"
            r"|name resolution"
            r"|network is unreachable"
            r"|no route to host"
            r"|i/o timeout"
            r"|handshake timeout"
            r"|timeout exceeded"
            r"|deadline exceeded"
            r"|timed out"
            r"|\beof\b"
            r"|unexpected http status: 5\d\d"
            r"|\b50[0-4] [a-z]"
            r"|internal server error"
            r"|bad gateway"
            r"|service unavailable"
            r"|gateway timeout"
            r"|toomanyrequests"
            r"|too many requests"
            r"|rate limit"
        ),
    ),
    (
        FailureKind.NOT_FOUND,
        re.compile(
            r"manifest unknown"
            r"|name unknown"
            r"|blob unknown"
            r"|not found"
            r"|no such image"
            r"|does not exist"
        ),
    ),
)

# What an HTTP status says when the message says nothing we know. The engine answers 500 for
# most registry failures, so 5xx from the engine is no evidence of anything.
_BY_STATUS: Final = {
    401: FailureKind.AUTHENTICATION,
    403: FailureKind.ACCESS_DENIED,
    404: FailureKind.NOT_FOUND,
}

_WANTED_PLATFORM_RES: Final = (
    re.compile(r"no matching manifest for (\S+) in the manifest list", re.IGNORECASE),
    re.compile(r"specified platform: wanted (\S+?),? ", re.IGNORECASE),
)


def _names_of(reference: ImageReference) -> list[str]:
    bare = attrs.evolve(reference, tag=None, digest=None)
    names = {
        str(reference),
        reference.name,
        reference.familiar,
        bare.familiar,
        reference.repository,
        reference.registry,
        reference.digest or "",
    }
    # Only what is recognisably a name: a bare word such as the official image "denied" would
    # also blank the engine's own "pull access denied". Longest first, so that
    # "docker.io/library/app" goes before "library/app".
    recognisable = (n.lower() for n in names if any(mark in n for mark in "/:@."))
    return sorted(recognisable, key=len, reverse=True)


def _blank_names(lowered: str, reference: ImageReference) -> str:
    for name in _names_of(reference):
        # Only whole names: the image "a" must not blank every "a" of the message.
        pattern = rf"(?<![a-z0-9_.-]){re.escape(name)}(?![a-z0-9_-])"
        lowered = re.sub(pattern, "<image>", lowered)
    return lowered


def classify_message(
    text: str, *, reference: ImageReference | None = None, status: int | None = None
) -> FailureKind:
    """The kind of failure an engine message describes.

    Args:
        text: the message (an ``error`` line of the pull stream, or an API error's explanation).
        reference: the image being pulled; its names are blanked out before matching.
        status: the HTTP status of the engine's answer, used only when the text says nothing.
    """
    lowered = text.lower()
    if reference is not None:
        lowered = _blank_names(lowered, reference)
    for kind, pattern in _PATTERNS:
        if pattern.search(lowered):
            return kind
    if status is not None:
        return _BY_STATUS.get(status, FailureKind.UNKNOWN)
    return FailureKind.UNKNOWN


@attrs.frozen(kw_only=True)
class EngineFailure:
    """A failure reported by docker-py or requests, classified.

    Attributes:
        kind: what went wrong.
        detail: the engine's message (not yet scrubbed of secrets: see :func:`redact`).
        status: the HTTP status of the engine's answer, if there was one.
    """

    kind: FailureKind
    detail: str
    status: int | None = None


def classify_exception(
    exc: BaseException, *, reference: ImageReference | None = None
) -> EngineFailure | None:
    """Classify an exception raised while talking to the engine, or None if it is not such.

    docker-py's :class:`~docker.errors.APIError` (and its ``NotFound``/``ImageNotFound``) is
    classified by its explanation, then its status; a connection failure to the engine socket
    means the engine is unavailable; a read timeout is a timeout. Anything else (a bug, an
    interrupt) is not an engine failure: the caller lets it propagate.
    """
    # docker and requests are loaded already when an exception of theirs exists.
    import requests  # noqa: PLC0415 - keeps ``import registry_auth`` light
    import urllib3  # noqa: PLC0415
    from docker import errors as docker_errors  # noqa: PLC0415

    if isinstance(exc, docker_errors.APIError):
        explanation = exc.explanation
        detail = explanation if isinstance(explanation, str) and explanation else str(exc)
        status = exc.status_code if isinstance(exc.status_code, int) else None
        kind = classify_message(detail, reference=reference, status=status)
        return EngineFailure(kind=kind, detail=detail, status=status)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return EngineFailure(kind=FailureKind.ENGINE_UNAVAILABLE, detail=str(exc))
    if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError)):
        return EngineFailure(kind=FailureKind.TIMEOUT, detail=str(exc))
    if isinstance(
        exc,
        (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            urllib3.exceptions.ProtocolError,
        ),
    ):
        return EngineFailure(kind=FailureKind.ENGINE_UNAVAILABLE, detail=str(exc))
    if isinstance(exc, (docker_errors.DockerException, docker_errors.StreamParseError)):
        return EngineFailure(kind=FailureKind.UNKNOWN, detail=str(exc))
    return None


_PLAIN_HTTP_ON_TLS_RE: Final = re.compile(r"connection reset by peer", re.IGNORECASE)


def _host_and_port(registry: str) -> tuple[str, int]:
    """``host[:port]`` (IPv6 in brackets) as a host and a port, 443 by default."""
    if registry.startswith("["):
        host, _, rest = registry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = registry.partition(":")
    return host, int(port) if port.isdigit() else 443


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_fallback_kind(failure: EngineFailure, context: FailureContext) -> FailureKind:
    """The kind of ``failure``, read as the engine's plain-HTTP retry of a TLS registry if it is.

    An anonymous pull from a loopback registry that the engine refused at once (its answer
    carries an HTTP status: the stream never started) because the connection was reset was
    not an outage: the port speaks TLS, and over TLS the registry wanted credentials. That is
    ``AUTHENTICATION``; anything else keeps its kind.
    """
    if (
        failure.kind is FailureKind.UNAVAILABLE
        and failure.status is not None
        and not context.sent_credentials
        and _is_loopback(_host_and_port(context.reference.registry)[0])
        and _PLAIN_HTTP_ON_TLS_RE.search(failure.detail) is not None
    ):
        return FailureKind.AUTHENTICATION
    return failure.kind


def redact(text: str, secrets: Iterable[Secret], *, username: str | None = None) -> str:
    """``text`` with each secret masked in every form it may come back in.

    The plain value, its JSON-escaped, percent-encoded and base64 forms, and (with ``username``)
    the base64 of ``username:secret`` are masked where they stand as a token (see
    :class:`~registry_auth._redaction.SecretMasks`). An occurrence inside a longer run of letters
    and digits is not the secret being echoed but a coincidence (password ``x`` in
    "unexpected"); masking it would mangle the message and show the password by the gap it
    leaves.
    """
    return SecretMasks.of(secrets, username=username).redact(text)


def wanted_platform(text: str) -> str | None:
    """The platform an engine message says was asked for (``linux/arm64/v8``), if it says."""
    for pattern in _WANTED_PLATFORM_RES:
        match = pattern.search(text)
        if match:
            return match[1].strip("\"'")
    return None


@attrs.frozen(kw_only=True)
class FailureContext:
    """What was being done when a pull failed: the facts every error message names.

    Attributes:
        reference: the image being pulled.
        provider: the provider whose credentials were sent, or None for an anonymous pull.
        username: the user those credentials are for, or None.
        secrets: what was sent and must never appear in a message.
        platform: the platform asked for, if any.
        masks: every form in which the secrets were sent (the auth config docker-py encoded
            into its ``X-Registry-Auth`` header among them), masked in messages too.
    """

    reference: ImageReference
    provider: str | None = None
    username: str | None = None
    secrets: tuple[Secret, ...] = ()
    platform: str | None = None
    masks: SecretMasks = attrs.field(factory=SecretMasks, eq=False)

    @property
    def sent_credentials(self) -> bool:
        """Whether the pull carried credentials."""
        return self.username is not None


@attrs.frozen(kw_only=True)
class PullFailure:
    """A classified failure: the error to raise, and whether trying again may help.

    Attributes:
        kind: the failure's kind.
        error: the error for the caller.
        transient: whether the pull is worth retrying after a wait.
        detail: the engine's message, scrubbed of secrets ("" if there was none).
    """

    kind: FailureKind
    error: RegistryAuthError
    transient: bool
    detail: str = ""


def _credential_phrase(context: FailureContext) -> str:
    return f"user {context.username!r} (credentials from provider {context.provider!r})"


def _anonymous_phrase(registry: str) -> str:
    return f"none were sent: no provider has credentials for {registry}"


def build_failure(
    kind: FailureKind,
    detail: str,
    context: FailureContext,
    *,
    available_platforms: tuple[str, ...] = (),
) -> PullFailure:
    """The error for a failure of ``kind``, with ``detail`` scrubbed of the context's secrets."""
    ref = context.reference
    registry = ref.registry
    masks = SecretMasks.of(context.secrets, username=context.username) | context.masks
    clean = masks.redact(detail).strip()
    because = f": {clean}" if clean else ""
    reference = str(ref)
    error: RegistryAuthError
    if kind is FailureKind.PLATFORM:
        wanted = context.platform or wanted_platform(clean)
        offered = ", ".join(available_platforms) if available_platforms else "unknown"
        error = PlatformMismatchError(
            f"{ref} on {registry} has no variant for "
            f"{wanted or 'the engine platform'} (it offers: {offered}){because}",
            wanted=wanted,
            available=available_platforms,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.AUTHENTICATION and context.sent_credentials:
        error = AuthenticationError(
            f"{registry} rejected the credentials of {_credential_phrase(context)} "
            f"for {ref}{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind in {FailureKind.AUTHENTICATION, FailureKind.ACCESS_DENIED} and not (
        context.sent_credentials
    ):
        maybe_missing = (
            " (or the repository does not exist)" if kind is FailureKind.ACCESS_DENIED else ""
        )
        error = AuthenticationError(
            f"{registry} requires credentials to pull {ref}{maybe_missing}, and "
            f"{_anonymous_phrase(registry)}{because}",
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.ACCESS_DENIED:
        # With credentials accepted, a token registry (Docker Hub among them) answers the same
        # "access denied" for a repository that does not exist and for one the account may not
        # read: say both.
        error = ImageNotFoundError(
            f"{ref} was not found on {registry}, or {_credential_phrase(context)} "
            f"may not pull it{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.NOT_FOUND:
        error = ImageNotFoundError(
            f"{ref} was not found on {registry}{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.TLS:
        error = RegistryUnavailableError(
            f"the TLS connection to {registry} failed while pulling {ref} (check the "
            f"registry's certificate and the engine's trust settings){because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.UNAVAILABLE:
        error = RegistryUnavailableError(
            f"{registry} is unavailable while pulling {ref}{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.TIMEOUT:
        error = PullTimeoutError(
            f"pulling {ref} from {registry} timed out{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    elif kind is FailureKind.ENGINE_UNAVAILABLE:
        error = DockerUnavailableError(
            f"the container engine is unavailable while pulling {ref}{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    else:
        error = PullError(
            f"pulling {ref} from {registry} failed{because}",
            provider=context.provider,
            registry=registry,
            reference=reference,
        )
    return PullFailure(kind=kind, error=error, transient=kind in _TRANSIENT, detail=clean)
