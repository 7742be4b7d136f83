"""``docker-credential-registry-auth``: registry-auth's providers behind Docker's helper protocol.

Docker (the CLI, docker-py, containerd's CRI plugin through config files) runs
``docker-credential-<name> <action>`` and talks over stdin and stdout:

- ``get``: stdin is a server address; stdout is ``{"ServerURL", "Username", "Secret"}``, or
  ``credentials not found in native keychain`` with exit 1;
- ``store``: stdin is ``{"ServerURL", "Username", "Secret"}``;
- ``erase``: stdin is a server address;
- ``list``: stdout is ``{"<server address>": "<username>", ...}``, each address as it was
  stored (``https://index.docker.io/v1/`` for a ``docker login`` to Docker Hub);
- ``version``: one line.

Every error goes to stdout with exit status 1, as the protocol requires. The errors the
protocol's shared library names have its texts, since clients classify errors by their text:
``credentials not found in native keychain`` (docker/cli and docker-py treat that one as "nothing
stored", anything else as a failure), ``no credentials server URL`` and ``no credentials
username``. ``get`` answers from the
configuration file's providers (ECR tokens come from the on-disk token cache while it is warm, so
neither boto3 nor docker is imported). It writes nothing: the token cache is the one place where
registry-auth keeps a secret on disk. ``store``, ``erase`` and ``list`` keep passwords in the
operating system's keyring (the ``keyring`` extra), under registry-auth's keyring provider;
``erase`` also drops the tokens cached for the registry.

Docker asks by registry host only, so configuration entries scoped to a path
(``registry.example.com/team``) never answer here.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TextIO

from registry_auth._errors import InvalidReferenceError, ProtocolError, RegistryAuthError
from registry_auth._reference import ImageReference, registry_of_address

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from registry_auth._resolver import CredentialResolver

__all__ = ["NOT_FOUND", "main", "run"]

# The texts of docker-credential-helpers' shared library (credentials/error.go).
NOT_FOUND: Final = "credentials not found in native keychain"
MISSING_SERVER_URL: Final = "no credentials server URL"
MISSING_USERNAME: Final = "no credentials username"
_MAX_INPUT: Final = 64 * 1024
_TOKEN_USERNAME: Final = "<token>"  # noqa: S105 - the protocol's marker, not a password


class _NotFoundError(Exception):
    """Nothing is stored for the asked registry (a normal answer, not a failure)."""


def _read(stdin: BinaryIO) -> str:
    raw = stdin.read(_MAX_INPUT + 1)
    if len(raw) > _MAX_INPUT:
        raise ProtocolError(f"input is larger than {_MAX_INPUT} bytes")
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ProtocolError("input is not UTF-8") from None


def _registry(address: str) -> str:
    """The registry host the server address on stdin names."""
    if not address:
        raise ProtocolError(MISSING_SERVER_URL)
    try:
        return registry_of_address(address)
    except InvalidReferenceError as exc:
        raise ProtocolError(exc.message) from None


def _get(stdin: BinaryIO, out: TextIO, resolver: Callable[[], CredentialResolver]) -> None:
    address = _read(stdin)
    ref = ImageReference(registry=_registry(address), repository="")
    credentials = resolver().resolve(ref)
    if credentials is None:
        raise _NotFoundError
    if credentials.identity_token is not None:
        username, secret = _TOKEN_USERNAME, credentials.identity_token.reveal()
    else:
        username, secret = credentials.username, credentials.password.reveal()
    out.write(json.dumps({"ServerURL": address, "Username": username, "Secret": secret}) + "\n")


def _store_payload(stdin: BinaryIO) -> tuple[str, str, str]:
    try:
        data: Any = json.loads(_read(stdin) or "null")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        raise ProtocolError("store expects a JSON object on stdin") from None
    if not isinstance(data, dict):
        raise ProtocolError("store expects a JSON object on stdin")
    fields = [data.get(key) for key in ("ServerURL", "Username", "Secret")]
    if not all(isinstance(value, str) or value is None for value in fields):
        raise ProtocolError("store needs ServerURL, Username and Secret strings")
    address, username, secret = (str(value or "") for value in fields)
    if not address.strip():
        raise ProtocolError(MISSING_SERVER_URL)
    if not username:
        raise ProtocolError(MISSING_USERNAME)
    if not secret:
        raise ProtocolError("store needs a non-empty Secret")
    return address.strip(), username, secret


def _keyring_provider() -> Any:
    from registry_auth.providers.keyring import KeyringProvider  # noqa: PLC0415 - on demand

    return KeyringProvider()


def _store(stdin: BinaryIO, out: TextIO) -> None:
    address, username, secret = _store_payload(stdin)
    _keyring_provider().store(_registry(address), username, secret, server_address=address)


def _erase(stdin: BinaryIO, out: TextIO) -> None:
    from registry_auth._config import forget_cached_tokens  # noqa: PLC0415 - erase only

    registry = _registry(_read(stdin))
    forget_cached_tokens(registry)
    _keyring_provider().erase(registry)


def _list(stdin: BinaryIO, out: TextIO) -> None:
    # Keyed by the server address each entry was stored under, as clients gave it: the docker
    # CLI asks `get` again with these keys.
    json.dump(_keyring_provider().list_addresses(), out)
    out.write("\n")


def _tool_resolver(config: str | None) -> Callable[[], CredentialResolver]:
    """The resolver over the tools' configuration: ``config``, or the search order."""

    def build() -> CredentialResolver:
        from registry_auth._config import load_tool_config  # noqa: PLC0415 - only for get

        return load_tool_config(config).resolver()

    return build


def run(
    argv: Sequence[str],
    *,
    stdin: BinaryIO,
    stdout: TextIO,
    resolver: Callable[[], CredentialResolver] | None = None,
    config: str | None = None,
) -> int:
    """Run one helper action; returns the exit status (0, or 1 with the error on ``stdout``).

    ``get`` asks ``resolver()`` when given, else the providers of the configuration file
    (``config``, or the search order), else the default providers.
    """
    if len(argv) != 1:
        stdout.write("usage: docker-credential-registry-auth get|store|erase|list|version\n")
        return 1
    action = argv[0]
    try:
        if action == "get":
            _get(stdin, stdout, resolver if resolver is not None else _tool_resolver(config))
        elif action == "store":
            _store(stdin, stdout)
        elif action == "erase":
            _erase(stdin, stdout)
        elif action == "list":
            _list(stdin, stdout)
        elif action == "version":
            from registry_auth._version import __version__  # noqa: PLC0415

            stdout.write(f"docker-credential-registry-auth (registry-auth) {__version__}\n")
        else:
            stdout.write(f"unknown action {action!r}: use get, store, erase, list or version\n")
            return 1
    except _NotFoundError:
        stdout.write(NOT_FOUND + "\n")
        return 1
    except RegistryAuthError as exc:
        stdout.write(exc.message + "\n")
        return 1
    return 0


def main() -> None:
    """Console entry point of ``docker-credential-registry-auth``: one action, then exit."""
    sys.exit(run(sys.argv[1:], stdin=sys.stdin.buffer, stdout=sys.stdout))
