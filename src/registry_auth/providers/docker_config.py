"""Credentials from Docker's ``config.json`` and the containers tools' ``auth.json``.

:class:`DockerConfigProvider` finds the credentials ``docker pull`` would use for a reference:
those ``docker login`` saved in the file, or those held by a credential helper the file names.

Which files
-----------
Given a path, only that file is read (a directory stands for its ``config.json``, as with
``docker --config DIR``); given a dict, only that content. Otherwise, in this order:

1. Docker's file: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``;
2. the containers tools' files (podman, skopeo, buildah): ``$REGISTRY_AUTH_FILE`` alone if it is
   set, else ``$XDG_RUNTIME_DIR/containers/auth.json`` and then
   ``$XDG_CONFIG_HOME/containers/auth.json`` (``~/.config/containers/auth.json``);
3. ``~/.dockercfg``, the legacy file of old docker clients: a JSON object of server address ->
   ``{"auth", "email"}`` at the top level, with no ``auths`` wrapper. Its keys all name
   registries, never namespaces.

The first file that yields credentials for the reference wins; missing files are skipped. Docker's
file comes first because the credentials are handed to a docker engine, and the docker CLI reads
only that file (or ``~/.dockercfg`` when it has none). The containers tools search the other way
round (their own files, then Docker's, then ``~/.dockercfg``), so a registry with different
accounts in both kinds of file gets Docker's here.

When files are checked
----------------------
A lookup checks the files (one ``stat`` each) only when ``recheck_interval`` seconds (1 by
default) have passed since the last check; in between, what the files said is remembered per
reference, and a warm lookup makes no system call. A ``docker login`` (or a new
``$DOCKER_CONFIG``) is therefore seen at most ``recheck_interval`` seconds late, or on the first
lookup after :meth:`DockerConfigProvider.invalidate`, which the
:class:`~registry_auth.ContainerOrchestrator` calls (through its resolver) when a registry
rejects the credentials. With ``recheck_interval=0`` every lookup checks.
A file is parsed again only when its modification time (in nanoseconds), size or inode changes
(``docker login`` replaces the file with a new one).
Credential helpers are asked on every lookup that reaches them: their answers are never
remembered.

Within one file
---------------
For a reference to registry ``R`` (``docker.io`` for Docker Hub):

1. ``credHelpers``: an entry for ``R`` names the helper that holds its credentials
   (``"quay.io": "secretservice"`` runs ``docker-credential-secretservice``). What that helper
   answers is final for this file; it wins over ``credsStore``.
2. ``auths`` entries keyed by a namespace: a key with a path and no ``://``, such as
   ``quay.io/org/repo`` or ``quay.io/org``, tried from the most specific namespace of the
   reference to the least. A namespace applies at path-component boundaries only (``quay.io/org``
   covers ``quay.io/org/app``, not ``quay.io/organisation/app``). This is how the containers
   tools read such keys, in every file; the docker CLI would cut the key down to its host and
   send the credential to every repository of the registry.
3. ``credsStore``: the helper for all other registries. When it is set, the file's
   registry-level ``auths`` entries are not used, as with the docker CLI (``docker login``
   leaves empty ``{}`` markers there). docker-py differs: it falls back to them.
4. ``auths`` entries for ``R``: a key naming ``R`` exactly, else the first key, in file order,
   whose host is ``R`` as the docker CLI reads keys (:func:`key_host`): a key with ``://`` is a
   URL, and names its host and port (``https://registry.example.com/v2/`` counts for
   ``registry.example.com``, ``https://::1:6555/v2/`` for ``[::1]:6555``). A key without one
   whose path is just ``v1`` or ``v2`` (``registry.example.com/v1/``, ``localhost:8000/v2``) is
   a registry's API address too, as for docker/cli and moby, not a namespace ``v1``.

Docker Hub is looked up under ``https://index.docker.io/v1/`` (the key ``docker login`` writes,
and the server URL helpers are asked for), then under the exact keys ``docker.io``,
``index.docker.io`` and ``registry-1.docker.io``, then under any key whose host is one of those.
Other registries' helpers are asked for ``host[:port]`` as the reference spells it. Hosts compare
without regard to case, and ``credHelpers`` keys are matched as registry-level ``auths`` keys are.

Entries
-------
An ``auths`` entry holds ``auth`` (base64 of ``user:password``; it wins when present), or
``username`` and ``password``, and may hold ``identitytoken``, an OAuth refresh token the engine
uses instead of the password. An entry with neither a username nor an identity token (``{}``,
an ``email`` alone) is skipped. The username ``<token>`` means the secret is an identity token,
in files as in helper answers.

Credential helpers
------------------
A helper runs as ``docker-credential-<suffix> get`` with the server URL on stdin, in its own
process group, for at most ``helper_timeout`` seconds; then the whole group is killed (as it is
when the command line is interrupted or terminated while the helper runs). Its answer
``{"ServerURL": ..., "Username": ..., "Secret": ...}`` becomes :class:`Credentials`. A non-zero
exit with ``credentials not found in native keychain`` on stdout, or an answer whose username
and secret are both empty (what some helpers print instead), means it has nothing. Anything else
raises :class:`ProviderError` naming the helper and the registry, with the exit status and the
first line of the helper's stderr at most: the helper's stdout may hold a secret and is never
quoted.

A malformed file raises :class:`ConfigurationError` naming the file and, where it helps, the key;
never the content of an ``auths`` entry.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import os
import re
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

import attrs

from registry_auth._credentials import Credentials, Secret
from registry_auth._errors import ConfigurationError, ProviderError
from registry_auth._locations import LEGACY_FILE_NAME, docker_auth_files
from registry_auth._process_groups import start_group
from registry_auth._reference import DOCKER_HUB, ImageReference

if TYPE_CHECKING:
    from registry_auth._options import OptionTypes

__all__ = ["DockerConfigProvider", "auth_file_search_path", "key_host"]

_logger: Final = logging.getLogger("registry_auth.providers.docker_config")

_HELPER_PREFIX: Final = "docker-credential-"
_OWN_HELPER: Final = "registry-auth"

_HUB_SERVER: Final = "https://index.docker.io/v1/"
# Keys naming Docker Hub exactly, best first.
_HUB_KEYS: Final = (_HUB_SERVER, DOCKER_HUB, "index.docker.io", "registry-1.docker.io")
_HUB_HOSTS: Final = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
_TOKEN_USERNAME: Final = "<token>"  # noqa: S105 - the protocol's marker, not a password
_NOT_FOUND: Final = "credentials not found in native keychain"
_HELPER_NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_API_PATHS: Final = frozenset({"v1", "v2"})
_STDERR_LIMIT: Final = 200
_DICT_SOURCE: Final = "the Docker configuration given as a dict"

_T = TypeVar("_T")


def auth_file_search_path(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The files :class:`DockerConfigProvider` reads when given no ``config``, in order.

    See the module documentation for the order and why. The files need not exist.
    """
    return tuple(
        Path(path) for path in docker_auth_files(os.environ if environ is None else environ)
    )


# --- Reading files: pure functions from JSON to _AuthFile -------------------------------------


@attrs.frozen(kw_only=True)
class _Key:
    """An ``auths`` or ``credHelpers`` key: as written, and as host plus namespace."""

    text: str
    host: str
    namespace: str  # "" for a registry-level key

    @classmethod
    def parse(cls, text: str, *, legacy: bool = False) -> _Key:
        """Read a key; ``legacy`` for ``~/.dockercfg``, whose keys all name registries."""
        rest = text.strip()
        if "://" in rest:
            # A URL names a registry (docker login once wrote https://host/v1/ keys).
            host, namespace = key_host(rest), ""
        else:
            host, _, namespace = rest.partition("/")
            namespace = namespace.strip("/")
            if legacy or namespace in _API_PATHS:
                # registry.example.com/v1/ is a registry's API address, as for docker/cli and
                # moby: no repository is named v1 or v2 at the top of a namespace that matters.
                namespace = ""
        return cls(text=text, host=_normalize_host(host), namespace=namespace)


def key_host(key: str) -> str:
    """The registry host (``host[:port]``) an ``auths`` key names, as the docker CLI reads it.

    A key holding ``://`` is read as a URL: its host and port, an IPv6 address in brackets
    (``https://::1:6555/v2/`` names ``[::1]:6555``, as Go's URL parser splits at the last
    colon). Any other key is cut at its first ``/``. Case is kept.
    """
    text = key.strip()
    if "://" in text:
        authority = text.partition("://")[2]
        for stop in "/?#":
            authority = authority.partition(stop)[0]
        authority = authority.rpartition("@")[2]
        host = _url_host(authority)
        if host is not None:
            return host
    return text.partition("/")[0]


def _url_host(authority: str) -> str | None:
    """``host[:port]`` of a URL's authority part, or None when it has no host."""
    if authority.startswith("["):
        host, bracket, after = authority[1:].partition("]")
        if not bracket:
            return None
        port = after[1:] if after.startswith(":") else ""
    else:
        host, colon, port = authority.rpartition(":")
        if not colon or not port.isdigit():
            host, port = (host, "") if colon and not port else (authority, "")
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


@attrs.frozen(kw_only=True)
class _Entry:
    """A usable ``auths`` entry, decoded."""

    key: _Key
    username: str
    password: Secret
    identity_token: Secret | None


@attrs.frozen(kw_only=True)
class _HelperRoute:
    """A ``credHelpers`` entry: registry key and helper suffix."""

    key: _Key
    helper: str


@attrs.frozen(kw_only=True)
class _AuthFile:
    """What one file (or dict) says about credentials."""

    source: str
    path: str | None
    entries: tuple[_Entry, ...] = ()
    helpers: tuple[_HelperRoute, ...] = ()
    store: str | None = None


def _normalize_host(host: str) -> str:
    host = host.strip().lower()
    return DOCKER_HUB if host in _HUB_HOSTS else host


def _fail(document: _AuthFile, message: str) -> ConfigurationError:
    return ConfigurationError(f"{document.source}: {message}", path=document.path)


def _decode_basic(value: str) -> tuple[str, str] | None:
    """``user:password`` from the base64 ``auth`` field, or None when it is not that."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        return None
    return username, password.strip("\x00")


def _string_field(document: _AuthFile, raw: Mapping[str, Any], key: str, field: str) -> str:
    value = raw.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail(document, f"auths[{key!r}]: {field!r} must be a string")
    return value


def _parse_entry(
    document: _AuthFile, key: str, raw: object, *, legacy: bool = False
) -> _Entry | None:
    if not isinstance(raw, dict):
        raise _fail(document, f"auths[{key!r}] must be a JSON object")
    auth = _string_field(document, raw, key, "auth")
    token = _string_field(document, raw, key, "identitytoken")
    if auth:
        pair = _decode_basic(auth)
        if pair is None:
            raise _fail(
                document, f"auths[{key!r}]: the 'auth' field is not base64 of 'user:password'"
            )
        username, password = pair
    else:
        username = _string_field(document, raw, key, "username")
        password = _string_field(document, raw, key, "password")
    if username == _TOKEN_USERNAME and not token:
        token, password = password, ""
    if not username and not token:
        return None  # a marker left by docker login with a helper, or an e-mail alone
    return _Entry(
        key=_Key.parse(key, legacy=legacy),
        username=username or _TOKEN_USERNAME,
        password=Secret(password),
        identity_token=Secret(token) if token else None,
    )


def _check_helper_name(document: _AuthFile, where: str, name: object) -> str:
    if not isinstance(name, str) or not _HELPER_NAME_RE.fullmatch(name):
        shown = repr(name) if isinstance(name, str) else f"a {type(name).__name__}"
        raise _fail(
            document,
            f"{where}: {shown} is not a credential helper name (letters, digits, '.', '_', '-': "
            f"the suffix of {_HELPER_PREFIX}<name>)",
        )
    return name


def _parse_document(
    data: object, *, source: str, path: str | None, legacy: bool = False
) -> _AuthFile:
    """Validate parsed ``config.json``/``auth.json`` content and decode its entries.

    ``legacy``: the content of a ``~/.dockercfg``, whose top level is what ``auths`` holds in
    the newer files (unless it has an ``auths`` key of its own, as docker-py accepts).
    """
    document = _AuthFile(source=source, path=path)
    if not isinstance(data, dict):
        raise _fail(document, "expected a JSON object at the top level")
    if legacy and "auths" not in data:
        data = {"auths": data}
    auths = data.get("auths") or {}
    if not isinstance(auths, dict):
        raise _fail(document, "'auths' must be a JSON object")
    entries = []
    for key, raw in auths.items():
        entry = _parse_entry(document, key, raw, legacy=legacy)
        if entry is not None:
            entries.append(entry)
    helpers_raw = data.get("credHelpers") or {}
    if not isinstance(helpers_raw, dict):
        raise _fail(document, "'credHelpers' must be a JSON object")
    helpers = tuple(
        _HelperRoute(
            key=_Key.parse(key),
            helper=_check_helper_name(document, f"credHelpers[{key!r}]", name),
        )
        for key, name in helpers_raw.items()
    )
    store_raw = data.get("credsStore") or None
    store = None if store_raw is None else _check_helper_name(document, "credsStore", store_raw)
    return attrs.evolve(document, entries=tuple(entries), helpers=helpers, store=store)


def _decode_json(raw: bytes) -> tuple[object, str | None]:
    """(data, None), or (None, what is wrong) when ``raw`` is not JSON text.

    The problem is returned, not raised: decoding errors hold the document, and must not ride
    along as the context of the error raised for it.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    if not text.strip():
        return {}, None  # the docker CLI reads an empty file as an empty configuration
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        # The decoder's message names a position, never the text there.
        return None, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"


def _parse_bytes(raw: bytes, *, path: Path) -> _AuthFile:
    source = str(path)
    data, problem = _decode_json(raw)
    if problem is not None:
        raise _fail(_AuthFile(source=source, path=source), problem)
    legacy = path.name == LEGACY_FILE_NAME
    return _parse_document(data, source=source, path=source, legacy=legacy)


# --- Choosing the entry for a reference: pure ---------------------------------------------------


def _registry_level(items: Sequence[_T], key_of: Callable[[_T], _Key], registry: str) -> list[_T]:
    """The items whose key names ``registry`` (no namespace), best first."""
    level = [item for item in items if not key_of(item).namespace and key_of(item).host == registry]
    exact_names = _HUB_KEYS if registry == DOCKER_HUB else (registry,)
    ranked: list[_T] = []
    taken: set[int] = set()
    for name in exact_names:
        for index, item in enumerate(level):
            if index not in taken and key_of(item).text.strip().lower() == name:
                ranked.append(item)
                taken.add(index)
    ranked.extend(item for index, item in enumerate(level) if index not in taken)
    return ranked


def _namespaced(entries: Sequence[_Entry], registry: str, repository: str) -> _Entry | None:
    """The entry for the most specific namespace of ``repository`` on ``registry``, if any."""
    parts = repository.split("/")
    for depth in range(len(parts), 0, -1):
        namespace = "/".join(parts[:depth])
        for entry in entries:
            if entry.key.host == registry and entry.key.namespace == namespace:
                return entry
    return None


# --- Credential helpers: running one, and reading its answer ------------------------------------


@attrs.frozen(kw_only=True)
class _HelperRun:
    returncode: int
    stdout: bytes = attrs.field(repr=False)
    stderr: bytes = attrs.field(repr=False)


def _run_helper(program: str, action: str, data: bytes, timeout: float) -> _HelperRun:
    """Run ``program action`` with ``data`` on stdin in a new process group, within ``timeout``.

    Raises:
        OSError: the program cannot be started (``FileNotFoundError`` when it is not on PATH).
        subprocess.TimeoutExpired: it did not finish in time; its process group was killed.
    """
    # Its own session and process group, recorded until it ends: on a timeout, an interrupt
    # or SIGTERM the whole group is killed, so nothing it started outlives us.
    with start_group([program, action]) as process:
        stdout, stderr = process.communicate(data, timeout=timeout)
    return _HelperRun(returncode=process.returncode, stdout=stdout, stderr=stderr)


def _first_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    for line in text.splitlines():
        clean = "".join(ch for ch in line if ch.isprintable()).strip()
        if clean:
            if len(clean) > _STDERR_LIMIT:
                clean = clean[:_STDERR_LIMIT] + "..."
            return clean
    return ""


def _failure(run: _HelperRun) -> str | None:
    """What went wrong in a run that exited non-zero; None when it means "not found"."""
    if run.stdout.strip() == _NOT_FOUND.encode():
        return None
    if run.returncode < 0:
        problem = f"killed by signal {-run.returncode}"
    else:
        problem = f"failed with exit status {run.returncode}"
    detail = _first_line(run.stderr)
    return f"{problem} (stderr: {detail})" if detail else problem


def _read_answer(run: _HelperRun) -> tuple[str, Secret] | str | None:
    """A helper's answer: (username, secret), a problem (holding no secret), or None (nothing)."""
    if run.returncode != 0:
        return _failure(run)
    try:
        answer = json.loads(run.stdout.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        answer = None
    username = answer.get("Username") if isinstance(answer, dict) else None
    secret = answer.get("Secret") if isinstance(answer, dict) else None
    if not isinstance(username, str) or not isinstance(secret, str):
        return "returned malformed output (expected a JSON object with Username and Secret)"
    if not username and not secret:
        return None  # e.g. docker-credential-pass 0.6 says "not found" this way
    return username, Secret(secret)


# --- The provider ----------------------------------------------------------------------------


def _check_seconds(option: str, value: object, *, zero: bool) -> float:
    """``value`` as seconds, refusing bools, non-numbers, NaN, infinity and negative numbers.

    Zero is refused too, unless ``zero``.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero)
    ):
        wanted = "a number of seconds, 0 or more," if zero else "a positive number of seconds,"
        raise ConfigurationError(
            f"docker-config provider: {option} must be {wanted} not {value!r}",
            provider="docker-config",
        )
    return float(value)


# A file's stamp: (modification time in ns, size, inode), or None when the file does not exist.
# A file that cannot be examined gets a fresh object(), equal to nothing: it is then opened
# (which raises the error that explains why), and no answer is kept past the next check.
_Stamp = tuple[int, int, int] | None | object


# What a file says about a (registry, repository) as the reference spells them: the name of
# the helper to ask, the entry and the credentials built from it, or None. Files are immutable
# once read (a changed file is read again, with new choices), so each file remembers its choices:
# a warm lookup is then a dict hit, however many entries the file holds.
_Choice = str | tuple[_Entry, Credentials] | None
_Choices = dict[tuple[str, str], _Choice]
_CHOICES_LIMIT: Final = 4096  # references remembered per file; more are decided each time


@attrs.frozen(kw_only=True)
class _View:
    """The files as one check found them, and the answers they gave since.

    ``answers`` holds the final answers that needed no credential helper, per (registry,
    repository) as the reference spells them; ``sources`` says where each non-None one came
    from (file and key), for the log. Both are shared with the next view when its check finds
    the same files with the same stamps. The view answers until ``deadline`` (by the
    provider's clock); -inf means "check on the next lookup".
    """

    deadline: float
    stamps: tuple[tuple[Path, _Stamp], ...]
    answers: dict[tuple[str, str], Credentials | None]
    sources: dict[tuple[str, str], tuple[str, str]]


def _stamp(path: Path) -> _Stamp:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return object()  # reading it says why
    return (info.st_mtime_ns, info.st_size, info.st_ino)


class DockerConfigProvider:
    """Credentials as ``docker login`` left them: in ``config.json``, ``auth.json`` or a helper.

    Args:
        config: a path to a ``config.json``/``auth.json`` (or a directory holding a
            ``config.json``), the parsed content of one as a dict, or None to search the usual
            places (see :func:`auth_file_search_path`).
        helper_timeout: how many seconds a credential helper may take before it is killed.
        recheck_interval: how many seconds may pass between two checks of the files (0: check
            on every lookup). This bounds how stale an answer can be: a ``docker login`` made
            meanwhile is seen at most this long after it, or on the first lookup after
            :meth:`invalidate`. Credential helpers are asked on every lookup regardless.
        name: the provider's name in logs and errors.

    It answers only for the registry (or namespace) an entry is for. See the module
    documentation for the order in which files, keys and helpers are tried. It may be shared
    between threads.

    Raises:
        ConfigurationError: ``helper_timeout`` is not positive, ``recheck_interval`` is
            negative or not finite, or the dict is malformed.
    """

    config_options: ClassVar[OptionTypes] = {
        "config": ("string", "table"),
        "helper_timeout": "number",
        "recheck_interval": "number",
        "name": "string",
    }

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        helper_timeout: float = 60.0,
        recheck_interval: float = 1.0,
        name: str = "docker-config",
        _clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._helper_timeout = _check_seconds("helper_timeout", helper_timeout, zero=False)
        self._recheck_interval = _check_seconds("recheck_interval", recheck_interval, zero=True)
        self._clock = _clock
        self._document: _AuthFile | None = None
        self._path: Path | None = None
        if isinstance(config, Mapping):
            self._document = _parse_document(dict(config), source=_DICT_SOURCE, path=None)
        elif config is not None:
            self._path = Path(config).expanduser()
            self._path_text = str(self._path)  # os.stat() takes it without a conversion
            self._in_directory = self._path / "config.json"
        self._document_choices: _Choices = {}
        self._cache: dict[Path, tuple[tuple[int, int, int], _AuthFile, _Choices]] = {}
        self._lock = threading.Lock()
        # Replaced whole, never changed in place (except for its memo dicts): a lookup reads it
        # once and works with that view throughout.
        self._view = _View(deadline=-math.inf, stamps=(), answers={}, sources={})

    @property
    def name(self) -> str:
        """The provider's name: ``docker-config`` unless configured otherwise."""
        return self._name

    @property
    def helper_timeout(self) -> float:
        """How many seconds a credential helper may run."""
        return self._helper_timeout

    @property
    def recheck_interval(self) -> float:
        """How many seconds may pass between two checks of the files (0: every lookup)."""
        return self._recheck_interval

    def files(self) -> tuple[Path, ...]:
        """The files this provider reads, in order (empty when it was given a dict)."""
        if self._document is not None:
            return ()
        if self._path is not None:
            path = self._path
            return (path / "config.json",) if path.is_dir() else (path,)
        return auth_file_search_path()

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """The credentials the docker CLI would use for ``ref``, or None.

        Raises:
            ConfigurationError: a file that had to be read is malformed or unreadable.
            ProviderError: a credential helper failed, hung, is missing, or answered nonsense.
        """
        view = self._view
        if self._clock() >= view.deadline:
            view = self._check(view)
        key = (ref.registry, ref.repository)
        answers = view.answers
        if key not in answers:  # (not a KeyError handler: errors raised must not chain to it)
            return self._walk(view, ref, key)
        if _logger.isEnabledFor(logging.DEBUG):
            self._log_answer(ref, view.sources.get(key))
        return answers[key]  # entries are never removed

    def invalidate(self, ref: ImageReference) -> None:
        """Check the files again on the next lookup: the registry rejected ``ref``'s credentials.

        Perhaps the user has logged in again since the last check. What unchanged files said
        is still remembered; credential helpers are asked anew on every lookup anyway.
        """
        del ref  # the check covers every file, whichever reference it is for
        with self._lock:
            self._view = attrs.evolve(self._view, deadline=-math.inf)

    def _check(self, seen: _View) -> _View:
        """Stamp the files again; a new view, keeping ``seen``'s answers if nothing changed."""
        now = self._clock()
        stamps = self._stamps()
        interval = self._recheck_interval
        if stamps == seen.stamps:
            if interval == 0 and seen.deadline == -math.inf:
                return seen  # nothing changed, and the next lookup checks again anyway
            answers, sources = seen.answers, seen.sources
        else:
            answers, sources = {}, {}
        view = _View(
            deadline=now + interval if interval > 0 else -math.inf,
            stamps=stamps,
            answers=answers,
            sources=sources,
        )
        with self._lock:
            # Another thread may have checked meanwhile, or invalidate() may have been called
            # since this check began: then that view stays (at worst, one more check).
            if self._view is seen:
                self._view = view
        return view

    def _stamps(self) -> tuple[tuple[Path, _Stamp], ...]:
        """The files to read, in order, each with its stamp (None when it does not exist)."""
        if self._document is not None:
            return ()
        if self._path is None:
            return tuple((path, _stamp(path)) for path in auth_file_search_path())
        # One stat() both tells a directory from a file and stamps the file.
        try:
            found = os.stat(self._path_text)
        except (FileNotFoundError, NotADirectoryError):
            return ()
        except OSError:
            return ((self._path, object()),)  # reading it says why
        if stat.S_ISDIR(found.st_mode):
            return ((self._in_directory, _stamp(self._in_directory)),)
        return ((self._path, (found.st_mtime_ns, found.st_size, found.st_ino)),)

    def _walk(self, view: _View, ref: ImageReference, key: tuple[str, str]) -> Credentials | None:
        """Look ``ref`` up file by file, and remember the answer if no helper was involved."""
        registry = _normalize_host(ref.registry)
        final = True  # whether the answer may be remembered
        for document, choices in self._documents(view):
            choice = self._choice(document, choices, ref, registry, key)
            if choice is None:
                continue
            if isinstance(choice, str):
                final = False
                creds = self._ask_helper(choice, document, ref, registry)
                if creds is not None:
                    return creds
                continue
            entry, creds = choice
            source = (document.source, entry.key.text)
            self._log_answer(ref, source)
            if final and len(view.answers) < _CHOICES_LIMIT:
                view.sources[key] = source
                view.answers[key] = creds
            return creds
        self._log_answer(ref, None)
        if final and len(view.answers) < _CHOICES_LIMIT:
            view.answers[key] = None
        return None

    def _documents(self, view: _View) -> Iterator[tuple[_AuthFile, _Choices]]:
        if self._document is not None:
            yield self._document, self._document_choices
            return
        for path, stamp in view.stamps:
            if stamp is not None:
                loaded = self._load(path, stamp)
                if loaded is not None:
                    yield loaded

    def _load(self, path: Path, stamp: _Stamp) -> tuple[_AuthFile, _Choices] | None:
        """The file at ``path``, parsed again only when its stamp changed."""
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        try:
            with path.open("rb") as file:
                info = os.fstat(file.fileno())
                current = (info.st_mtime_ns, info.st_size, info.st_ino)
                if cached is not None and cached[0] == current:
                    return cached[1], cached[2]
                raw = file.read()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ConfigurationError(
                f"{path}: cannot read: {exc.strerror or type(exc).__name__}",
                path=str(path),
                provider=self._name,
            ) from None
        document = _parse_bytes(raw, path=path)
        choices: _Choices = {}
        with self._lock:
            self._cache[path] = (current, document, choices)
        _logger.debug("read %s", path)
        return document, choices

    def _choice(
        self,
        document: _AuthFile,
        choices: _Choices,
        ref: ImageReference,
        registry: str,
        key: tuple[str, str],
    ) -> _Choice:
        if key in choices:
            return choices[key]
        choice = self._choose(document, ref, registry)
        if len(choices) < _CHOICES_LIMIT:
            choices[key] = choice
        return choice

    @staticmethod
    def _log_answer(ref: ImageReference, source: tuple[str, str] | None) -> None:
        if source is None:
            _logger.debug("no Docker credentials for %s", ref.registry)
        else:
            _logger.debug("credentials for %s from %s, key %r", ref.registry, *source)

    def _choose(self, document: _AuthFile, ref: ImageReference, registry: str) -> _Choice:
        """Where ``document`` keeps ``ref``'s credentials: a helper's name, an entry, or None."""
        routes = _registry_level(document.helpers, lambda route: route.key, registry)
        if routes:
            return routes[0].helper
        entry = _namespaced(document.entries, registry, ref.repository)
        if entry is None and document.store is not None:
            return document.store
        if entry is None:
            entries = _registry_level(document.entries, lambda entry: entry.key, registry)
            if not entries:
                return None
            entry = entries[0]
        return entry, self._from_entry(entry, ref)

    def _from_entry(self, entry: _Entry, ref: ImageReference) -> Credentials:
        return Credentials(
            username=entry.username,
            password=entry.password,
            registry=ref.registry,
            identity_token=entry.identity_token,
            provider=self._name,
        )

    def _ask_helper(
        self, helper: str, document: _AuthFile, ref: ImageReference, registry: str
    ) -> Credentials | None:
        program = _HELPER_PREFIX + helper
        server_url = _HUB_SERVER if registry == DOCKER_HUB else ref.registry
        if helper == _OWN_HELPER:
            # registry-auth's own helper answers from these very providers: asking it would
            # run this provider again, without end.
            _logger.debug(
                "not asking %s for %s (named in %s): it is registry-auth itself",
                program,
                server_url,
                document.source,
            )
            return None
        _logger.debug("asking %s for %s (named in %s)", program, server_url, document.source)

        def error(problem: str) -> ProviderError:
            return ProviderError(
                f"credential helper {program} for registry {ref.registry} "
                f"({document.source}): {problem}",
                registry=ref.registry,
                provider=self._name,
                reference=str(ref),
            )

        run = self._call_helper(program, server_url)
        if isinstance(run, str):
            raise error(run)
        answer = _read_answer(run)
        if isinstance(answer, str):
            raise error(answer)
        if answer is None:
            _logger.debug("%s has no credentials for %s", program, server_url)
            return None
        username, secret = answer
        if username == _TOKEN_USERNAME:
            return Credentials(
                username=_TOKEN_USERNAME,
                password="",
                registry=ref.registry,
                identity_token=secret,
                provider=self._name,
            )
        return Credentials(
            username=username, password=secret, registry=ref.registry, provider=self._name
        )

    def _call_helper(self, program: str, server_url: str) -> _HelperRun | str:
        """The helper's run, or why it did not run to the end.

        The reason is returned, not raised, so that no exception holding the helper's partial
        output becomes the context of the error raised for it.
        """
        try:
            return _run_helper(program, "get", server_url.encode(), self._helper_timeout)
        except FileNotFoundError:
            return "not installed (not found on PATH)"
        except subprocess.TimeoutExpired:
            return f"no answer within {self._helper_timeout:g} s; killed"
        except OSError as exc:
            return f"could not be started ({exc.strerror or type(exc).__name__})"

    def __repr__(self) -> str:
        if self._document is not None:
            config = "<dict>"
        elif self._path is not None:
            config = repr(str(self._path))
        else:
            config = "None"
        return (
            f"DockerConfigProvider({config}, helper_timeout={self._helper_timeout:g}, "
            f"recheck_interval={self._recheck_interval:g}, name={self._name!r})"
        )
