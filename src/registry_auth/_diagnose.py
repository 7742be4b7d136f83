"""``registry-auth diagnose``: what the command-line tools would use, and what is wrong with it.

:func:`diagnose` looks at the configuration files in the search order, the installed providers,
the resolver's routes, the keyring backend, boto3 and where AWS credentials would come from, the
container engine, and the token cache directory. It reports facts and findings; it never shows
a secret (AWS credentials are reported as present or not, never by value), and it changes
nothing on disk.

A finding is ``ok``, ``info``, ``warning`` or ``error``; errors are what make a pull fail, and
decide the exit code (see :attr:`Report.exit_code`).
"""

from __future__ import annotations

import enum
import importlib.util
import logging
import os
import platform
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from registry_auth._config import (
    UnavailableEntry,
    config_search_path,
    default_cache_dir,
    default_entries,
    docker_logins_found,
    key_problems,
    load_resolver,
)
from registry_auth._discovery import available_providers
from registry_auth._errors import RegistryAuthError
from registry_auth._locations import docker_auth_files
from registry_auth._resolver import Route
from registry_auth._version import version

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from registry_auth._resolver import CredentialResolver

__all__ = ["Finding", "Level", "Report", "diagnose"]

EXIT_CONFIG: Final = 3
EXIT_ENGINE: Final = 6
DEFAULT_DOCKER_HOST: Final = "unix:///var/run/docker.sock"
_AWS_ENV_SOURCES: Final = (
    ("environment variables", ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")),
    ("web identity token", ("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")),
    ("container credentials (relative URI)", ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",)),
    ("container credentials (full URI)", ("AWS_CONTAINER_CREDENTIALS_FULL_URI",)),
)
_FAIL_KEYRING: Final = "keyring.backends.fail.Keyring"


class Level(str, enum.Enum):
    """How much a finding matters."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@attrs.frozen(kw_only=True)
class Finding:
    """One line of the report: a section, a level and a message without secrets."""

    section: str
    level: Level
    message: str

    def as_json(self) -> dict[str, str]:
        """The finding as a JSON object."""
        return {"section": self.section, "level": self.level.value, "message": self.message}


@attrs.frozen(kw_only=True)
class Report:
    """What :func:`diagnose` found.

    Attributes:
        sections: facts per section (``config``, ``providers``, ``routes``, ``keyring``,
            ``aws``, ``engine``, ``cache``), as JSON-ready data.
        findings: what is fine and what is wrong, in section order.
    """

    sections: Mapping[str, Any]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing needed is broken (warnings allowed)."""
        return not any(f.level is Level.ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 if ok; 3 for a configuration or provider problem; 6 if the engine is unreachable."""
        errors = {f.section for f in self.findings if f.level is Level.ERROR}
        if errors - {"engine"}:
            return EXIT_CONFIG
        if errors:
            return EXIT_ENGINE
        return 0

    def as_json(self) -> dict[str, Any]:
        """The report as a JSON object."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            **self.sections,
            "findings": [finding.as_json() for finding in self.findings],
        }


class _Collector:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, section: str, level: Level, message: str) -> None:
        self.findings.append(Finding(section=section, level=level, message=message))


class _CapturedWarnings(logging.Handler):
    """Collects registry-auth's warnings while diagnosing, to report them as findings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "registry_auth_key_problem", False):
            return  # listed under "routes", beside the entry it is about
        self.messages.append(record.getMessage())


def _mode_text(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def _file_facts(path: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {"path": str(path), "exists": False}
    try:
        info = path.stat()
    except FileNotFoundError:
        return facts
    except OSError as exc:
        facts["error"] = exc.strerror or type(exc).__name__
        return facts
    facts.update(
        exists=True,
        is_file=stat.S_ISREG(info.st_mode),
        mode=_mode_text(info.st_mode),
        owner_uid=info.st_uid,
    )
    return facts


def _permission_problems(path: Path) -> list[str]:
    """Why others could change what this file says, if they could."""
    try:
        info = path.stat()
    except OSError:
        return []
    problems = []
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problems.append(
            f"{path} is writable by other users (mode {_mode_text(info.st_mode)}): they can "
            "change which credentials are sent where; chmod 600 it"
        )
    if info.st_uid not in {os.geteuid(), 0}:
        problems.append(f"{path} belongs to another user (uid {info.st_uid})")
    return problems


def _config_section(
    config_path: str | None, environ: Mapping[str, str], out: _Collector
) -> tuple[dict[str, Any], CredentialResolver | None]:
    explicit = config_path is not None
    paths = (
        [Path(config_path).expanduser()]
        if config_path is not None
        else list(config_search_path(environ))
    )
    files = [_file_facts(path) for path in paths]
    used = next((facts for facts in files if facts["exists"]), None)
    if explicit:
        used = files[0]
    for facts in files:
        facts["used"] = facts is used
    data: dict[str, Any] = {
        "explicit": explicit,
        "files": files,
        "used": used["path"] if used is not None else None,
        "error": None,
        "defaults": None,  # with no file: the default providers' order and login files
    }
    if explicit:
        out.add("config", Level.INFO, f"--config given: {paths[0]} (the search order is skipped)")
    for facts in files:
        if facts["exists"]:
            where = "used" if facts["used"] else "found, not used: an earlier file wins"
            out.add("config", Level.OK, f"{facts['path']}: {where}, mode {facts['mode']}")
        elif not explicit:
            out.add("config", Level.INFO, f"{facts['path']}: not found")
    if used is not None and used["exists"]:
        for problem in _permission_problems(Path(used["path"])):
            out.add("config", Level.WARNING, problem)
    if used is None:
        data["defaults"] = _defaults(environ, out)
    resolver = None
    try:
        resolver = load_resolver(config_path)
    except RegistryAuthError as exc:
        data["error"] = exc.message
        out.add("config", Level.ERROR, exc.message)
    return data, resolver


def _defaults(environ: Mapping[str, str], out: _Collector) -> dict[str, Any]:
    """The default providers, in the order they are asked, and the login files they read."""
    names = [entry.provider for entry in default_entries(environ=environ)]
    shown = ", then ".join(names) or "none"
    out.add(
        "config", Level.INFO, f"no configuration file: the default providers are asked: {shown}"
    )
    found = set(docker_logins_found(environ))
    files = [
        {"path": str(path), "exists": path in found}
        for path in map(Path, docker_auth_files(environ))
    ]
    for facts in files:
        state = "found" if facts["exists"] else "not found"
        out.add("config", Level.INFO, f"docker and podman logins: {facts['path']}: {state}")
    if not found:
        out.add(
            "config",
            Level.INFO,
            "docker-config is left out of the defaults: none of these files exists",
        )
    return {"order": names, "docker_files": files}


def _providers_section(out: _Collector) -> list[dict[str, Any]]:
    active = {info.name for info in available_providers()}
    rows = []
    for info in available_providers(include_blocked=True):
        blocked = info.name not in active
        rows.append(
            {
                "name": info.name,
                "value": info.value,
                "distribution": info.distribution,
                "version": info.version,
                "builtin": info.builtin,
                "blocked": blocked,
                "error": info.error,
            }
        )
        origin = f"{info.distribution or '?'} {info.version or ''}".rstrip()
        if info.error is not None:
            out.add(
                "providers", Level.WARNING, f"{info.name} ({origin}) failed to load: {info.error}"
            )
        elif blocked:
            out.add("providers", Level.INFO, f"{info.name} ({origin}) is blocked")
        else:
            out.add("providers", Level.OK, f"{info.name} ({origin})")
    return rows


def _routes_section(resolver: CredentialResolver | None, out: _Collector) -> list[dict[str, Any]]:
    if resolver is None:
        out.add("routes", Level.ERROR, "no resolver: the configuration did not load")
        return []
    routes: list[dict[str, Any]] = []
    for entry in resolver.entries:
        pattern, provider = (
            (entry.pattern.text, entry.provider) if isinstance(entry, Route) else (None, entry)
        )
        line = f"{pattern or '(any registry)'} -> {provider.name}"
        if isinstance(provider, UnavailableEntry):
            # The other entries work; the lookups routed to this one fail with its error.
            error = provider.error.message
            routes.append({"pattern": pattern, "provider": provider.name, "error": error})
            out.add("routes", Level.ERROR, f"{line}: unusable: {error}")
            continue
        routes.append({"pattern": pattern, "provider": provider.name})
        problems = key_problems(entry) if isinstance(entry, Route) else []
        if not problems:
            out.add("routes", Level.OK, line)
        for problem in problems:
            level = Level.ERROR if problem.impossible else Level.WARNING
            out.add("routes", level, f"{problem.message} (provider {provider.name})")
    if not routes:
        out.add(
            "routes", Level.WARNING, "no providers: pulls are anonymous unless given a password"
        )
    return routes


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415 - diagnose only
    from importlib.metadata import version as distribution_version  # noqa: PLC0415

    try:
        return distribution_version(name)
    except PackageNotFoundError:
        return None


def _keyring_section(
    environ: Mapping[str, str], routes: list[dict[str, Any]], out: _Collector
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "installed": _has_module("keyring"),
        "version": _distribution_version("keyring"),
        "backend": None,
        "priority": None,
        "PYTHON_KEYRING_BACKEND": environ.get("PYTHON_KEYRING_BACKEND"),
        "error": None,
    }
    uses_keyring = any(route["provider"] == "keyring" for route in routes)
    if not data["installed"]:
        level = Level.WARNING if uses_keyring else Level.INFO
        out.add(
            "keyring",
            level,
            "the keyring package is not installed: pip install 'registry-auth[keyring]'",
        )
        return data
    try:
        import keyring  # noqa: PLC0415 - optional dependency, loaded only here

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any backend failure is a finding, not a crash
        data["error"] = type(exc).__name__
        out.add(
            "keyring", Level.WARNING, f"the keyring backend failed to load ({type(exc).__name__})"
        )
        return data
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    data["backend"] = name
    priority = getattr(backend, "priority", None)
    data["priority"] = priority if isinstance(priority, (int, float)) else None
    if name == _FAIL_KEYRING:
        level = Level.WARNING if uses_keyring else Level.INFO
        out.add(
            "keyring",
            level,
            "no usable keyring backend (install keyrings.alt, or run a Secret Service)",
        )
    else:
        out.add("keyring", Level.OK, f"backend {name}")
    return data


def _aws_section(
    environ: Mapping[str, str], routes: list[dict[str, Any]], out: _Collector
) -> dict[str, Any]:
    home = Path(environ.get("HOME", "~")).expanduser()
    credentials_file = Path(
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"
    ).expanduser()
    config_file = Path(environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config").expanduser()
    sources = [
        label for label, names in _AWS_ENV_SOURCES if all(environ.get(name) for name in names)
    ]
    if credentials_file.is_file():
        sources.append(f"shared credentials file {credentials_file}")
    if config_file.is_file():
        sources.append(f"config file {config_file}")
    data: dict[str, Any] = {
        "boto3": _has_module("boto3"),
        "boto3_version": _distribution_version("boto3"),
        "profile": environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE"),
        "region": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        "session_token": bool(environ.get("AWS_SESSION_TOKEN")),
        "credential_sources": sources,
    }
    uses_ecr = any(route["provider"] == "ecr" for route in routes)
    if data["boto3"]:
        out.add("aws", Level.OK, f"boto3 {data['boto3_version'] or ''}".rstrip())
    else:
        level = Level.ERROR if uses_ecr else Level.INFO
        out.add("aws", level, "boto3 is not installed: pip install 'registry-auth[ecr]'")
    if data["profile"]:
        out.add("aws", Level.INFO, f"AWS profile {data['profile']}")
    if sources:
        out.add("aws", Level.OK, "AWS credentials may come from: " + "; ".join(sources))
    else:
        level = Level.WARNING if uses_ecr else Level.INFO
        out.add(
            "aws",
            level,
            "no AWS credentials in the environment or the shared files (an instance or task "
            "role is not probed)",
        )
    return data


def _show_host(value: str) -> str:
    """DOCKER_HOST without any password a URL might carry."""
    scheme, sep, rest = value.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return value
    userinfo, _, host = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in userinfo else ''}@{host}"


def _probe_engine(timeout: float) -> dict[str, Any]:
    """Ping the engine from the environment (DOCKER_HOST and friends); its version."""
    import docker  # noqa: PLC0415 - loaded only when the engine is checked

    client = docker.from_env(timeout=max(1, round(timeout)))
    try:
        client.ping()
        info = client.version()
    finally:
        client.close()
    return {
        "version": info.get("Version"),
        "api_version": info.get("ApiVersion"),
        "os": info.get("Os"),
        "arch": info.get("Arch"),
    }


def _engine_section(
    environ: Mapping[str, str],
    out: _Collector,
    *,
    check: bool,
    timeout: float,
    probe: Callable[[float], dict[str, Any]],
) -> dict[str, Any]:
    host = environ.get("DOCKER_HOST")
    data: dict[str, Any] = {
        "docker_host": _show_host(host) if host else None,
        "checked": check,
        "reachable": None,
        "error": None,
    }
    where = data["docker_host"] or f"{DEFAULT_DOCKER_HOST} (DOCKER_HOST is not set)"
    if not check:
        out.add("engine", Level.INFO, f"not checked (--no-engine); DOCKER_HOST: {where}")
        return data
    try:
        facts = probe(timeout)
    except Exception as exc:  # noqa: BLE001 - an unreachable engine is a finding, not a crash
        detail = " ".join(str(exc).split())[:300]
        data.update(reachable=False, error=f"{type(exc).__name__}: {detail}")
        out.add("engine", Level.ERROR, f"no engine answered at {where}: {data['error']}")
        return data
    data.update(reachable=True, **facts)
    out.add(
        "engine",
        Level.OK,
        f"engine {facts.get('version')} (API {facts.get('api_version')}) answered at {where}",
    )
    return data


def _cache_section(environ: Mapping[str, str], out: _Collector) -> dict[str, Any]:
    path = default_cache_dir(environ)
    data = _file_facts(path)
    if not data["exists"]:
        out.add("cache", Level.INFO, f"{path}: not created yet (made with mode 0700 when needed)")
        return data
    info = path.stat()
    problems = []
    if not stat.S_ISDIR(info.st_mode):
        problems.append("it is not a directory")
    if info.st_uid != os.geteuid():
        problems.append(f"it belongs to another user (uid {info.st_uid})")
    if stat.S_IMODE(info.st_mode) & 0o077:
        problems.append(f"its mode is {_mode_text(info.st_mode)}, not 0700")
    if problems:
        out.add(
            "cache",
            Level.WARNING,
            f"{path}: " + "; ".join(problems) + ": tokens are kept in memory only",
        )
    else:
        out.add("cache", Level.OK, f"{path}: mode {data['mode']}")
    return data


def diagnose(
    config_path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    check_engine: bool = True,
    engine_timeout: float = 3.0,
    probe_engine: Callable[[float], dict[str, Any]] = _probe_engine,
) -> Report:
    """Look at everything the command-line tools depend on; see the module documentation.

    Args:
        config_path: the ``--config`` path, if given.
        environ: the environment to read (default ``os.environ``).
        check_engine: whether to contact the container engine.
        engine_timeout: seconds the engine may take to answer.
        probe_engine: contacts the engine and returns its facts (for tests).
    """
    env = os.environ if environ is None else environ
    out = _Collector()
    handler = _CapturedWarnings()
    package_logger = logging.getLogger("registry_auth")
    propagate = package_logger.propagate
    package_logger.addHandler(handler)
    package_logger.propagate = False
    try:
        config, resolver = _config_section(config_path, env, out)
        providers = _providers_section(out)
        routes = _routes_section(resolver, out)
        keyring_data = _keyring_section(env, routes, out)
        aws = _aws_section(env, routes, out)
        engine = _engine_section(
            env, out, check=check_engine, timeout=engine_timeout, probe=probe_engine
        )
        cache = _cache_section(env, out)
    finally:
        package_logger.removeHandler(handler)
        package_logger.propagate = propagate
    for message in handler.messages:
        out.add("warnings", Level.WARNING, message)
    sections = {
        "registry_auth": version(),
        "python": f"{platform.python_version()} ({sys.executable})",
        "config": config,
        "providers": providers,
        "routes": routes,
        "keyring": keyring_data,
        "aws": aws,
        "engine": engine,
        "cache": cache,
    }
    return Report(sections=sections, findings=tuple(out.findings))
