"""The protocol every credential provider implements, built-in or third-party."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from registry_auth._credentials import Credentials
    from registry_auth._reference import ImageReference
    from registry_auth.matching import RegistryPattern

__all__ = ["CredentialProvider", "InvalidatingProvider", "provider_serves"]


@runtime_checkable
class CredentialProvider(Protocol):
    """Something that knows credentials for some registries.

    A provider is registered under a name in the ``registry_auth.providers`` entry-point group
    (``name = "package.module:ProviderClass"``) and built with keyword options, or built directly
    in code. It must:

    - answer only for the registries it was configured for, and return ``None`` for any other
      reference (never hand a credential to the wrong host);
    - return ``None`` when it simply has nothing ("not mine, or nothing found"), and raise a
      :class:`~registry_auth.RegistryAuthError` subclass only when something failed;
    - never show a secret in its repr, its log lines or its exceptions.

    Providers whose credentials can go stale also implement :class:`InvalidatingProvider`.

    A provider may also implement an optional method, not part of this protocol (a plugin
    without it keeps working)::

        def serves(self, pattern: RegistryPattern) -> bool | None: ...

    It says whether any registry under ``pattern`` (a configuration key) is one the provider
    can answer for: False lets the configuration report an entry that can never give
    credentials (``provider = "ecr"`` on ``docker.io``), None means it cannot tell. See
    :func:`provider_serves`.
    """

    @property
    def name(self) -> str:
        """The provider's name: its entry-point name for installed providers."""
        ...

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        """Return credentials for ``ref``'s registry, or None if this provider has none."""
        ...


@runtime_checkable
class InvalidatingProvider(CredentialProvider, Protocol):
    """A provider that caches credentials and can be told they were rejected."""

    def invalidate(self, ref: ImageReference) -> None:
        """Forget cached credentials for ``ref``: the registry rejected them."""
        ...


def provider_serves(provider: object, pattern: RegistryPattern) -> bool | None:
    """What ``provider.serves(pattern)`` says, or None for a provider without that method.

    An answer other than True, False or None, or an exception from the method, counts as
    "cannot tell": a plugin's mistake here never stops a configuration from loading.
    """
    serves = getattr(provider, "serves", None)
    if not callable(serves):
        return None
    try:
        answer = serves(pattern)
    except Exception:  # noqa: BLE001 - an optional hint; its failure is no reason to fail
        return None
    return answer if isinstance(answer, bool) else None
