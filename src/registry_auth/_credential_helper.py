"""``docker-credential-registry-auth``: registry-auth's providers behind Docker's helper protocol.

Docker (the CLI, docker-py, containerd's CRI plugin through config files) runs
``docker-credential-<name> <action>`` and talks over stdin and stdout:

- ``get``: stdin is a server address; stdout is ``{"ServerURL", "Username", "Secret"}``, or
  ``credentials not found in native keychain`` with exit 1;
- ``store``: stdin is ``{"ServerURL", "Username", "Secret"}``;
- ``erase``: stdin is a server address;
- ``list``: stdout is ``{"<server address>": "<username>", ...}``;
- ``version``: one line.

Every error goes to stdout with exit status 1, as the protocol requires. ``get`` answers from the
configuration file's providers (ECR tokens come from the on-disk token cache while it is warm, so
neither boto3 nor docker is imported), and keeps its answer ready for the next run when it can
(see :mod:`registry_auth._ready`). ``store``, ``erase`` and ``list`` keep passwords in the
operating system's keyring (the ``keyring`` extra), under registry-auth's keyring provider.

Docker asks by registry host only, so configuration entries scoped to a path
(``registry.example.com/team``) never answer here.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, BinaryIO, Final, TextIO

from registry_auth._errors import InvalidReferenceError, ProtocolError, RegistryAuthError
from registry_auth._reference import ImageReference, registry_of_address

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from registry_auth._config import Config
    from registry_auth._credentials import Credentials
    from registry_auth._provider import CredentialProvider
    from registry_auth._resolver import CredentialResolver

__all__ = ["NOT_FOUND", "main", "run"]

NOT_FOUND: Final = "credentials not found in native keychain"
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
        raise ProtocolError("no server address on stdin")
    try:
        return registry_of_address(address)
    except InvalidReferenceError as exc:
        raise ProtocolError(exc.message) from None


def _ask(
    resolver: CredentialResolver, ref: ImageReference
) -> tuple[Credentials | None, list[CredentialProvider]]:
    """The resolver's answer for ``ref``, and the providers asked for it, in order."""
    asked: list[CredentialProvider] = []
    for provider in resolver.providers_for(ref):
        asked.append(provider)
        credentials = provider.get_credentials(ref)
        if credentials is not None:
            return credentials, asked
    return None, asked


def _get(
    stdin: BinaryIO, out: TextIO, setup: Callable[[], tuple[CredentialResolver, Config | None]]
) -> None:
    started = time.time()
    address = _read(stdin)
    ref = ImageReference(registry=_registry(address), repository="")
    resolver, config = setup()
    credentials, asked = _ask(resolver, ref)
    if credentials is None:
        raise _NotFoundError
    if credentials.identity_token is not None:
        username, secret = _TOKEN_USERNAME, credentials.identity_token.reveal()
    else:
        username, secret = credentials.username, credentials.password.reveal()
    answer = json.dumps({"ServerURL": address, "Username": username, "Secret": secret}) + "\n"
    out.write(answer)
    if config is not None:
        _keep(
            address,
            answer,
            config=config,
            ref=ref,
            credentials=credentials,
            asked=asked,
            started=started,
        )


def _keep(
    address: str,
    answer: str,
    *,
    config: Config,
    ref: ImageReference,
    credentials: Credentials,
    asked: Sequence[CredentialProvider],
    started: float,
) -> None:
    """Keep ``answer`` ready for the next run, if everything it came from can be watched."""
    from registry_auth import _ready  # noqa: PLC0415 - only when keeping answers
    from registry_auth.providers.dockerhub import DockerHubProvider  # noqa: PLC0415
    from registry_auth.providers.ecr import EcrProvider  # noqa: PLC0415
    from registry_auth.providers.static import StaticPasswordProvider  # noqa: PLC0415

    if any(kind == "keyring" for kind, _ in config.secret_sources):
        return
    files = [target for kind, target in config.secret_sources if kind == "file"]
    until = time.time() + _ready.MAX_AGE
    for provider in asked:
        # Exactly these classes: what they answer depends on the configuration, the environment
        # and (ECR) the token cache file, nothing else. A subclass might not.
        if type(provider) is EcrProvider:
            token_file = provider.cache.file
            if token_file is None or not provider.cache.persistent:
                return
            files.append(str(token_file))
        elif type(provider) not in (StaticPasswordProvider, DockerHubProvider):
            return
    last = asked[-1]
    if type(last) is EcrProvider:
        fresh_until = last.fresh_until(ref)
        if fresh_until is None:
            return
        until = min(until, fresh_until.timestamp())
    if credentials.expires_at is not None:
        until = min(until, credentials.expires_at.timestamp())
    _ready.record(address, answer.encode(), files=files, until=until, started=started)


def _store_payload(stdin: BinaryIO) -> tuple[str, str, str]:
    try:
        data: Any = json.loads(_read(stdin) or "null")
    except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
        raise ProtocolError("store expects a JSON object on stdin") from None
    if not isinstance(data, dict):
        raise ProtocolError("store expects a JSON object on stdin")
    fields = [data.get(key) for key in ("ServerURL", "Username", "Secret")]
    if not all(isinstance(value, str) and value for value in fields):
        raise ProtocolError("store needs non-empty ServerURL, Username and Secret strings")
    address, username, secret = fields
    return str(address), str(username), str(secret)


def _keyring_provider() -> Any:
    from registry_auth.providers.keyring import KeyringProvider  # noqa: PLC0415 - on demand

    return KeyringProvider()


def _store(stdin: BinaryIO, out: TextIO) -> None:
    address, username, secret = _store_payload(stdin)
    _keyring_provider().store(_registry(address), username, secret)


def _erase(stdin: BinaryIO, out: TextIO) -> None:
    _keyring_provider().erase(_registry(_read(stdin)))


def _list(stdin: BinaryIO, out: TextIO) -> None:
    entries = _keyring_provider().list()
    json.dump(dict(sorted(entries.items())), out)
    out.write("\n")


def _setup(
    resolver: Callable[[], CredentialResolver] | None, config: str | None, *, keep: bool
) -> Callable[[], tuple[CredentialResolver, Config | None]]:
    """What ``get`` asks: the given resolver, or the tools' configuration (kept with ``keep``)."""

    def build() -> tuple[CredentialResolver, Config | None]:
        if resolver is not None:
            return resolver(), None
        from registry_auth._config import load_tool_config  # noqa: PLC0415 - only for get

        loaded = load_tool_config(config)
        return loaded.resolver(), loaded if keep and config is None else None

    return build


def run(
    argv: Sequence[str],
    *,
    stdin: BinaryIO,
    stdout: TextIO,
    resolver: Callable[[], CredentialResolver] | None = None,
    config: str | None = None,
    keep_answers: bool = False,
) -> int:
    """Run one helper action; returns the exit status (0, or 1 with the error on ``stdout``).

    With ``keep_answers`` (and neither ``resolver`` nor ``config``), ``get`` keeps its answer
    ready for the next run, as the executable does.
    """
    if len(argv) != 1:
        stdout.write("usage: docker-credential-registry-auth get|store|erase|list|version\n")
        return 1
    action = argv[0]
    try:
        if action == "get":
            _get(stdin, stdout, _setup(resolver, config, keep=keep_answers))
        elif action == "store":
            _store(stdin, stdout)
        elif action == "erase":
            _erase(stdin, stdout)
        elif action == "list":
            _list(stdin, stdout)
        elif action == "version":
            from registry_auth._version import version  # noqa: PLC0415

            stdout.write(f"docker-credential-registry-auth (registry-auth) {version()}\n")
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
    """Console entry point of ``docker-credential-registry-auth``."""
    from registry_auth._helper_main import main as entry  # noqa: PLC0415

    entry()
