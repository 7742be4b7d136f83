"""Registry bearer tokens: scopes asked for, access granted, RS256 JWTs signed.

This is the token format of the distribution registry's ``token`` auth (the one Docker Hub
uses): a JWT whose header carries the signing certificate in ``x5c`` and whose ``access`` claim
lists what the bearer may do, ``[{"type": "repository", "name": "team/app", "actions": [...]}]``.
Nothing here does I/O.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["Grant", "TokenSigner", "granted", "libtrust_key_id", "parse_scope", "token_claims"]


@attrs.frozen(kw_only=True)
class Grant:
    """Actions on one resource, as asked for in a ``scope`` or granted in a token."""

    type: str
    name: str
    actions: tuple[str, ...]

    def as_claim(self) -> dict[str, object]:
        """This grant as an entry of the token's ``access`` claim."""
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


def parse_scope(scope: str) -> list[Grant]:
    """Parse a ``scope`` parameter: space-separated ``type:name:action,action`` items.

    The type ends at the first colon and the actions start after the last one, so a name may
    hold colons itself. Items without a name are skipped.
    """
    grants = []
    for item in scope.split():
        resource_type, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        if resource_type and name:
            grants.append(
                Grant(
                    type=resource_type,
                    name=name,
                    actions=tuple(action for action in actions.split(",") if action),
                )
            )
    return grants


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def libtrust_key_id(key: rsa.RSAPublicKey) -> str:
    """The key ID docker's libtrust gives a public key (what Docker Hub puts in ``kid``).

    It is the SHA-256 of the DER SubjectPublicKeyInfo, cut to 240 bits, base32-encoded and
    split into twelve groups of four characters.
    """
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[index : index + 4] for index in range(0, len(encoded), 4))


def token_claims(
    *,
    issuer: str,
    subject: str,
    audience: str,
    access: Iterable[Grant],
    now: int,
    lifetime: int,
) -> dict[str, object]:
    """The claims of a registry token issued at *now* (seconds since the epoch)."""
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": now + lifetime,
        "nbf": now - 1,
        "iat": now,
        "jti": secrets.token_hex(16),
        "access": [grant.as_claim() for grant in access],
    }


@attrs.frozen(kw_only=True)
class TokenSigner:
    """Signs registry tokens with an RSA key (RS256) and names its certificate in ``x5c``."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_pem: bytes) -> TokenSigner:
        """Load the key and certificate from PEM data."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("registry tokens are signed with an RSA key (RS256)")
        return cls(key=key, certificate=x509.load_pem_x509_certificate(certificate_pem))

    def header(self) -> dict[str, object]:
        """The JOSE header of every token this signer makes."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "typ": "JWT",
            "alg": "RS256",
            "kid": libtrust_key_id(self.key.public_key()),
            "x5c": [base64.b64encode(der).decode("ascii")],
        }

    def sign(self, claims: Mapping[str, object]) -> str:
        """Return the compact JWS of *claims*."""
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode())
            for part in (self.header(), claims)
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"


def granted(requested: Sequence[Grant], *, known_user: bool, public: Iterable[str]) -> list[Grant]:
    """What a token grants: everything asked for to a known user, pulls of public repos else."""
    if known_user:
        return list(requested)
    public_names = set(public)
    return [
        Grant(type=grant.type, name=grant.name, actions=("pull",))
        for grant in requested
        if grant.type == "repository" and grant.name in public_names and "pull" in grant.actions
    ]
