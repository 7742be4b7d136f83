"""The certificates of the stack: a private CA, one server certificate, a token signing key.

The CA signs a server certificate whose subject alternative names cover every name and address
the stack answers as, so a single certificate serves every registry and the token server. The
CA joins the system roots in ``bundle.pem``, which programs that only trust system roots (dockerd,
for Docker Hub's names) are given through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterable
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["SigningFiles", "TlsFiles", "system_ca_bundle", "write_signing_files", "write_tls_files"]

_VALIDITY = dt.timedelta(days=30)
_CLOCK_SKEW = dt.timedelta(hours=1)
_RSA_BITS = 2048

_SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # Arch, macOS
)


@attrs.frozen(kw_only=True)
class TlsFiles:
    """PEM files of the stack's CA and of the server certificate it signed.

    Attributes:
        ca_certificate: the CA certificate alone; trust it to reach the stack's servers.
        certificate_chain: the server certificate followed by the CA certificate.
        key: the server certificate's private key.
        bundle: the system roots followed by the CA certificate.
    """

    ca_certificate: Path
    certificate_chain: Path
    key: Path
    bundle: Path


@attrs.frozen(kw_only=True)
class SigningFiles:
    """PEM files of the RSA key that signs registry tokens, and its self-signed certificate.

    Registries trust tokens signed with this key when ``rootcertbundle`` names the certificate.
    """

    certificate: Path
    key: Path


def system_ca_bundle() -> Path | None:
    """Return the system's CA bundle, or None when none is found."""
    cafile = ssl.get_default_verify_paths().cafile
    for candidate in (*_SYSTEM_BUNDLES, *([cafile] if cafile else [])):
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "registry-auth testing"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([_general_name(name) for name in names])


def write_tls_files(directory: Path, *, names: Iterable[str]) -> TlsFiles:
    """Create a CA and a server certificate for *names* (DNS names or IP addresses).

    The files are written to *directory*; the keys are readable by their owner only.
    """
    now = _now()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("registry-auth testing CA")
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    name_list = list(names)
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(name_list[0]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(name_list), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    system = system_ca_bundle()
    roots = system.read_bytes().rstrip(b"\n") + b"\n" if system is not None else b""
    return TlsFiles(
        ca_certificate=_write(directory / "ca.crt", _pem(ca_certificate)),
        certificate_chain=_write(
            directory / "server.crt", _pem(server_certificate) + _pem(ca_certificate)
        ),
        key=_write(directory / "server.key", _key_pem(server_key), 0o600),
        bundle=_write(directory / "bundle.pem", roots + _pem(ca_certificate)),
    )


def write_signing_files(directory: Path) -> SigningFiles:
    """Create the RSA key that signs registry tokens (RS256) and its self-signed certificate."""
    now = _now()
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    name = _name("registry-auth testing token signer")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SigningFiles(
        certificate=_write(directory / "token.crt", _pem(certificate)),
        key=_write(directory / "token.key", _key_pem(key), 0o600),
    )
