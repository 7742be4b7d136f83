"""The kubelet credential-provider plugin (``credentialprovider.kubelet.k8s.io`` v1, v1beta1).

The kubelet runs ``registry-auth kubelet-plugin`` with a ``CredentialProviderRequest`` on stdin
and reads a ``CredentialProviderResponse`` from stdout. Both API versions the kubelet speaks are
answered: ``v1`` (Kubernetes 1.26 and later) and ``v1beta1`` (1.24 and 1.25, and later kubelets
still configured with it); the two carry the same fields. The response has the request's
``apiVersion``, since the kubelet drops a response whose version differs from the one it asked
with. Any other version is refused. The answer is keyed by registry
(``cacheKeyType: Registry``); ``cacheDuration`` is half the remaining lifetime of expiring
credentials (so the kubelet asks again well before an ECR token dies), and is left out for
credentials that do not expire, so the kubelet's ``defaultCacheDuration`` applies. When no
provider has credentials the answer has an empty ``auth`` map and the kubelet pulls anonymously.

Bad input exits non-zero with one line on stderr; no output ever echoes the request's other
fields or a secret, except the one ``password`` field the protocol exists for.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Final

from registry_auth._errors import InvalidReferenceError, ProtocolError
from registry_auth._reference import ImageReference, without_userinfo

if TYPE_CHECKING:
    from collections.abc import Callable

    from registry_auth._resolver import CredentialResolver

__all__ = ["API_VERSION", "API_VERSIONS", "format_go_duration", "handle_request"]

API_VERSION: Final = "credentialprovider.kubelet.k8s.io/v1"
API_VERSIONS: Final = (API_VERSION, "credentialprovider.kubelet.k8s.io/v1beta1")
"""The request versions answered; a response carries the version of its request."""
_REQUEST_KIND: Final = "CredentialProviderRequest"
_RESPONSE_KIND: Final = "CredentialProviderResponse"
_MAX_REQUEST_BYTES: Final = 64 * 1024


def format_go_duration(seconds: float) -> str:
    """Format whole seconds as Go's ``time.Duration.String()`` does: ``6h0m0s``, ``5m30s``.

    >>> format_go_duration(6 * 3600)
    '6h0m0s'
    >>> format_go_duration(42)
    '42s'
    """
    total = max(0, int(seconds))
    if total == 0:
        return "0s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _parse_request(raw: bytes) -> tuple[str, str]:
    """The request's (apiVersion, image)."""
    if len(raw) > _MAX_REQUEST_BYTES:
        raise ProtocolError(f"request is larger than {_MAX_REQUEST_BYTES} bytes")
    try:
        data: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past the parser's depth
        raise ProtocolError(f"request is not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ProtocolError("request is not a JSON object")
    version = data.get("apiVersion")
    if version not in API_VERSIONS:
        # The value itself is not shown: it is the request's, and could be anything.
        raise ProtocolError(
            f"unsupported apiVersion (this plugin speaks {' and '.join(API_VERSIONS)})"
        )
    if data.get("kind") != _REQUEST_KIND:
        raise ProtocolError(f"kind must be {_REQUEST_KIND}")
    image = data.get("image")
    if not isinstance(image, str) or not image:
        raise ProtocolError("request has no image")
    return str(version), image


def handle_request(
    raw: bytes,
    resolver: CredentialResolver,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
) -> dict[str, Any]:
    """Answer one ``CredentialProviderRequest`` (``raw`` JSON bytes) with a response mapping.

    Raises:
        ProtocolError: the request is malformed.
        InvalidReferenceError: the image in the request is not a valid reference.
        RegistryAuthError: a provider failed (for instance an ECR token could not be fetched).
    """
    version, image = _parse_request(raw)
    try:
        ref = ImageReference.parse(image)
    except InvalidReferenceError as exc:
        raise InvalidReferenceError(
            f"request image is invalid: {exc.message}", text=without_userinfo(image)
        ) from None
    response: dict[str, Any] = {
        "apiVersion": version,
        "kind": _RESPONSE_KIND,
        "cacheKeyType": "Registry",
        "auth": {},
    }
    credentials = resolver.resolve(ref)
    if credentials is None:
        return response
    if credentials.expires_at is not None:
        remaining = (credentials.expires_at - now()).total_seconds()
        response["cacheDuration"] = format_go_duration(remaining / 2)
    response["auth"][credentials.registry] = {
        "username": credentials.username,
        "password": credentials.password.reveal(),
    }
    return response
