"""The secret-leak canary: a pytest plugin that fails the run if a test secret shows up anywhere.

Loaded from ``tests/conftest.py`` (``pytest_plugins``), for unit and end-to-end runs alike. It

1. knows the run's *canaries*: every string literal of the collected test modules that contains
   ``canary`` (and no whitespace), the passwords the local stack starts with, and whatever tests
   register through :func:`register` or the ``canary_secret`` fixture;
2. looks for each canary in every form a secret travels in (:func:`forms_of`): as is,
   JSON-escaped, percent-encoded (``quote`` and ``quote_plus``), and inside any base64 text,
   standard or URL-safe, at each of the three byte alignments. The last covers
   ``base64(user:secret)`` (HTTP Basic, ``auth`` fields) and the base64url JSON of docker-py's
   ``X-Registry-Auth`` header, whatever surrounds the secret;
3. sets the root logger to DEBUG for the whole session and checks every log record, from every
   library, as it is emitted: its formatted message and traceback text;
4. checks what the command line shows: the stdout and stderr of every ``registry-auth`` and
   ``docker-credential-registry-auth`` process a test runs (stdout only where the command is
   not asked for a secret: not with ``--show-secret``, ``kubelet-plugin`` or the helper's
   ``get``), what tests read through ``capsys``/``capfd``, and the output pytest captured;
5. checks tracebacks: every exception a test catches with ``pytest.raises``, with the
   registry-auth errors of its chain of causes and contexts (see :func:`_own_chain`), and every
   failure report;
6. watches, through an audit hook, which files the test code itself writes (fixtures such as a
   ``config.json`` holding a test password are inputs, not leaks), and at the end of the session
   scans every other file under pytest's temporary directory and every file of the repository
   changed during the run. A canary may only sit in the files meant to hold secrets (see
   :data:`SECRET_FILES`), and only if they are private (mode 0600);
7. counts its checks by surface and prints the counts at the end of the session; fails the
   session (exit status 1) and lists each leak, with the canary masked, if it found one.

Exception messages and reprs are also checked by the tests that raise them
(``tests/test_fuzz.py`` and the provider tests), with :func:`leaked_in`.
"""

from __future__ import annotations

import ast
import base64
import collections
import fnmatch
import json
import logging
import os
import re
import secrets
import stat
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

__all__ = [
    "SECRET_FILES",
    "CanaryPlugin",
    "forms_of",
    "install",
    "leaked_in",
    "make",
    "register",
]

PLUGIN_NAME = "registry-auth-canary"
MARK = "canary"
"""Test secrets are recognised by this word."""

SECRET_FILES = (
    "tokens.json",  # the token cache (registry_auth._cache), base64 values, 0600
    "keyring_pass.cfg",  # keyrings.alt's PlaintextKeyring, used as the keyring in tests
    "crypted_pass.cfg",  # keyrings.alt's EncryptedKeyring
    "config.toml",  # the configuration file, as `registry-auth login --insecure-inline` writes it
    "auth.json",  # a login of Podman's tools (`skopeo login`), as tests read it
)
"""Names of the files meant to hold secrets; they must be 0600 to hold one."""

_SECRET_FILE_MODE = 0o600
# botocore logs every AWS answer at DEBUG ("Response body: ..."); EcrProvider masks the ECR
# token in those records, and the canary checks that it does (no logger is kept quiet).
_QUIET_LOGGERS: tuple[str, ...] = ()
_REPOSITORY = Path(__file__).resolve().parents[1]
_TESTS = _REPOSITORY / "tests"
_SOURCE = _REPOSITORY / "src" / "registry_auth"
_TESTING_HELPERS = _SOURCE / "testing"
# Directories of the repository that the run does not write, or that are not the project's.
# Hypothesis keeps the examples of failing tests in .hypothesis; such a test fails on its own.
_SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".venv",
        ".nox",
        ".tools",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        "__pycache__",
        "site",
    }
)
_LITERAL_RE = re.compile(r"\S{8,}")
_MAX_SCANNED_FILE = 8 * 1024 * 1024
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_lock = threading.Lock()
_canaries: set[str] = set()
_made: set[str] = set()  # made at run time: no source file holds them
_pattern: re.Pattern[str] | None = None
_made_pattern: re.Pattern[str] | None = None


def _base64_cores(value: str) -> Iterator[str]:
    """The parts of ``value``'s base64 encodings that do not depend on what surrounds it.

    A base64 stream encodes 3 bytes per 4 characters, so ``value`` can sit at one of three
    offsets; for each, the characters of the groups made of ``value``'s bytes alone are fixed.
    Both alphabets are covered: standard (``+/``) and URL-safe (``-_``, as docker-py's
    ``X-Registry-Auth`` header uses).
    """
    raw = value.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for offset in range(3):
            encoded = encode(b"\0" * offset + raw).decode("ascii")
            first = 1 if offset else 0
            last = (offset + len(raw)) // 3
            core = encoded[4 * first : 4 * last]
            if len(core) >= 8:  # shorter cores match too much by chance
                yield core


def _text_forms(value: str) -> set[str]:
    """``value`` as is, JSON-escaped and percent-encoded (as a URL or a form would carry it)."""
    return {
        value,
        json.dumps(value)[1:-1],
        urllib.parse.quote(value),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
    }


def forms_of(value: str) -> frozenset[str]:
    """Every form in which ``value`` is looked for: the text forms and the base64 cores of each."""
    forms = set()
    for text in _text_forms(value):
        forms.add(text)
        forms.update(_base64_cores(text))
    return frozenset(forms)


def _forms(value: str) -> Iterator[str]:
    yield from forms_of(value)


def _compile(values: Iterable[str]) -> re.Pattern[str] | None:
    forms = sorted({form for value in values for form in _forms(value)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, forms))) if forms else None


def register(*values: str) -> None:
    """Declare ``values`` secrets of this run: they must appear in no log line and no file."""
    global _pattern  # noqa: PLW0603 - one registry per process, as the run is one
    fresh = [value for value in values if value and value not in _canaries]
    if not fresh:
        return
    with _lock:
        _canaries.update(fresh)
        _pattern = _compile(_canaries)


def make(label: str) -> str:
    """A new secret for this run, registered as a canary, that no source file holds.

    Hypothesis feeds the string literals of local modules to its strategies, so a literal
    canary may turn up as a registry name or an image in any property test, where showing it
    is no leak. Secrets made here cannot: while a hypothesis test runs, only these are looked
    for in log records.
    """
    global _made_pattern  # noqa: PLW0603 - see register()
    value = f"{MARK}-{label}-{secrets.token_hex(6)}"
    register(value)
    with _lock:
        _made.add(value)
        _made_pattern = _compile(_made)
    return value


def canaries() -> frozenset[str]:
    """The secrets registered so far."""
    with _lock:
        return frozenset(_canaries)


def leaked_in(
    text: str, *, among: Iterable[str] | None = None, made_only: bool = False
) -> str | None:
    """The first secret (or its base64 form) found in ``text``, or None.

    The secrets looked for are ``among`` if given, else those made by :func:`make` if
    ``made_only``, else every registered one.
    """
    pattern = _compile(among) if among is not None else _made_pattern if made_only else _pattern
    if pattern is None:
        return None
    match = pattern.search(text)
    return None if match is None else match.group(0)


def _mask(found: str) -> str:
    return f"{found[:4]}...({len(found)} chars)"


def literals_in(path: Path) -> set[str]:
    """The string literals of a Python file that contain :data:`MARK` and no whitespace."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and MARK in node.value.lower()
        and _LITERAL_RE.fullmatch(node.value)
    }


# -- the plugin -------------------------------------------------------------------------------


@attrs.frozen
class Leak:
    """A place where a canary was found."""

    where: str
    found: str

    def describe(self) -> str:
        return f"{self.where}: holds {_mask(self.found)}"


class _LeakHandler(logging.Handler):
    """Checks every log record for canaries as it is emitted; keeps only the leaks."""

    def __init__(self, plugin: CanaryPlugin) -> None:
        super().__init__(level=logging.DEBUG)
        self._plugin = plugin
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a record that cannot be formatted shows nothing
            return
        self._plugin.check(f"log record of {record.name!r} ({record.levelname})", text, "logs")


_OUR_PROGRAMS = frozenset({"registry-auth", "docker-credential-registry-auth"})


def _our_command(args: object) -> tuple[str, list[str]] | None:
    """The program of ours that ``args`` runs (directly or through a shell), and its arguments."""
    if isinstance(args, (str, bytes, os.PathLike)):
        words = [os.fsdecode(args)]
    elif isinstance(args, Sequence):
        words = [os.fsdecode(arg) for arg in args if isinstance(arg, (str, bytes, os.PathLike))]
    else:
        return None
    tokens = [token for word in words for token in word.split()]
    for index, token in enumerate(tokens):
        name = os.path.basename(token.strip("'\""))
        if name in _OUR_PROGRAMS:
            return name, tokens[index + 1 :]
    return None


def _asks_for_a_secret(program: str, arguments: list[str]) -> bool:
    """Whether the command's stdout carries a secret by design (the user or protocol asks)."""
    if program == "docker-credential-registry-auth":
        return "get" in arguments
    return "--show-secret" in arguments or "kubelet-plugin" in arguments


def _text(data: object) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data if isinstance(data, str) else ""


def format_exception(error: BaseException) -> str:
    """``error``'s traceback as Python prints it: every frame, every chained cause and context."""
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def _own_chain(error: BaseException) -> str:
    """``error``'s traceback and those of the registry-auth errors chained to it.

    A third-party exception chained under one of ours (``raise ... from``) keeps its own text,
    which a test may fill with a secret on purpose (a keyring backend failing with one): that
    is a documented limitation, not what registry-auth shows. The CLI's tracebacks, chains
    included, are checked whole through its output.
    """
    parts = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current is error or type(current).__module__.startswith("registry_auth"):
            parts.extend(
                traceback.format_exception(
                    type(current), current, current.__traceback__, chain=False
                )
            )
        current = current.__cause__ or current.__context__
    return "".join(parts)


def _is_write(mode: object, flags: object) -> bool:
    if isinstance(mode, str) and mode:
        return any(ch in mode for ch in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


def _writer_is_test_code(test_roots: tuple[str, ...]) -> bool:
    """Whether the innermost project frame of the current stack is test code (or its helpers).

    Test code is what lives under the run's root directory (or a test root), outside installed
    packages and outside registry-auth's own source, except its testing helpers.
    """
    frame: Any = sys._getframe(2)  # the audit hook and this function sit above
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(_TESTING_HELPERS)):
            return True
        if filename.startswith(str(_SOURCE)):
            return False
        if (
            filename.startswith(test_roots)
            and "site-packages" not in filename
            and filename != __file__
        ):
            return True
        frame = frame.f_back
    return False


class CanaryPlugin:
    """The plugin object: holds the leaks found and the files test code wrote."""

    def __init__(self) -> None:
        self.leaks: list[Leak] = []
        self.inputs: set[str] = set()
        # Written while a hypothesis test ran: only secrets made at run time count there.
        self.property_outputs: set[str] = set()
        self.started = time.time()
        self.handler = _LeakHandler(self)
        self._previous_level = logging.WARNING
        self._current = "(no test)"
        self.in_property_test = False
        self.test_roots: tuple[str, ...] = (str(_TESTS),)
        self._auditing = threading.local()
        self.checks: collections.Counter[str] = collections.Counter()
        self._restore: list[Callable[[], None]] = []

    @pytest.fixture
    def canary_secret(self) -> str:
        """A fresh secret, registered as a canary: use it as a password or a token."""
        return make("secret")

    def leak(self, where: str, found: str) -> None:
        with _lock:
            self.leaks.append(Leak(where=f"{where} during {self._current}", found=found))

    def check(self, where: str, text: str, surface: str) -> None:
        """Look for every canary, in every form, in ``text``; record a leak if one is there."""
        with _lock:
            self.checks[surface] += 1
        found = leaked_in(text, made_only=self.in_property_test)
        if found is not None:
            self.leak(where, found)

    def check_exception(self, error: BaseException, where: str) -> None:
        self.check(f"{where}: {type(error).__name__}", _own_chain(error), "tracebacks")

    def check_process(self, args: object, stdout: object, stderr: object) -> None:
        command = _our_command(args)
        if command is None:
            return
        program, arguments = command
        self.check(f"stderr of {program}", _text(stderr), "CLI and helper output")
        if not _asks_for_a_secret(program, arguments):
            self.check(f"stdout of {program}", _text(stdout), "CLI and helper output")

    # -- hooks into what tests see ---------------------------------------------------------

    def _wrap(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name, None)
        if original is None:  # pragma: no cover - a pytest without it: the test_canary fails
            return
        setattr(owner, name, make(original))
        self._restore.append(lambda: setattr(owner, name, original))

    def _install_watchers(self) -> None:
        from _pytest._code.code import ExceptionInfo  # pytest.raises fills its result here
        from _pytest.capture import CaptureFixture

        plugin = self

        def communicate(original: Any) -> Any:
            def wrapper(process: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> Any:
                stdout, stderr = original(process, *args, **kwargs)
                plugin.check_process(process.args, stdout, stderr)
                return stdout, stderr

            return wrapper

        def fill_unfilled(original: Any) -> Any:
            def wrapper(info: Any, exc_info: Any) -> None:
                original(info, exc_info)
                plugin.check_exception(exc_info[1], "exception caught by pytest.raises")

            return wrapper

        def readouterr(original: Any) -> Any:
            def wrapper(fixture: Any) -> Any:
                result = original(fixture)
                for name, data in (("stdout", result.out), ("stderr", result.err)):
                    plugin.check(f"{name} read by capsys/capfd", _text(data), "captured output")
                return result

            return wrapper

        self._wrap(subprocess.Popen, "communicate", communicate)
        self._wrap(ExceptionInfo, "fill_unfilled", fill_unfilled)
        self._wrap(CaptureFixture, "readouterr", readouterr)

    # The audit hook stays for the life of the process (hooks cannot be removed): it only
    # records paths, and does nothing once the plugin is unconfigured.
    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or getattr(self._auditing, "busy", False):
            return
        self._auditing.busy = True
        try:
            path, mode, flags = (*args, None, None, None)[:3]
            if isinstance(path, (str, bytes, os.PathLike)) and _is_write(mode, flags):
                written = os.path.realpath(os.fsdecode(path))
                if _writer_is_test_code(self.test_roots):
                    self.inputs.add(written)
                elif self.in_property_test:
                    self.property_outputs.add(written)
        finally:
            self._auditing.busy = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        from tests.lab.stack import DEFAULT_USERS

        register(*(password for users in DEFAULT_USERS.values() for password in users.values()))
        self.test_roots = (str(_TESTS), str(config.rootpath) + os.sep)
        root = logging.getLogger()
        self._previous_level = root.level
        root.setLevel(logging.DEBUG)
        root.addHandler(self.handler)
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)
        sys.addaudithook(self.audit)
        self._install_watchers()

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        files = {Path(str(item.fspath)) for item in items}
        for path in sorted(files):
            register(*literals_in(path))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self._current = item.nodeid
        function = getattr(item, "obj", None)
        self.in_property_test = bool(getattr(function, "is_hypothesis_test", False))
        try:
            return (yield)
        finally:
            self._current = "(between tests)"
            self.in_property_test = False

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        for name, content in report.sections:
            if not name.startswith("Captured log"):  # log records are checked as emitted
                self.check(f"{name} of {item.nodeid}", content, "captured output")
        if report.failed:
            self.check(f"failure report of {item.nodeid}", report.longreprtext, "tracebacks")
        return report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        known = canaries()
        sizes = sorted(len(forms_of(value)) for value in known) or [0]
        counts = ", ".join(f"{surface} {n}" for surface, n in sorted(self.checks.items()))
        terminalreporter.write_line(
            f"canary: {sum(self.checks.values())} checks ({counts}); "
            f"{len(known)} secrets, each in {sizes[0]} to {sizes[-1]} forms"
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]  # pytest's own temporary root
        self._current = "(end of session)"
        self.scan_tree(Path(basetemp), only_changed=False)
        self.scan_tree(_REPOSITORY, only_changed=True, skip=_written_by_people())
        if self.leaks:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            lines = [leak.describe() for leak in self.leaks]
            if reporter is not None:
                reporter.write_sep("=", "secret-leak canary", red=True, bold=True)
                for line in lines[:50]:
                    reporter.write_line(line)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self) -> None:
        for restore in reversed(self._restore):
            restore()
        self._restore.clear()
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self._previous_level)
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)

    # -- files ---------------------------------------------------------------------------

    def scan_tree(
        self, top: Path, *, only_changed: bool, skip: frozenset[Path] = frozenset()
    ) -> None:
        for path in _walk(top):
            if path in skip or (skip and path.suffix in _PROSE_AND_SOURCE):
                continue
            try:
                info = path.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_SCANNED_FILE:
                continue
            if only_changed and info.st_mtime < self.started:
                continue
            real = os.path.realpath(path)
            if real in self.inputs:
                continue
            try:
                text = path.read_bytes().decode("utf-8", errors="replace")
            except OSError:
                continue
            with _lock:
                self.checks["files"] += 1
            found = leaked_in(text, made_only=real in self.property_outputs)
            if found is None:
                continue
            if _meant_for_secrets(path) and stat.S_IMODE(info.st_mode) == _SECRET_FILE_MODE:
                continue
            self.leak(f"file {path} (mode {stat.S_IMODE(info.st_mode):04o})", found)


_PROSE_AND_SOURCE = frozenset({".py", ".md"})


def _written_by_people() -> frozenset[Path]:
    """The files git tracks: what people write (and may edit while the tests run).

    Together with every ``.py`` and ``.md`` file, these are left out of the repository scan,
    which looks for what the run itself left behind.
    """
    try:
        listed = subprocess.run(
            ["git", "-C", str(_REPOSITORY), "ls-files", "-z"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset({_REPOSITORY / "pyproject.toml"})
    return frozenset(_REPOSITORY / os.fsdecode(name) for name in listed.split(b"\0") if name)


def _meant_for_secrets(path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in SECRET_FILES)


def _walk(top: Path) -> Iterable[Path]:
    for directory, subdirectories, files in os.walk(top):
        subdirectories[:] = [name for name in subdirectories if name not in _SKIPPED_DIRECTORIES]
        yield from (Path(directory) / name for name in files)


def install(config: pytest.Config) -> None:
    """Register the plugin (once per run); ``tests/conftest.py`` calls this from its configure."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(CanaryPlugin(), PLUGIN_NAME)
