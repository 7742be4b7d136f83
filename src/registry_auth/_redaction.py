"""Masking secrets in text, in every form in which they were handed to the engine.

An engine or a registry that echoes what it was sent does not echo the plain password only: the
pull carried it base64-encoded inside docker-py's ``X-Registry-Auth`` header (URL-safe base64 of
the JSON auth config), a registry saw it as ``Basic base64(user:password)``, and a URL may carry
it percent-encoded. :class:`SecretMasks` derives, from each secret and from the exact strings
that were sent, every such form, and replaces each where it stands as a whole.

Whole strings are encoded, not the secret alone: inside a longer base64 text a secret is spelled
differently at each of three offsets, so the only reliable forms are those of the strings that
actually went out (``user:password``, the auth config's JSON), plus the secret on its own.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final, NoReturn, SupportsIndex

if TYPE_CHECKING:
    from registry_auth._credentials import Secret

__all__ = ["MASK", "SecretMasks", "encoded_forms"]

MASK: Final = "********"

_PERCENT_HEX: Final = re.compile(r"%[0-9A-F]{2}")


def _base64_forms(raw: bytes) -> set[str]:
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        padded = encode(raw).decode("ascii")
        forms.add(padded)
        forms.add(padded.rstrip("="))
    return forms


def _percent_forms(value: str) -> set[str]:
    forms = {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        urllib.parse.quote_plus(value, safe="/"),
    }
    # Percent-encoding is case-insensitive in its hex digits; some encoders write them lower.
    forms |= {_PERCENT_HEX.sub(lambda m: m[0].lower(), form) for form in forms}
    return forms


def _json_forms(value: str) -> set[str]:
    return {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def _auth_config_forms(config: Mapping[str, str]) -> set[str]:
    """The encodings of an auth config as docker-py (and Go clients) put it in a header."""
    texts = {json.dumps(dict(config)), json.dumps(dict(config), separators=(",", ":"))}
    forms: set[str] = set()
    for text in texts:
        forms |= _base64_forms(text.encode("utf-8"))
    return forms


def encoded_forms(
    value: str,
    *,
    username: str | None = None,
    auth_configs: Iterable[Mapping[str, str]] = (),
) -> frozenset[str]:
    """Every form of ``value`` that must not show: plain, JSON-escaped, percent- and base64-encoded.

    Args:
        value: the secret.
        username: the user it was sent for: ``base64(username:value)`` is masked too.
        auth_configs: the auth config dicts handed to docker-py with the secret; their
            base64/base64url JSON (as the ``X-Registry-Auth`` header carries it) is masked.
    """
    if not value:
        return frozenset()
    forms = {value} | _json_forms(value) | _percent_forms(value) | _base64_forms(value.encode())
    if username is not None:
        forms |= _base64_forms(f"{username}:{value}".encode())
    for config in auth_configs:
        forms |= _auth_config_forms(config)
    forms.discard("")
    return frozenset(forms)


class SecretMasks:
    """The forms of a set of secrets, and the masking of them in any text.

    A form is masked where it stands as a token: not inside a longer run of letters and digits
    (a one-letter password does not mask every such letter of a message, which would show the
    password by the gaps it leaves).

    >>> from registry_auth import Secret
    >>> masks = SecretMasks.of([Secret("s3cret")], username="alice")
    >>> masks.redact("auth=YWxpY2U6czNjcmV0 pw=s3cret")
    'auth=******** pw=********'
    """

    __slots__ = ("_forms", "_pattern")

    def __init__(self, forms: Iterable[str] = ()) -> None:
        self._forms: frozenset[str] = frozenset(form for form in forms if form)
        ordered = sorted(self._forms, key=lambda form: (-len(form), form))
        self._pattern = (
            re.compile(rf"(?<![A-Za-z0-9])(?:{'|'.join(map(re.escape, ordered))})(?![A-Za-z0-9])")
            if ordered
            else None
        )

    @classmethod
    def of(
        cls,
        secrets: Iterable[Secret],
        *,
        username: str | None = None,
        auth_configs: Iterable[Mapping[str, str]] = (),
    ) -> SecretMasks:
        """The masks of ``secrets``, sent for ``username`` inside ``auth_configs``."""
        configs = tuple(auth_configs)
        forms: set[str] = set()
        for secret in secrets:
            forms |= encoded_forms(secret.reveal(), username=username, auth_configs=configs)
        return cls(forms)

    def __or__(self, other: SecretMasks) -> SecretMasks:
        if not isinstance(other, SecretMasks):
            return NotImplemented
        if other._forms <= self._forms:
            return self
        return SecretMasks(self._forms | other._forms)

    def __len__(self) -> int:
        return len(self._forms)

    def redact(self, text: str) -> str:
        """``text`` with every form replaced by a mask."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def __repr__(self) -> str:
        return f"<SecretMasks: {len(self._forms)} forms>"

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("SecretMasks cannot be pickled")
