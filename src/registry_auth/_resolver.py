"""Choosing credentials for a reference: an ordered list of providers, first answer wins."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from registry_auth._provider import CredentialProvider, InvalidatingProvider
from registry_auth.matching import RegistryPattern

if TYPE_CHECKING:
    import logging
    from os import PathLike

    from registry_auth._credentials import Credentials
    from registry_auth._reference import ImageReference

__all__ = ["CredentialResolver", "Route"]

_LOGGER_NAME = "registry_auth.resolver"
_DEBUG = 10  # logging.DEBUG
_loggers: list[logging.Logger] = []  # the resolver's logger, once logging is imported


def _debug_logger() -> logging.Logger | None:
    """The resolver's logger if it writes DEBUG lines, else None.

    Where nothing has imported logging, nothing can have asked for DEBUG lines: the resolver
    does not import it for them (a credential helper's ``get`` never does).
    """
    if not _loggers:
        logging = sys.modules.get("logging")
        if logging is None:
            return None
        _loggers.append(logging.getLogger(_LOGGER_NAME))
    logger = _loggers[0]
    return logger if logger.isEnabledFor(_DEBUG) else None


@attrs.frozen(kw_only=True)
class Route:
    """A provider that is asked only for references under ``pattern``.

    Routes come from the ``registries`` table of the configuration file; they keep a provider
    from ever seeing references outside its pattern, whatever the provider itself would do.
    """

    pattern: RegistryPattern
    provider: CredentialProvider

    def applies_to(self, ref: ImageReference) -> bool:
        """Whether ``ref`` falls under this route's pattern."""
        return self.pattern.matches(ref)


def _to_entries(
    items: Iterable[CredentialProvider | Route],
) -> tuple[Route | CredentialProvider, ...]:
    return _order(tuple(_as_route(item) for item in items))


def _as_route(item: CredentialProvider | Route) -> Route | CredentialProvider:
    if isinstance(item, (Route, CredentialProvider)):
        return item
    raise TypeError(f"CredentialResolver takes providers or routes, not {type(item).__name__}")


@attrs.frozen
class CredentialResolver:
    """An ordered list of providers (and routed providers); the first non-None answer wins.

    Routes are ordered most specific first (a longer path prefix, then fewer globs), then the
    unrouted providers in the order given. Build one in code::

        resolver = CredentialResolver([DockerHubProvider(...), EcrProvider()])

    or from the configuration file with :meth:`from_config`.
    """

    _entries: tuple[Route | CredentialProvider, ...] = attrs.field(
        alias="providers",
        default=(),
        converter=_to_entries,
    )

    @property
    def entries(self) -> tuple[Route | CredentialProvider, ...]:
        """The routes and providers, in the order they are asked."""
        return self._entries

    @classmethod
    def from_config(cls, path: str | PathLike[str] | None = None) -> CredentialResolver:
        """Build a resolver from the configuration file (see :func:`find_config_file`).

        With no ``path`` and no file found in the search order, the resolver is empty.

        Raises:
            ConfigurationError: the file is invalid or names an unknown provider; the message
                names the file and the entry.
        """
        from registry_auth._config import load_config  # noqa: PLC0415 - avoids an import cycle

        return load_config(path).resolver()

    def _candidates(self, ref: ImageReference) -> Iterable[CredentialProvider]:
        for entry in self._entries:
            if isinstance(entry, Route):
                if entry.applies_to(ref):
                    yield entry.provider
            else:
                yield entry

    def resolve(self, ref: ImageReference) -> Credentials | None:
        """Credentials for ``ref`` from the first provider that has some, or None.

        Errors raised by a provider (a token it could not fetch) propagate: a provider that
        should have answered but failed is not silently skipped.
        """
        # The warm path of every pull: _candidates() inlined (no generator), and the log
        # lines' arguments computed only when they will be written.
        for entry in self._entries:
            if isinstance(entry, Route):
                if not entry.applies_to(ref):
                    continue
                provider = entry.provider
            else:
                provider = entry
            credentials = provider.get_credentials(ref)
            if credentials is not None:
                logger = _debug_logger()
                if logger is not None:
                    logger.debug(
                        "credentials for %s from provider %r (user %r)",
                        ref.registry,
                        provider.name,
                        credentials.username,
                    )
                if credentials.provider is None:
                    credentials = attrs.evolve(credentials, provider=provider.name)
                return credentials
        logger = _debug_logger()
        if logger is not None:
            logger.debug("no provider has credentials for %s", ref.registry)
        return None

    def resolve_registry(self, registry: str) -> Credentials | None:
        """Credentials for a whole registry (``host[:port]``), as Docker's helpers are asked.

        Docker asks credential helpers by registry only, never by repository, so routes scoped
        to a path (``registry.example.com/team``) do not answer here; providers see a reference
        whose repository is empty.
        """
        from registry_auth._reference import ImageReference  # noqa: PLC0415 - cycle-free

        return self.resolve(ImageReference(registry=registry, repository=""))

    def invalidate(self, ref: ImageReference) -> None:
        """Tell every provider that could answer for ``ref`` that its credentials were rejected."""
        for provider in self._candidates(ref):
            if isinstance(provider, InvalidatingProvider):
                provider.invalidate(ref)

    def providers_for(self, ref: ImageReference) -> tuple[CredentialProvider, ...]:
        """The providers that would be asked for ``ref``, in order."""
        return tuple(self._candidates(ref))


def _order(
    entries: Sequence[Route | CredentialProvider],
) -> tuple[Route | CredentialProvider, ...]:
    routes = [e for e in entries if isinstance(e, Route)]
    others = [e for e in entries if not isinstance(e, Route)]
    # sorted() is stable: equally specific routes keep the order they were given in.
    routes.sort(key=lambda route: route.pattern.specificity, reverse=True)
    return (*routes, *others)
