"""The ``registry-auth`` command.

Commands::

    registry-auth parse IMAGE            how an image reference is read
    registry-auth resolve IMAGE          which provider answers, the username, the expiry
    registry-auth pull IMAGE             pull into the container engine, with progress
    registry-auth login REGISTRY         store credentials in the keyring or the config file
    registry-auth logout REGISTRY        remove what login stored
    registry-auth providers              installed providers and their load errors
    registry-auth diagnose               configuration, providers, keyring, AWS, engine, cache
    registry-auth kubelet-plugin         the kubelet's credential-provider exec protocol

The global options ``--config PATH``, ``--json`` and ``--debug`` may come before or after the
command (``registry-auth --json resolve IMAGE`` and ``registry-auth resolve IMAGE --json``).

Passwords are read from stdin (``--password-stdin``) or asked for on a terminal, never taken
from the command line. ``--json`` gives machine-readable output on parse, resolve, pull,
providers and diagnose; with ``--json``, an error is also written to stdout as
``{"error": {"type", "message", "registry", "provider", "reference", "exit_code"}}``.

Exit codes:

- 0: success;
- 1: not found: ``resolve`` found no credentials, ``pull`` found no such image (or, with
  ``--policy never``, the engine does not have it), ``logout`` found nothing stored;
- 2: bad usage or invalid input (an unknown option, an invalid image reference or digest);
- 3: configuration or provider error (an invalid config file, a provider that failed); for
  ``diagnose``, a configuration problem;
- 4: authentication: the registry rejected the credentials, or wanted some;
- 5: the registry or its token service could not be reached (an ECR token that could not be
  fetched, and none cached), or the pull timed out (after the retries);
- 6: the container engine is unavailable (also ``diagnose`` when it cannot reach it);
- 7: the image has no variant for the platform, or not the expected digest;
- 8: any other registry-auth error;
- 70: an internal error (a bug: please report it with the ``--debug`` output);
- 130: interrupted (SIGINT);
- 143: terminated (SIGTERM).

SIGINT and SIGTERM first kill the credential helpers the command started (each runs in a
process group of its own), so that nothing it started outlives it. When the reader of the
output goes away (``registry-auth diagnose | head -2``), the command stops quietly: nothing on
stderr, exit status 1, as Python's documentation advises for a closed pipe.

Errors print as one line on stderr; ``--debug`` adds the traceback and registry-auth's debug
logging (only registry-auth's: other libraries stay at WARNING, as botocore's debug log shows
ECR tokens). Error lines, ``--json`` errors and tracebacks (every frame and every chained
exception) mask each secret the command read or sent, in every form it was sent in.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import hmac
import json
import logging
import math
import os
import shutil
import signal
import sys
import textwrap
import threading
import traceback
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO

from registry_auth._config import config_search_path, find_config_file, load_resolver
from registry_auth._credentials import Secret
from registry_auth._discovery import available_providers
from registry_auth._errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialsNotFoundError,
    DigestMismatchError,
    DockerUnavailableError,
    ImageNotFoundError,
    InvalidReferenceError,
    PlatformMismatchError,
    ProtocolError,
    ProviderError,
    ProviderLoadError,
    PullTimeoutError,
    RegistryAuthError,
    RegistryUnavailableError,
    TokenFetchError,
)
from registry_auth._process_groups import kill_all as kill_all_process_groups
from registry_auth._redaction import SecretMasks
from registry_auth._reference import DOCKER_HUB, ImageReference
from registry_auth._version import __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

    from registry_auth._credentials import Credentials
    from registry_auth._orchestrator import ContainerOrchestrator, PullProgress
    from registry_auth._resolver import CredentialResolver
    from registry_auth.providers.keyring import KeyringProvider

__all__ = ["build_parser", "exit_code_for", "main"]

EXIT_OK: Final = 0
EXIT_NOT_FOUND: Final = 1
EXIT_USAGE: Final = 2
EXIT_CONFIG: Final = 3
EXIT_AUTH: Final = 4
EXIT_UNAVAILABLE: Final = 5
EXIT_ENGINE: Final = 6
EXIT_MISMATCH: Final = 7
EXIT_ERROR: Final = 8
EXIT_INTERNAL: Final = 70
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143

EXIT_CODES_HELP: Final = """\
exit codes:
  0    success
  1    not found: no credentials (resolve), no such image (pull), nothing stored (logout)
  2    bad usage or invalid input
  3    configuration or provider error
  4    authentication: the registry rejected the credentials, or wanted some
  5    registry or token service unreachable, or the pull timed out (after the retries)
  6    container engine unavailable
  7    no variant for the platform, or not the expected digest
  8    any other registry-auth error
  70   internal error (please report it with the --debug output)
  130  interrupted (SIGINT)
  143  terminated (SIGTERM)
"""

# Most specific first: the first class an error is an instance of decides.
_EXIT_CODES: Final[tuple[tuple[type[RegistryAuthError], int], ...]] = (
    (InvalidReferenceError, EXIT_USAGE),
    (ProtocolError, EXIT_USAGE),
    (ConfigurationError, EXIT_CONFIG),
    (ProviderLoadError, EXIT_CONFIG),
    # Retried as transient by pulls (no token service answered): reported as such.
    (TokenFetchError, EXIT_UNAVAILABLE),
    (ProviderError, EXIT_CONFIG),
    (AuthenticationError, EXIT_AUTH),
    (CredentialsNotFoundError, EXIT_AUTH),
    (ImageNotFoundError, EXIT_NOT_FOUND),
    (RegistryUnavailableError, EXIT_UNAVAILABLE),
    (PullTimeoutError, EXIT_UNAVAILABLE),
    (DockerUnavailableError, EXIT_ENGINE),
    (PlatformMismatchError, EXIT_MISMATCH),
    (DigestMismatchError, EXIT_MISMATCH),
)

_STDIN_LIMIT: Final = 64 * 1024
_HUB_SERVER: Final = "https://index.docker.io/v1/"
_KEYRING_PROVIDER: Final = "keyring"
_LOGIN_KEYS: Final = frozenset({"provider", "username", "password"})

logger = logging.getLogger("registry_auth.cli")


def exit_code_for(error: RegistryAuthError) -> int:
    """The documented exit code for ``error`` (see the module documentation)."""
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return code
    return EXIT_ERROR


class _Redaction:
    """What a command must mask in everything it prints: every secret it read or handed on.

    Secrets read from stdin are added as they are read; an orchestrator is followed, so that
    what it sent to the engine (config passwords, tokens) is masked in every form it was sent
    in. Error lines, ``--json`` errors and ``--debug`` tracebacks all go through it.
    """

    def __init__(self) -> None:
        self._masks = SecretMasks()
        self._followed: list[Callable[[str], str]] = []

    def add(self, secret: Secret, *, username: str | None = None) -> None:
        """Mask ``secret`` (and ``username:secret`` encoded) from now on."""
        self._masks |= SecretMasks.of([secret], username=username)

    def follow(self, redact: Callable[[str], str]) -> None:
        """Also mask what ``redact`` masks (an orchestrator's :meth:`redact`)."""
        self._followed.append(redact)

    def __call__(self, text: str) -> str:
        text = self._masks.redact(text)
        for redact in self._followed:
            text = redact(text)
        return text


def _redaction(args: argparse.Namespace) -> _Redaction:
    redaction = getattr(args, "redaction", None)
    if not isinstance(redaction, _Redaction):
        redaction = args.redaction = _Redaction()
    return redaction


def _print_traceback(error: BaseException, redact: Callable[[str], str]) -> None:
    """Write ``error``'s traceback, with its chained causes and contexts, masked, to stderr.

    Every line goes through ``redact``: the frames' source lines, and the message of every
    exception of the chain (an engine error echoing the password is chained under ours).
    """
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    sys.stderr.write(redact("".join(lines)))


class _UsageError(Exception):
    """The command line asks for something that cannot be done: exit 2, one line."""


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph descriptions; keeps blocks of several lines (tables) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.strip("\n").split("\n\n"):
            if "\n" in block:
                blocks.append("".join(indent + line for line in block.splitlines(keepends=True)))
            else:
                blocks.append(
                    textwrap.fill(
                        " ".join(block.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
        return "\n\n".join(blocks)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print one line naming the problem, and exit with the usage code."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _VersionAction(argparse.Action):
    """``--version``: prints the version and exits."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(f"registry-auth {__version__}\n")
        parser.exit(EXIT_OK)


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2, sort_keys=True)
    out.write("\n")


def _print_table(data: Mapping[str, object], keys: Sequence[str], out: TextIO) -> None:
    width = max(map(len, keys))
    for key in keys:
        value = data[key]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        out.write(f"{key:<{width}}  {'-' if value is None else value}\n")


# --- parse, resolve, providers ---------------------------------------------------------------


def _cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    ref = ImageReference.from_fields(args.image, args.tag, args.registry_url)
    data = {
        "reference": str(ref),
        "familiar": ref.familiar,
        "registry": ref.registry,
        "repository": ref.repository,
        "tag": ref.tag,
        "digest": ref.digest,
    }
    if args.json:
        _print_json(data, out)
    else:
        _print_table(data, list(data), out)
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace, out: TextIO) -> int:
    ref = ImageReference.from_fields(args.image, args.tag, args.registry_url)
    resolver = load_resolver(args.config)
    credentials = resolver.resolve(ref)
    if credentials is None:
        if args.json:
            _print_json({"reference": str(ref), "registry": ref.registry, "found": False}, out)
        else:
            out.write(f"no credentials for {ref.registry} (reference {ref})\n")
        return EXIT_NOT_FOUND
    secret = credentials.password.reveal() if args.show_secret else str(credentials.password)
    data = {
        "reference": str(ref),
        "registry": credentials.registry,
        "server_address": credentials.server_address,
        "provider": credentials.provider,
        "username": credentials.username,
        "password": secret,
        "expires_at": credentials.expires_at.isoformat() if credentials.expires_at else None,
        "found": True,
    }
    if args.json:
        _print_json(data, out)
    else:
        keys = ("reference", "registry", "provider", "username", "password", "expires_at")
        _print_table(data, keys, out)
    return EXIT_OK


def _cmd_providers(args: argparse.Namespace, out: TextIO) -> int:
    active = {info.name for info in available_providers()}
    rows = [
        {
            "name": info.name,
            "value": info.value,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "blocked": info.name not in active,
            "error": info.error,
        }
        for info in available_providers(include_blocked=True)
    ]
    if args.json:
        _print_json(rows, out)
        return EXIT_OK
    for row in rows:
        origin = f"{row['distribution'] or '?'} {row['version'] or ''}".rstrip()
        if row["error"]:
            status = f"FAILED: {row['error']}"
        else:
            status = "blocked" if row["blocked"] else "ok"
        out.write(f"{row['name']:<16} {origin:<28} {status}\n")
    return EXIT_OK


# --- passwords -------------------------------------------------------------------------------


def _read_password(what: str) -> Secret:
    """A password from stdin: asked for on a terminal, else read to the end (one line)."""
    stdin = sys.stdin
    if stdin is None:
        raise _UsageError(f"--password-stdin: there is no stdin to read the {what} from")
    if stdin.isatty():
        text = getpass.getpass(f"{what.capitalize()}: ", stream=sys.stderr)
    else:
        raw = stdin.buffer.read(_STDIN_LIMIT + 1)
        if len(raw) > _STDIN_LIMIT:
            raise _UsageError(f"the {what} on stdin is longer than {_STDIN_LIMIT} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _UsageError(f"the {what} on stdin is not UTF-8 text") from None
        # One trailing line end is the end of the line, not part of the password.
        text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise _UsageError(f"the {what} on stdin is empty")
    return Secret(text)


def _explicit_credentials(args: argparse.Namespace) -> tuple[str | None, Secret | None]:
    username = (args.username or "").strip() or None
    if args.password_stdin and username is None:
        raise _UsageError("--password-stdin needs --username")
    if username is not None and not args.password_stdin:
        raise _UsageError(
            "--username needs --password-stdin: the password is read from stdin, "
            "never from the command line"
        )
    if username is None:
        return None, None
    password = _read_password("password")
    _redaction(args).add(password, username=username)
    return username, password


# --- pull ------------------------------------------------------------------------------------


def _make_orchestrator(resolver: CredentialResolver) -> ContainerOrchestrator:
    """The orchestrator ``pull`` uses: the engine from the environment (DOCKER_HOST)."""
    from registry_auth._orchestrator import ContainerOrchestrator  # noqa: PLC0415 - pull only

    return ContainerOrchestrator(providers=resolver)


class _ProgressWriter:
    """Feeds progress events to a renderer and writes what it returns."""

    def __init__(self, mode: str, stream: TextIO) -> None:
        from registry_auth._progress import make_renderer  # noqa: PLC0415 - pull only

        self._stream = stream
        width = shutil.get_terminal_size().columns
        self._renderer = make_renderer(mode, stream, width=width)

    @property
    def callback(self) -> Callable[[PullProgress], None] | None:
        """The ``progress`` argument for the pull (None when quiet)."""
        return self._write if self._renderer is not None else None

    def _write(self, event: PullProgress) -> None:
        if self._renderer is None:  # pragma: no cover - no callback then
            return
        self._emit(self._renderer.update(event))

    def finish(self) -> None:
        """Write what the renderer has left."""
        if self._renderer is not None:
            self._emit(self._renderer.finish())

    def _emit(self, text: str) -> None:
        if text:
            self._stream.write(text)
            self._stream.flush()


def _cmd_pull(args: argparse.Namespace, out: TextIO) -> int:
    username, password = _explicit_credentials(args)
    resolver = load_resolver(args.config)
    mode = args.progress or ("quiet" if args.json else "auto")
    progress = _ProgressWriter(mode, sys.stderr if args.json else out)
    with _make_orchestrator(resolver) as orchestrator:
        _redaction(args).follow(orchestrator.redact)
        try:
            result = orchestrator.pull(
                args.image,
                tag=args.tag,
                registry_url=args.registry_url,
                username=username,
                password=password,
                policy=args.policy,
                platform=args.platform,
                expected_digest=args.expected_digest,
                retries=args.retries,
                retry_interval=args.retry_interval,
                timeout=args.timeout,
                progress=progress.callback,
            )
        finally:
            progress.finish()
    data = {
        "reference": str(result.reference),
        "image_id": result.image_id,
        "digest": result.digest,
        "pulled": result.pulled,
        "provider": result.provider,
        "attempts": result.attempts,
    }
    if args.json:
        _print_json(data, out)
    else:
        _print_table(data, list(data), out)
    return EXIT_OK


# --- login and logout ------------------------------------------------------------------------


def _registry_argument(text: str) -> str:
    from registry_auth.providers.keyring import registry_name  # noqa: PLC0415 - login/logout

    try:
        return registry_name(text)
    except ConfigurationError as exc:
        raise _UsageError(exc.message) from None


def _keyring_provider() -> KeyringProvider:
    from registry_auth.providers.keyring import KeyringProvider  # noqa: PLC0415 - login/logout

    return KeyringProvider()


def _config_target(explicit: str | None) -> Path:
    from pathlib import Path  # noqa: PLC0415 - login/logout only

    if explicit is not None:
        return Path(explicit).expanduser()
    return find_config_file() or config_search_path()[0]


def _verify_login(registry: str, username: str, password: Secret, timeout: float) -> None:
    """Ask the engine to log in to ``registry``: the registry checks the credentials."""
    import docker  # noqa: PLC0415 - loaded only when the engine is needed

    from registry_auth._pull_errors import (  # noqa: PLC0415 - --verify only
        FailureKind,
        classify_exception,
        redact,
    )

    try:
        client = docker.from_env(timeout=max(1, math.ceil(timeout)))
    except docker.errors.DockerException as exc:
        raise DockerUnavailableError(
            f"no engine answered to verify the login: {exc}", registry=registry
        ) from exc
    server = _HUB_SERVER if registry == DOCKER_HUB else registry
    try:
        client.login(username=username, password=password.reveal(), registry=server, reauth=True)
    except Exception as exc:
        engine = classify_exception(exc)
        if engine is None:
            raise
        detail = redact(engine.detail, [password], username=username)
        context = {"registry": registry}
        if engine.kind in {FailureKind.AUTHENTICATION, FailureKind.ACCESS_DENIED}:
            raise AuthenticationError(
                f"{registry} rejected the login of {username!r}: {detail}", **context
            ) from None
        if engine.kind is FailureKind.ENGINE_UNAVAILABLE:
            raise DockerUnavailableError(f"the engine failed: {detail}", **context) from None
        if engine.kind in {FailureKind.UNAVAILABLE, FailureKind.TLS, FailureKind.TIMEOUT}:
            raise RegistryUnavailableError(
                f"{registry} could not be reached to verify the login: {detail}", **context
            ) from None
        raise RegistryAuthError(
            f"verifying the login to {registry} failed: {detail}", **context
        ) from None
    finally:
        client.close()


def _same_credentials(found: Credentials | None, username: str, password: Secret) -> bool:
    return (
        found is not None
        and found.username == username
        and hmac.compare_digest(found.password.reveal().encode(), password.reveal().encode())
    )


def _warn_if_not_used(config: str | None, registry: str, username: str, password: Secret) -> None:
    """Say so when the configuration in use would not hand out what was just stored."""
    path = config or find_config_file()
    if path is None:
        return  # no file: the default providers ask the keyring first
    try:
        found = load_resolver(config).resolve_registry(registry)
    except RegistryAuthError as exc:
        logger.debug("checking the stored credentials failed: %s", exc.message)
        found = None
    if not _same_credentials(found, username, password):
        sys.stderr.write(
            f"registry-auth: warning: {path} does not take the credentials for {registry} "
            "from the keyring, so pulls will not use them; run login with --store config, "
            f'or add [[providers]] provider = "{_KEYRING_PROVIDER}" to it\n'
        )


def _default_seed() -> dict[str, Any]:
    """What a configuration file created by login starts with: the default providers.

    Without them, creating the file would switch off the providers used when there is none.
    """
    from registry_auth._config import default_entries  # noqa: PLC0415 - login only

    providers = [{"provider": entry.provider} for entry in default_entries()]
    return {"version": 1, "providers": providers} if providers else {"version": 1}


def _cmd_login(args: argparse.Namespace, out: TextIO) -> int:
    from registry_auth._config_writer import (  # noqa: PLC0415 - login only
        check_editable,
        set_registry_entry,
    )

    registry = _registry_argument(args.registry)
    if args.insecure_inline and args.store != "config":
        raise _UsageError("--insecure-inline goes with --store config")
    username = args.username.strip()
    if not username:
        raise _UsageError("the username is empty")
    if not args.password_stdin and not (sys.stdin is not None and sys.stdin.isatty()):
        raise _UsageError(
            "give the password on stdin with --password-stdin (it is never taken from the "
            "command line)"
        )
    target = (
        check_editable(_config_target(args.config), private_directory=True)
        if args.store == "config"
        else None
    )
    password = _read_password("password")
    _redaction(args).add(password, username=username)
    if args.verify:
        _verify_login(registry, username, password, args.timeout)
    provider = None if args.insecure_inline else _keyring_provider()
    if provider is not None:
        provider.store(registry, username, password)
    if args.store == "keyring":
        out.write(f"stored the credentials for {registry} (user {username}) in the keyring\n")
        _warn_if_not_used(args.config, registry, username, password)
        return EXIT_OK
    entry: dict[str, Any] = {"provider": "static", "username": username}
    if provider is None:
        entry["password"] = password.reveal()
    else:
        entry["password"] = {"keyring": provider.service(registry)}
    edit = set_registry_entry(
        target or _config_target(args.config),
        registry,
        entry,
        seed=_default_seed(),
        private_directory=True,
    )
    where = "in the keyring, referenced from" if provider is not None else "inline in"
    action = "created" if edit.created else "updated"
    out.write(
        f"stored the credentials for {registry} (user {username}) {where} {edit.path} "
        f"({action}, mode 0600)\n"
    )
    if provider is None:
        sys.stderr.write(
            f"registry-auth: warning: the password is stored in plain text in {edit.path}\n"
        )
    if not edit.layout_kept:
        sys.stderr.write(
            f"registry-auth: warning: {edit.path} was rewritten from its data; its comments "
            "were not kept\n"
        )
    return EXIT_OK


def _written_by_login(entry: Mapping[str, Any], *, service: str) -> bool:
    """Whether a config entry has the shape login writes (its own, not a hand-made one)."""
    if entry.get("provider") != "static" or not set(entry) <= _LOGIN_KEYS:
        return False
    if not isinstance(entry.get("username"), str):
        return False
    password = entry.get("password")
    if isinstance(password, str):
        return True
    return isinstance(password, dict) and password.get("keyring") == service


def _cmd_logout(args: argparse.Namespace, out: TextIO) -> int:
    import importlib.util  # noqa: PLC0415 - logout only

    from registry_auth._config import forget_cached_tokens  # noqa: PLC0415 - logout only
    from registry_auth._config_writer import remove_registry_entry  # noqa: PLC0415

    registry = _registry_argument(args.registry)
    removed = False
    forgotten = forget_cached_tokens(registry)
    if forgotten:
        noun = "token" if forgotten == 1 else "tokens"
        out.write(f"removed {forgotten} cached {noun} for {registry}\n")
        removed = True
    service = f"registry-auth:{registry}"
    if importlib.util.find_spec("keyring") is not None:
        provider = _keyring_provider()
        service = provider.service(registry)
        if provider.erase(registry):
            out.write(f"removed the credentials for {registry} from the keyring\n")
            removed = True
    path = args.config or find_config_file()
    if path is not None:
        edit = remove_registry_entry(
            path, registry, only_if=lambda entry: _written_by_login(entry, service=service)
        )
        if edit.changed:
            out.write(f'removed [registries."{registry}"] from {edit.path}\n')
            removed = True
        elif edit.previous:
            sys.stderr.write(
                f'registry-auth: note: kept [registries."{registry}"] in {edit.path}: '
                "login did not write it\n"
            )
    if not removed:
        out.write(f"no stored credentials for {registry}\n")
        return EXIT_NOT_FOUND
    return EXIT_OK


# --- diagnose, kubelet-plugin ----------------------------------------------------------------


def _cmd_diagnose(args: argparse.Namespace, out: TextIO) -> int:
    from registry_auth._diagnose import diagnose  # noqa: PLC0415 - diagnose only

    report = diagnose(args.config, check_engine=not args.no_engine, engine_timeout=args.timeout)
    if args.json:
        _print_json(report.as_json(), out)
        return report.exit_code
    sections = report.sections
    out.write(f"registry-auth {sections['registry_auth']}, Python {sections['python']}\n")
    current = None
    for finding in report.findings:
        if finding.section != current:
            current = finding.section
            out.write(f"{current}\n")
        out.write(f"  {finding.level.value:<8} {finding.message}\n")
    errors = sum(1 for f in report.findings if f.level.value == "error")
    warnings = sum(1 for f in report.findings if f.level.value == "warning")
    verdict = "ok" if report.ok else "problems found"
    out.write(f"{verdict}: {errors} error(s), {warnings} warning(s)\n")
    return report.exit_code


def _cmd_kubelet_plugin(args: argparse.Namespace, out: TextIO) -> int:
    from registry_auth._kubelet import handle_request  # noqa: PLC0415 - only this command

    raw = sys.stdin.buffer.read(64 * 1024 + 1)
    response = handle_request(raw, load_resolver(args.config))
    json.dump(response, out)
    out.write("\n")
    return EXIT_OK


# --- the parser ------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds above 0, not {text!r}")
    return value


def _add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="image reference or image name (docker pull syntax)")
    parser.add_argument("--tag", help="image tag, when the name carries none")
    parser.add_argument(
        "--registry-url",
        help="authentication registry URL: blank for Docker Hub, or host[:port][/dir/]",
    )


def _add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--config``, ``--json`` and ``--debug``, accepted before and after the command.

    The main parser holds the defaults. Each command's parser has the same options with
    ``argparse.SUPPRESS`` as default, so that an option not given after the command does not
    reset one given before it.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--config",
        default=default(None),
        metavar="PATH",
        help="configuration file (default: the search order)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="machine-readable output (and errors as a JSON object on stdout)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="debug logging and tracebacks",
    )


def _command_parser(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command's parser, with the global options."""
    parser: argparse.ArgumentParser = sub.add_parser(name, **kwargs)
    _add_global_options(parser, defaults=False)
    return parser


def _add_pull_parser(sub: Any) -> None:
    from registry_auth._orchestrator import (  # noqa: PLC0415 - light: imports no docker
        DEFAULT_RETRIES,
        DEFAULT_RETRY_INTERVAL,
        DEFAULT_TIMEOUT,
        PullPolicy,
    )
    from registry_auth._progress import PROGRESS_MODES  # noqa: PLC0415

    parser = _command_parser(
        sub,
        "pull",
        help="pull an image into the container engine (DOCKER_HOST), with progress",
        description=(
            "Pull an image with credentials from --username/--password-stdin, else from the "
            "configured providers, else anonymously. Progress goes to stdout (stderr with "
            "--json): a line per layer redrawn in place on a terminal, a line per status "
            "change otherwise."
        ),
        epilog=EXIT_CODES_HELP,
    )
    _add_image_arguments(parser)
    parser.add_argument("--username", help="registry user, with --password-stdin")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password or token from stdin"
    )
    parser.add_argument(
        "--policy",
        choices=[policy.value for policy in PullPolicy],
        default=PullPolicy.IF_NOT_PRESENT.value,
        help="when to contact the registry (default: %(default)s)",
    )
    parser.add_argument("--platform", help="os/arch[/variant] to pull, if not the engine's own")
    parser.add_argument(
        "--expected-digest",
        metavar="DIGEST",
        help="sha256:... the image must have; it is then pulled by digest and tagged",
    )
    parser.add_argument(
        "--retries",
        type=_positive_int,
        default=DEFAULT_RETRIES,
        help="pull attempts in all (default: %(default)s)",
    )
    parser.add_argument(
        "--retry-interval",
        type=_seconds,
        default=DEFAULT_RETRY_INTERVAL,
        metavar="SECONDS",
        help="base of the backoff between attempts (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="seconds one attempt may take (default: %(default)s)",
    )
    parser.add_argument(
        "--progress",
        choices=PROGRESS_MODES,
        help="progress display (default: auto; quiet with --json)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        dest="progress",
        action="store_const",
        const="quiet",
        help="no progress display (same as --progress quiet)",
    )
    parser.set_defaults(func=_cmd_pull)


def _add_login_parsers(sub: Any) -> None:
    login = _command_parser(
        sub,
        "login",
        help="store credentials for a registry in the keyring or the config file",
        description=(
            "Store a username and password for REGISTRY (host[:port], or docker.io). "
            "--store keyring (the default) keeps them in the system keyring, where the "
            "keyring provider finds them; --store config also writes a "
            '[registries."REGISTRY"] entry into the configuration file that refers to the '
            "keyring entry (or, with --insecure-inline, holds the password itself). The file "
            "is written atomically with mode 0600, keeping its other entries."
        ),
        epilog=EXIT_CODES_HELP,
    )
    login.add_argument("registry", metavar="REGISTRY", help="host[:port], or docker.io")
    login.add_argument("-u", "--username", required=True, help="registry user")
    login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (asked for when stdin is a terminal)",
    )
    login.add_argument(
        "--store",
        choices=("keyring", "config"),
        default="keyring",
        help="where to keep the credentials (default: %(default)s)",
    )
    login.add_argument(
        "--insecure-inline",
        action="store_true",
        help="with --store config: write the password itself into the file (mode 0600)",
    )
    login.add_argument(
        "--verify",
        action="store_true",
        help="check the credentials with the registry first, through the engine (DOCKER_HOST)",
    )
    login.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="for --verify: seconds the engine may take (default: %(default)s)",
    )
    login.set_defaults(func=_cmd_login)

    logout = _command_parser(
        sub,
        "logout",
        help="remove the credentials login stored for a registry",
        description=(
            "Erase REGISTRY's credentials from the keyring, and remove its entry from the "
            "configuration file if login wrote it (an entry written by hand is kept)."
        ),
        epilog=EXIT_CODES_HELP,
    )
    logout.add_argument("registry", metavar="REGISTRY", help="host[:port], or docker.io")
    logout.set_defaults(func=_cmd_logout)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="registry-auth",
        description="Resolve registry credentials and pull images from private registries.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action=_VersionAction)
    _add_global_options(parser, defaults=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_parse = _command_parser(sub, "parse", help="show how an image reference is read")
    _add_image_arguments(p_parse)
    p_parse.set_defaults(func=_cmd_parse)

    p_resolve = _command_parser(sub, "resolve", help="show which provider answers for an image")
    _add_image_arguments(p_resolve)
    p_resolve.add_argument(
        "--show-secret", action="store_true", help="print the password instead of masking it"
    )
    p_resolve.set_defaults(func=_cmd_resolve)

    _add_pull_parser(sub)
    _add_login_parsers(sub)

    p_providers = _command_parser(sub, "providers", help="list installed credential providers")
    p_providers.set_defaults(func=_cmd_providers)

    p_diagnose = _command_parser(
        sub,
        "diagnose",
        help="check the configuration, providers, keyring, AWS credentials, engine and cache",
        description=(
            "Report what registry-auth would use and what is wrong with it. Exits 0 when "
            "nothing needed is broken, 3 for a configuration or provider problem, 6 when the "
            "engine cannot be reached. Never shows a secret."
        ),
    )
    p_diagnose.add_argument(
        "--no-engine", action="store_true", help="do not contact the container engine"
    )
    p_diagnose.add_argument(
        "--timeout",
        type=_seconds,
        default=3.0,
        metavar="SECONDS",
        help="seconds the engine may take to answer (default: %(default)s)",
    )
    p_diagnose.set_defaults(func=_cmd_diagnose)

    p_kubelet = _command_parser(
        sub,
        "kubelet-plugin",
        help="answer a kubelet CredentialProviderRequest on stdin (exec plugin protocol v1)",
    )
    p_kubelet.set_defaults(func=_cmd_kubelet_plugin)
    return parser


def _error_json(
    error: RegistryAuthError, code: int, redact: Callable[[str], str]
) -> dict[str, Any]:
    def masked(text: str | None) -> str | None:
        return None if text is None else redact(text)

    return {
        "error": {
            "type": type(error).__name__,
            "message": masked(error.message),
            "registry": masked(error.registry),
            "provider": masked(error.provider),
            "reference": masked(error.reference),
            "exit_code": code,
        }
    }


class _TerminatedError(BaseException):
    """SIGTERM arrived: unwind as an interrupt does, so that what we started is stopped."""


def _on_sigterm(signum: int, _frame: object) -> None:
    # A second SIGTERM while we clean up ends the process the default way.
    signal.signal(signum, signal.SIG_DFL)
    kill_all_process_groups()
    raise _TerminatedError


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises instead of killing us outright.

    The default action would end the process at once, leaving a credential helper it started
    (in its own process group) running on.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _discard_output(stream: TextIO) -> None:
    """Send what is left for a closed stdout to /dev/null, so the exit flush cannot fail."""
    if stream is not sys.stdout:
        return
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code.

    When the reader of the output goes away (``registry-auth diagnose | head -2``), the command
    stops quietly with exit status 1, as Python's documentation advises for a closed pipe
    (``signal`` module, "Note on SIGPIPE"). SIGTERM and SIGINT kill the credential helpers
    still running before the command exits (143 and 130).
    """
    stdout = out if out is not None else sys.stdout
    with _sigterm_unwinds():
        try:
            code = _run(argv, stdout)
            stdout.flush()
        except BrokenPipeError:
            _discard_output(stdout)
            return EXIT_NOT_FOUND
    return code


def _run(argv: Sequence[str] | None, stdout: TextIO) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.debug:
        # Our loggers only: botocore logs every AWS answer at DEBUG, ECR tokens included.
        logging.getLogger("registry_auth").setLevel(logging.DEBUG)
    redact = _redaction(args)
    try:
        code: int = args.func(args, stdout)
    except _UsageError as exc:
        sys.stderr.write(f"registry-auth {args.command}: error: {redact(str(exc))}\n")
        return EXIT_USAGE
    except RegistryAuthError as exc:
        if args.debug:
            _print_traceback(exc, redact)
        code = exit_code_for(exc)
        sys.stderr.write(f"registry-auth: error: {redact(exc.message)}\n")
        if getattr(args, "json", False):
            _print_json(_error_json(exc, code, redact), stdout)
        return code
    except KeyboardInterrupt:
        kill_all_process_groups()
        sys.stderr.write("registry-auth: interrupted\n")
        return EXIT_INTERRUPTED
    except _TerminatedError:
        kill_all_process_groups()
        sys.stderr.write("registry-auth: terminated\n")
        return EXIT_TERMINATED
    except BrokenPipeError:
        raise  # the output was closed: main() ends quietly
    except Exception as exc:  # noqa: BLE001 - a bug still ends with one line and a code
        if args.debug:
            _print_traceback(exc, redact)
        sys.stderr.write(
            f"registry-auth: internal error ({type(exc).__name__}); run with --debug for the "
            "traceback\n"
        )
        return EXIT_INTERNAL
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
