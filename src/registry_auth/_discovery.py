"""Finding credential providers through the ``registry_auth.providers`` entry-point group.

Built-in providers are registered in registry-auth's own package metadata exactly as third-party
plugins are; nothing registers itself on import. Discovery is lazy (nothing is scanned until asked)
and cached; a plugin that fails to import is recorded with its entry-point name and distribution and
never takes the host down.

Two switches, as pytest has:

- ``REGISTRY_AUTH_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the providers registry-auth itself ships;
  third-party providers are then loaded only when named explicitly as ``module:attribute``.
- ``REGISTRY_AUTH_BLOCK_PROVIDERS=name1,name2`` (or ``block=`` in code) refuses those names.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from registry_auth._compat import entry_points
from registry_auth._errors import ProviderLoadError
from registry_auth._provider import CredentialProvider

if TYPE_CHECKING:
    import logging

    from registry_auth._compat import EntryPoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "ProviderInfo",
    "available_providers",
    "load_provider",
    "reset_provider_discovery",
]

ENTRY_POINT_GROUP: Final = "registry_auth.providers"
DISABLE_AUTOLOAD_ENV: Final = "REGISTRY_AUTH_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV: Final = "REGISTRY_AUTH_BLOCK_PROVIDERS"
_OWN_DISTRIBUTION: Final = "registry-auth"
_SPEC_RE: Final = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", re.ASCII)
# registry-auth's own entry points, as pyproject.toml declares them (a test checks that the two
# agree). Built-ins win over plugins of the same name, so load_provider() can load them from this
# table without scanning every installed distribution: the scan, and importing
# importlib.metadata, cost more than a credential helper's whole answer.
_BUILTIN_PROVIDERS: Final = {
    "static": "registry_auth.providers.static:StaticPasswordProvider",
    "dockerhub": "registry_auth.providers.dockerhub:DockerHubProvider",
    "ecr": "registry_auth.providers.ecr:EcrProvider",
    "docker-config": "registry_auth.providers.docker_config:DockerConfigProvider",
    "keyring": "registry_auth.providers.keyring:KeyringProvider",
}


def _logger() -> logging.Logger:
    import logging  # noqa: PLC0415 - only when a plugin fails: loading one never needs it

    return logging.getLogger("registry_auth.plugins")


@attrs.frozen(kw_only=True)
class ProviderInfo:
    """What is known about one entry point of the ``registry_auth.providers`` group.

    Attributes:
        name: the entry-point name, used in configuration files (``ecr``, ``static``).
        value: the object it points at, ``module:attribute``.
        distribution: the distribution that declared it, if known.
        version: that distribution's version, if known.
        builtin: whether it ships with registry-auth.
        error: why loading it failed (``ImportError: No module named 'x'``), or None.
    """

    name: str
    value: str
    distribution: str | None
    version: str | None
    builtin: bool
    error: str | None = None
    _factory: Callable[..., Any] | None = attrs.field(
        default=None, alias="factory", eq=False, repr=False
    )

    @property
    def loaded(self) -> bool:
        """Whether the entry point imported cleanly."""
        return self.error is None and self._factory is not None

    def create(self, **options: Any) -> CredentialProvider:
        """Build the provider with ``options``.

        Raises:
            ProviderLoadError: the plugin did not load, its constructor failed with a
                ``TypeError`` (bad options), or what it built is not a provider.
        """
        if self._factory is None:
            raise ProviderLoadError(
                f"provider {self.name!r} from {self._origin} could not be loaded: {self.error}",
                provider=self.name,
                distribution=self.distribution,
            )
        return _build(self.name, self._factory, options, self.distribution)

    @property
    def _origin(self) -> str:
        if self.distribution is None:
            return self.value
        return f"{self.distribution} {self.version or ''}".rstrip()


def _build(
    name: str, factory: Callable[..., Any], options: dict[str, Any], distribution: str | None
) -> CredentialProvider:
    try:
        provider = factory(**options)
    except (TypeError, AttributeError) as exc:  # an unknown option, or one of the wrong type
        raise ProviderLoadError(
            f"provider {name!r} {_option_problem(factory, options, exc)}",
            provider=name,
            distribution=distribution,
        ) from exc
    if not isinstance(provider, CredentialProvider):
        raise ProviderLoadError(
            f"provider {name!r} built a {type(provider).__name__}, which lacks "
            "'name' and 'get_credentials(ref)'",
            provider=name,
            distribution=distribution,
        )
    return provider


def _option_problem(
    factory: Callable[..., Any], options: Mapping[str, Any], exc: TypeError | AttributeError
) -> str:
    """What is wrong with ``options`` for ``factory``, read from its signature if it has one.

    Called only after the factory refused its options, so the happy path never inspects.
    """
    import inspect  # noqa: PLC0415 - only when a provider refused its options

    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # no signature to read: say what the factory said
        parameters = None
    if parameters is not None and not any(p.kind is p.VAR_KEYWORD for p in parameters):
        named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        accepted = sorted(p.name for p in parameters if p.kind in named)
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            return "has no option " + ", ".join(_with_suggestion(key, accepted) for key in unknown)
        missing = [
            p.name
            for p in parameters
            if p.kind in named and p.default is p.empty and p.name not in options
        ]
        if missing:
            noun = "option" if len(missing) == 1 else "options"
            return f"needs the {noun} {', '.join(map(repr, missing))}"
    return f"rejected its options: {_describe_type_error(exc)}"


def _with_suggestion(key: str, accepted: Iterable[str]) -> str:
    """``'pasword' (did you mean 'password'?)``, or the key alone when nothing is close."""
    import difflib  # noqa: PLC0415 - only when a provider refused its options

    close = difflib.get_close_matches(key, list(accepted), n=1)
    return f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)


def _describe_type_error(exc: TypeError | AttributeError) -> str:
    # A TypeError from a constructor names arguments, never their values; an AttributeError,
    # the type of a value and the attribute it lacks.
    return str(exc).splitlines()[0][:200]


def _env_blocked() -> frozenset[str]:
    raw = os.environ.get(BLOCK_ENV, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _autoload_disabled() -> bool:
    return os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in {"", "0", "false", "no"}


def _info_for(entry_point: EntryPoint) -> ProviderInfo:
    dist = entry_point.dist
    dist_name = dist.metadata["Name"] if dist is not None else None
    version = dist.version if dist is not None else None
    builtin = dist_name is not None and dist_name.lower().replace("_", "-") == _OWN_DISTRIBUTION
    factory: Callable[..., Any] | None = None
    try:
        loaded = entry_point.load()
    except Exception as exc:  # noqa: BLE001 - any failure of a plugin is reported, not raised
        error: str | None = f"{type(exc).__name__}: {exc}"
        _logger().warning(
            "credential provider %r from %s failed to load: %s",
            entry_point.name,
            dist_name or entry_point.value,
            error,
        )
    else:
        if callable(loaded):
            factory, error = loaded, None
        else:
            error = f"TypeError: {entry_point.value} is a {type(loaded).__name__}, not a callable"
    return ProviderInfo(
        name=entry_point.name,
        value=entry_point.value,
        distribution=dist_name,
        version=version,
        builtin=builtin,
        error=error,
        factory=factory,
    )


@functools.lru_cache(maxsize=1)
def _discover() -> tuple[ProviderInfo, ...]:
    found = [_info_for(ep) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return tuple(sorted(found, key=lambda info: (not info.builtin, info.name)))


def reset_provider_discovery() -> None:
    """Forget what discovery found, so the next call scans the entry points again (tests)."""
    _discover.cache_clear()


def available_providers(*, include_blocked: bool = False) -> tuple[ProviderInfo, ...]:
    """Every provider registered in the ``registry_auth.providers`` group, built-ins first.

    A provider that failed to import is listed with its ``error``; it never raises. With
    ``REGISTRY_AUTH_DISABLE_PLUGIN_AUTOLOAD`` set, only registry-auth's own providers are listed.
    """
    infos = _discover()
    if _autoload_disabled():
        infos = tuple(info for info in infos if info.builtin)
    if not include_blocked:
        blocked = _env_blocked()
        infos = tuple(info for info in infos if info.name not in blocked)
    return infos


def _load_spec(spec: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as exc:
        raise ProviderLoadError(
            f"provider {spec!r} could not be imported: {type(exc).__name__}: {exc}",
            provider=spec,
        ) from exc
    if not callable(target):
        raise ProviderLoadError(f"provider {spec!r} is not callable", provider=spec)
    return target  # type: ignore[no-any-return]  # checked callable just above


def _load_builtin(name: str) -> Callable[..., Any]:
    """Import a built-in provider as its entry point would; fail as discovery reports it."""
    value = _BUILTIN_PROVIDERS[name]
    module_name, _, attribute = value.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
    except Exception as exc:  # noqa: BLE001 - reported as discovery reports a broken plugin
        from registry_auth._version import version  # noqa: PLC0415 - only on this failure

        error = f"{type(exc).__name__}: {exc}"
        _logger().warning(
            "credential provider %r from %s failed to load: %s", name, _OWN_DISTRIBUTION, error
        )
        raise ProviderLoadError(
            f"provider {name!r} from {_OWN_DISTRIBUTION} {version()} could not be loaded: {error}",
            provider=name,
            distribution=_OWN_DISTRIBUTION,
        ) from None
    return target  # type: ignore[no-any-return]  # our own provider classes


def load_provider(name: str, /, *, block: Iterable[str] = (), **options: Any) -> CredentialProvider:
    """Build the provider registered as ``name`` (or given as ``module:attribute``).

    Args:
        name: an entry-point name (``static``, ``dockerhub``, ``ecr``, a plugin's name), or an
            explicit ``package.module:ClassName``.
        block: names to refuse, on top of ``REGISTRY_AUTH_BLOCK_PROVIDERS``.
        **options: keyword arguments for the provider's constructor.

    Raises:
        ProviderLoadError: the name is unknown, blocked, ambiguous, failed to load, rejected the
            options, or built something that is not a provider. The message names the plugin and
            its distribution.
    """
    blocked = _env_blocked() | frozenset(block)
    if name in blocked:
        raise ProviderLoadError(f"provider {name!r} is blocked", provider=name)
    if _SPEC_RE.fullmatch(name):
        return _build(name, _load_spec(name), options, None)
    if name in _BUILTIN_PROVIDERS:
        return _build(name, _load_builtin(name), options, _OWN_DISTRIBUTION)
    candidates = [info for info in available_providers(include_blocked=True) if info.name == name]
    if not candidates:
        known = ", ".join(info.name for info in available_providers()) or "none"
        hint = (
            f" (plugin autoloading is disabled by {DISABLE_AUTOLOAD_ENV}; "
            "name it as module:attribute)"
            if _autoload_disabled()
            else ""
        )
        raise ProviderLoadError(
            f"no credential provider named {name!r}; installed: {known}{hint}", provider=name
        )
    builtins = [info for info in candidates if info.builtin]
    if builtins:
        chosen = builtins[0]
    elif len(candidates) > 1:
        origins = ", ".join(info._origin for info in candidates)
        raise ProviderLoadError(
            f"provider name {name!r} is registered by several distributions: {origins}",
            provider=name,
        )
    else:
        chosen = candidates[0]
    return chosen.create(**options)
