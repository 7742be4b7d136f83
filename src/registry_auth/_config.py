"""The configuration file: which provider answers for which registry.

The file is TOML. It is looked for, first found wins, at:

1. the path given in code (``CredentialResolver.from_config(path)``) or on the command line
   (``registry-auth --config PATH``);
2. ``$REGISTRY_AUTH_CONFIG``;
3. ``$XDG_CONFIG_HOME/registry-auth/config.toml`` (``~/.config/registry-auth/config.toml``);
4. ``/etc/registry-auth/config.toml``.

Example::

    [registries."docker.io"]
    provider = "dockerhub"
    username = "hubuser"
    password = { env = "DOCKERHUB_TOKEN" }

    [registries."123456789012.dkr.ecr.*.amazonaws.com"]
    provider = "ecr"
    profile = "prod"

    [registries."registry.example.com:5000/team"]
    provider = "static"
    username = "alice"
    password = { keyring = "registry.example.com:5000" }

    [[providers]]            # asked for every reference, after the routes above
    provider = "ecr"

A secret is best given as a reference: ``{ env = "NAME" }``, ``{ file = "/run/secrets/x" }`` or
``{ keyring = "service", username = "user" }`` (the username defaults to the entry's
``username``). An inline secret works, but a file holding one that other users can read draws a
warning. A secret file must be a regular file of at most 64 KiB.

An entry whose secret cannot be had (an unset variable, a missing or unreadable file, no keyring
entry) does not stop the others: the lookups routed to it fail with that error, and
``registry-auth diagnose`` lists it. A file that is not valid (TOML syntax, unknown keys, an
option of the wrong type) fails as a whole.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs

from registry_auth._compat import tomllib
from registry_auth._credentials import Secret
from registry_auth._discovery import _BUILTIN_PROVIDERS, load_provider
from registry_auth._errors import ConfigurationError, ProviderLoadError
from registry_auth._files import MAX_SECRET_FILE_BYTES, UnreadableFileError, read_small_regular_file
from registry_auth._locations import cache_dir, config_candidates, docker_auth_files
from registry_auth._options import option_type_problem
from registry_auth._provider import provider_serves
from registry_auth._resolver import CredentialResolver, Route
from registry_auth.matching import RegistryPattern

if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from registry_auth._options import OptionTypes

__all__ = [
    "DEFAULT_ORDER",
    "Config",
    "KeyProblem",
    "UnavailableEntry",
    "default_cache_dir",
    "default_entries",
    "default_resolver",
    "docker_logins_found",
    "find_config_file",
    "forget_cached_tokens",
    "key_problems",
    "load_config",
    "load_resolver",
    "load_tool_config",
]

_SECRET_KEY_RE: Final = re.compile(r"password|secret|token", re.IGNORECASE)
_REFERENCE_KINDS: Final = ("env", "file", "keyring")


def _logger() -> logging.Logger:
    import logging  # noqa: PLC0415 - only for a warning: the helpers' get never imports it

    return logging.getLogger("registry_auth.config")


def config_search_path(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The places the configuration file is looked for, in order (after an explicit path)."""
    return tuple(
        Path(path) for path in config_candidates(os.environ if environ is None else environ)
    )


def find_config_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The first configuration file that exists in the search order, or None."""
    for path in config_search_path(environ):
        if path.is_file():
            return path
    return None


@attrs.frozen(kw_only=True)
class ProviderEntry:
    """One provider in the file: its name, its options (secrets resolved), and its pattern.

    ``error`` says why the entry cannot be used (a secret it names cannot be read); its
    options then lack that secret, and the lookups routed to it fail with the error.
    """

    provider: str
    options: Mapping[str, Any] = attrs.field(repr=lambda opts: repr(sorted(opts)))
    pattern: RegistryPattern | None = None
    error: ConfigurationError | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class UnavailableEntry:
    """Stands for a configuration entry that cannot be used: every lookup routed to it fails.

    Attributes:
        name: the name of the entry's provider.
        error: why the entry cannot be used (it names the file and the entry, never a secret).
    """

    name: str
    error: ConfigurationError = attrs.field(eq=False)

    def get_credentials(self, ref: object) -> None:
        """Raise the entry's error: the lookup was meant for it, and it cannot answer.

        Raises:
            ConfigurationError: always.
        """
        error = self.error
        raise ConfigurationError(
            error.message, path=error.path, registry=error.registry, provider=error.provider
        )


@attrs.frozen(kw_only=True)
class Config:
    """A parsed configuration file."""

    path: Path | None
    entries: tuple[ProviderEntry, ...] = ()

    def resolver(self) -> CredentialResolver:
        """Build the providers and a resolver over them.

        Raises:
            ConfigurationError: a provider is unknown or rejects its options.
        """
        items: list[Route | Any] = []
        for entry in self.entries:
            where = f"registries.{entry.pattern.text!r}" if entry.pattern else "providers"
            if entry.error is not None:
                unusable = UnavailableEntry(name=entry.provider, error=entry.error)
                items.append(
                    Route(pattern=entry.pattern, provider=unusable) if entry.pattern else unusable
                )
                continue
            try:
                provider = load_provider(entry.provider, **entry.options)
            except (ProviderLoadError, ConfigurationError) as exc:
                if isinstance(exc, ConfigurationError) and exc.path is not None:
                    raise  # it already names its file
                # A provider refusing an option's value says which option; say where it is.
                raise ConfigurationError(
                    f"{self.path or 'configuration'}: {where}: {exc.message}",
                    path=str(self.path) if self.path else None,
                    provider=entry.provider,
                    registry=entry.pattern.text if entry.pattern else None,
                ) from exc
            if entry.pattern is not None:
                route = Route(pattern=entry.pattern, provider=provider)
                for problem in key_problems(route):
                    _logger().warning(
                        "%s: %s",
                        self.path or "configuration",
                        problem.message,
                        extra={"registry_auth_key_problem": True},
                    )
                items.append(route)
            else:
                items.append(provider)
        return CredentialResolver(items)


@attrs.frozen(kw_only=True)
class KeyProblem:
    """A ``[registries]`` key that can never give credentials, or hardly ever.

    Attributes:
        key: the key as written.
        provider: the name of the entry's provider.
        message: what is wrong and how to fix it, starting with the entry's place.
        impossible: whether the entry can never match (``registry-auth diagnose`` reports it
            as an error); otherwise it matches almost nothing (a warning).
    """

    key: str
    provider: str
    message: str
    impossible: bool


# What the built-in providers serve, for the message when a key is outside it.
_SERVED_HOSTS: Final = {
    "ecr": (
        "it answers for ECR hosts (<account>.dkr.ecr.<region>.amazonaws.com and the other "
        "partitions' names) and public.ecr.aws; for a registry reached under another name, "
        "give registry_id and region in this entry"
    ),
    "dockerhub": "it answers for docker.io only; use the static provider for other registries",
}


def key_problems(route: Route) -> tuple[KeyProblem, ...]:
    """What makes a route's key match no registry its provider serves (see :class:`KeyProblem`).

    Two checks, both without I/O: the key's own shape (``"*"`` matches only ``localhost``), and
    the provider's optional ``serves(pattern)`` hook (``provider = "ecr"`` on ``docker.io``).
    """
    pattern, name = route.pattern, route.provider.name
    where = f"registries.{pattern.text!r}"
    problems = []
    reach = pattern.reach_problem()
    if reach is not None:
        problems.append(
            KeyProblem(
                key=pattern.text,
                provider=name,
                message=f"{where}: {reach}",
                impossible=not pattern.matches_registry("localhost"),
            )
        )
    elif provider_serves(route.provider, pattern) is False:
        served = _SERVED_HOSTS.get(name)
        problems.append(
            KeyProblem(
                key=pattern.text,
                provider=name,
                message=(
                    f"{where}: provider {name!r} serves no registry matching {pattern.text!r}, "
                    f"so this entry never gives credentials" + (f": {served}" if served else "")
                ),
                impossible=True,
            )
        )
    return tuple(problems)


def _fail(path: Path | None, message: str, **context: str | None) -> ConfigurationError:
    return ConfigurationError(
        f"{path or 'configuration'}: {message}", path=str(path) if path else None, **context
    )


class _SecretUnavailableError(ConfigurationError):
    """A well-formed secret reference whose secret cannot be had now (only its entry fails)."""


def _unavailable(path: Path | None, message: str) -> _SecretUnavailableError:
    return _SecretUnavailableError(
        f"{path or 'configuration'}: {message}", path=str(path) if path else None
    )


def _resolve_reference(
    value: Mapping[str, Any],
    *,
    username: object,
    path: Path | None,
    where: str,
) -> Secret:
    kinds = [kind for kind in _REFERENCE_KINDS if kind in value]
    extra = set(value) - {*_REFERENCE_KINDS, "username"}
    if len(kinds) != 1 or extra:
        raise _fail(
            path,
            f"{where}: a secret reference has exactly one of env, file, keyring "
            f"(found keys {sorted(value)})",
        )
    kind = kinds[0]
    target = value[kind]
    if not isinstance(target, str) or not target:
        raise _fail(path, f"{where}: {kind} must be a non-empty string")
    if kind == "env":
        secret = os.environ.get(target)
        if secret is None:
            raise _unavailable(path, f"{where}: environment variable {target} is not set")
        return Secret(secret)
    if kind == "file":
        return Secret(_read_secret_file(target, path=path, where=where))
    user = value.get("username", username)
    if not isinstance(user, str) or not user:
        raise _fail(path, f"{where}: a keyring reference needs a username")
    return _keyring_secret(target, user, path=path, where=where)


def _read_secret_file(target: str, *, path: Path | None, where: str) -> str:
    """The text of a secret file, refused unless it is a small regular UTF-8 file."""
    try:
        file = Path(target).expanduser()
        data = read_small_regular_file(file, limit=MAX_SECRET_FILE_BYTES)
        return data.decode("utf-8").rstrip("\r\n")
    except UnreadableFileError as exc:
        reason = exc.reason
    except (RuntimeError, ValueError) as exc:
        # RuntimeError: an unknown ~user; ValueError: a NUL in the path, or not UTF-8 (the
        # decoder's message would quote the bytes, so only the kind of failure is kept).
        reason = "it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else type(exc).__name__
    raise _unavailable(path, f"{where}: cannot read secret file {target!r}: {reason}")


def _keyring_secret(service: str, username: str, *, path: Path | None, where: str) -> Secret:
    try:
        import keyring  # noqa: PLC0415 - optional dependency, loaded only when used
    except ImportError:
        raise _unavailable(
            path,
            f"{where}: keyring references need the keyring package: "
            "pip install 'registry-auth[keyring]'",
        ) from None
    try:
        secret = keyring.get_password(service, username)
    except Exception as exc:
        raise _unavailable(
            path, f"{where}: keyring lookup of {service!r} failed: {type(exc).__name__}"
        ) from exc
    if secret is None:
        raise _unavailable(
            path, f"{where}: no keyring entry for service {service!r}, user {username!r}"
        )
    return Secret(secret)


def _options(
    raw: Mapping[str, Any],
    *,
    path: Path | None,
    where: str,
    inline: list[str],
) -> tuple[dict[str, Any], ConfigurationError | None]:
    """The entry's options with secrets resolved, and why the entry is unusable (or None)."""
    options: dict[str, Any] = {}
    error: ConfigurationError | None = None
    for key, value in raw.items():
        if key == "provider":
            continue
        here = f"{where}.{key}"
        if isinstance(value, dict) and any(kind in value for kind in _REFERENCE_KINDS):
            try:
                options[key] = _resolve_reference(
                    value, username=raw.get("username"), path=path, where=here
                )
            except _SecretUnavailableError as exc:
                error = error or exc
        elif isinstance(value, str) and _SECRET_KEY_RE.search(key):
            inline.append(here)
            options[key] = Secret(value)
        else:
            options[key] = value
    return options, error


def _declared_options(provider: str) -> OptionTypes:
    """The option types a built-in provider declares (none for plugins: they check their own)."""
    spec = _BUILTIN_PROVIDERS.get(provider)
    if spec is None:
        return {}
    from importlib import import_module  # noqa: PLC0415 - imported by then: costs nothing

    module_name, _, attribute = spec.partition(":")
    try:
        factory = getattr(import_module(module_name), attribute)
    except Exception:  # noqa: BLE001 - building the provider reports a failed import
        return {}
    declared: OptionTypes = getattr(factory, "config_options", {})
    return declared


def _check_option_types(
    raw: Mapping[str, Any], *, path: Path | None, where: str, registry: str | None
) -> None:
    provider = raw["provider"]
    declared = _declared_options(provider)
    for key, value in raw.items():
        problem = None if key == "provider" else option_type_problem(declared, key, value)
        if problem is not None:
            raise _fail(
                path,
                f"{where}.{key}: the {provider} option {key!r} {problem}",
                registry=registry,
                provider=provider,
            )


def _attach(error: ConfigurationError | None, provider: str, registry: str | None) -> Any:
    if error is None:
        return None
    return ConfigurationError(error.message, path=error.path, registry=registry, provider=provider)


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a configuration mapping (as read from TOML) and resolve its secret references.

    Raises:
        ConfigurationError: the mapping does not have the documented shape.
    """
    unknown = set(data) - {"version", "registries", "providers"}
    if unknown:
        raise _fail(path, f"unknown top-level keys {sorted(unknown)}")
    version = data.get("version", 1)
    if version != 1:
        raise _fail(path, f"unsupported configuration version {version!r} (this is version 1)")
    entries: list[ProviderEntry] = []
    inline: list[str] = []
    registries = data.get("registries", {})
    if not isinstance(registries, dict):
        raise _fail(path, "registries must be a table of pattern = { provider = ... }")
    for key, raw in registries.items():
        where = f"registries.{key!r}"
        if not isinstance(raw, dict) or not isinstance(raw.get("provider"), str):
            raise _fail(path, f'{where}: needs provider = "<name>"', registry=key)
        try:
            pattern = RegistryPattern.parse(key)
        except ConfigurationError as exc:
            raise _fail(path, f"{where}: {exc.message}", registry=key) from None
        _check_option_types(raw, path=path, where=where, registry=key)
        options, error = _options(raw, path=path, where=where, inline=inline)
        if raw["provider"] == "static" or (
            # ECR reached under another name: the key is the name it answers for.
            raw["provider"] == "ecr" and {"registry_id", "region"} & set(options)
        ):
            options.setdefault("registry", key)
        entries.append(
            ProviderEntry(
                provider=raw["provider"],
                options=options,
                pattern=pattern,
                error=_attach(error, raw["provider"], key),
            )
        )
    providers = data.get("providers", [])
    if not isinstance(providers, list):
        raise _fail(path, "providers must be an array of tables: [[providers]]")
    for index, raw in enumerate(providers):
        where = f"providers[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("provider"), str):
            raise _fail(path, f'{where}: needs provider = "<name>"')
        _check_option_types(raw, path=path, where=where, registry=None)
        options, error = _options(raw, path=path, where=where, inline=inline)
        entries.append(
            ProviderEntry(
                provider=raw["provider"],
                options=options,
                error=_attach(error, raw["provider"], None),
            )
        )
    if inline and path is not None:
        _warn_if_readable(path, inline)
    return Config(path=path, entries=tuple(entries))


def _warn_if_readable(path: Path, inline: list[str]) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _logger().warning(
            "%s holds inline secrets (%s) and is readable by other users (mode %o): "
            "chmod 600 it, or use { env = ... } / { keyring = ... } references",
            path,
            ", ".join(inline),
            stat.S_IMODE(mode),
        )


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where short-lived processes (the CLI, the helpers) keep expiring tokens between runs.

    ``$REGISTRY_AUTH_CACHE_DIR``, else ``$XDG_CACHE_HOME/registry-auth``, else
    ``~/.cache/registry-auth``.
    """
    return Path(cache_dir(os.environ if environ is None else environ))


def forget_cached_tokens(registry: str) -> int:
    """Remove what the tools cached for ``registry`` in :func:`default_cache_dir`; how many.

    ``registry-auth logout`` and the credential helper's ``erase`` call it, so that no token for
    a registry outlives its login. Nothing is created where there is no cache yet.
    """
    from registry_auth._cache import TokenCache  # noqa: PLC0415 - logout and erase only

    return TokenCache(path=default_cache_dir()).forget_registry(registry)


def _has_module(name: str) -> bool:
    import importlib.util  # noqa: PLC0415 - only the command-line tools need it

    return importlib.util.find_spec(name) is not None


DEFAULT_ORDER: Final = ("keyring", "docker-config", "ecr")
"""The default providers, in the order they are asked (each only when it can work here)."""


def docker_logins_found(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The files of Docker and Podman logins that exist here, in the order they are read."""
    env = os.environ if environ is None else environ
    return tuple(Path(path) for path in docker_auth_files(env) if os.path.exists(path))


def default_entries(
    *, docker_config: bool | None = None, environ: Mapping[str, str] | None = None
) -> tuple[ProviderEntry, ...]:
    """The providers used when there is no configuration file, in :data:`DEFAULT_ORDER`.

    1. ``keyring`` (with the ``keyring`` extra): what ``registry-auth login`` and the credential
       helper's ``store`` keep;
    2. ``docker-config``: what ``docker login`` and ``podman login`` left in Docker's
       ``config.json`` (or a credential helper it names), the containers tools' ``auth.json``
       and ``~/.dockercfg``, read as the docker CLI reads them;
    3. ``ecr`` (with the ``ecr`` extra): automatic tokens for ECR hosts.

    Each answers only for what it holds (or for ECR hosts), so the order matters only for a
    registry several know: an explicit registry-auth login wins, then Docker's, then automatic
    ECR tokens. ``docker_config``: True to always include ``docker-config``, False never; None
    (the default) includes it when one of its files exists (in ``environ``, by default the
    process environment), so that short-lived tools on a machine without them do not even load
    it.
    """
    entries = []
    if _has_module("keyring"):
        entries.append(ProviderEntry(provider="keyring", options={}))
    if docker_config or (docker_config is None and docker_logins_found(environ)):
        entries.append(ProviderEntry(provider="docker-config", options={}))
    if _has_module("boto3"):
        entries.append(ProviderEntry(provider="ecr", options={}))
    return tuple(entries)


def load_tool_config(
    path: str | os.PathLike[str] | None = None, *, docker_config: bool | None = None
) -> Config:
    """The configuration the command-line tools use, for short-lived processes.

    The configuration file (``path`` or the search order), else :func:`default_entries`
    (``docker_config`` is passed on). ECR providers that name no cache of their own keep
    tokens on disk in :func:`default_cache_dir`, so that each run does not fetch a new token.
    """
    config = load_config(path)
    if config.path is not None:
        entries = config.entries
    else:
        entries = default_entries(docker_config=docker_config)
    token_dir = str(default_cache_dir())
    entries = tuple(
        attrs.evolve(entry, options={**entry.options, "cache_dir": token_dir})
        if entry.provider == "ecr" and not {"cache", "cache_dir"} & set(entry.options)
        else entry
        for entry in entries
    )
    return attrs.evolve(config, entries=entries)


def load_resolver(path: str | os.PathLike[str] | None = None) -> CredentialResolver:
    """The resolver over :func:`load_tool_config`'s providers."""
    return load_tool_config(path).resolver()


def default_resolver() -> CredentialResolver:
    """What a :class:`~registry_auth.ContainerOrchestrator` given no providers asks.

    The configuration file found in the search order, else the default providers, with
    ``docker-config`` always among them: a long-running process sees a ``docker login`` made
    after it started.
    """
    return load_tool_config(docker_config=True).resolver()


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the configuration file at ``path``, or the first one in the search order.

    With no ``path`` and no file found, the configuration is empty.

    Raises:
        ConfigurationError: the file cannot be read, is not TOML, or is not valid; the message
            names the file and, from TOML, the line.
    """
    file = Path(path).expanduser() if path is not None else find_config_file()
    if file is None:
        return Config(path=None)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(file, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        # The decoder's own message quotes the offending bytes, which may be part of a secret.
        raise _fail(file, f"not valid TOML: not UTF-8 (at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message names a line and column, never the value there.
        raise _fail(file, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise _fail(file, "not valid TOML: arrays or tables are nested too deeply") from None
    return parse_config(data, file)
