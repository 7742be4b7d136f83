"""The one exception hierarchy of registry-auth.

Every error the library raises on purpose derives from :class:`RegistryAuthError`::

    RegistryAuthError
    ├── InvalidReferenceError          (also a ValueError)
    ├── ConfigurationError             (also a ValueError)
    ├── ProtocolError                  (also a ValueError)
    ├── ProviderLoadError
    ├── ProviderError
    │   └── TokenFetchError
    ├── CredentialsNotFoundError
    ├── AuthenticationError
    └── PullError
        ├── ImageNotFoundError
        ├── PlatformMismatchError
        ├── DigestMismatchError
        ├── RegistryUnavailableError
        ├── PullTimeoutError
        └── DockerUnavailableError

Each error carries its context as attributes (``registry``, ``provider``, ``reference``) so that
callers can branch on them without parsing messages. No attribute and no message ever holds a
password or token: errors raised by third-party libraries are chained with ``raise ... from``,
never inherited from, and their text is only kept where it cannot carry a secret.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "CredentialsNotFoundError",
    "DigestMismatchError",
    "DockerUnavailableError",
    "ImageNotFoundError",
    "InvalidReferenceError",
    "PlatformMismatchError",
    "ProtocolError",
    "ProviderError",
    "ProviderLoadError",
    "PullError",
    "PullTimeoutError",
    "RegistryAuthError",
    "RegistryUnavailableError",
    "TokenFetchError",
]


class RegistryAuthError(Exception):
    """Base class of every error registry-auth raises.

    Attributes:
        message: what went wrong, in one line, without any secret.
        registry: the registry host involved (``docker.io``, ``localhost:5000``), if known.
        provider: the name of the credential provider involved, if any.
        reference: the image reference involved, as text, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        registry: str | None = None,
        provider: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.registry = registry
        self.provider = provider
        self.reference = reference

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        context = ", ".join(
            f"{name}={value!r}"
            for name, value in (
                ("registry", self.registry),
                ("provider", self.provider),
                ("reference", self.reference),
            )
            if value is not None
        )
        return f"{type(self).__name__}({self.message!r}{', ' if context else ''}{context})"


class InvalidReferenceError(RegistryAuthError, ValueError):
    """An image reference (or the gateway fields that make one) cannot be parsed.

    Attributes:
        text: the text that was rejected, with the user information of its host part (what
            comes before an ``@``, which may be ``user:password``) masked.
    """

    def __init__(self, message: str, *, text: str, registry: str | None = None) -> None:
        super().__init__(message, registry=registry, reference=text)
        self.text = text


class ConfigurationError(RegistryAuthError, ValueError):
    """A configuration file, option or provider setting is invalid.

    Attributes:
        path: the configuration file at fault, if the error came from one.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        registry: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message, registry=registry, provider=provider)
        self.path = path


class ProtocolError(RegistryAuthError, ValueError):
    """A request in a wire protocol we serve (kubelet plugin, credential helper) is malformed."""


class ProviderLoadError(RegistryAuthError):
    """A provider plugin could not be found, imported or built.

    Attributes:
        distribution: the distribution that declared the entry point, if known.
    """

    def __init__(self, message: str, *, provider: str, distribution: str | None = None) -> None:
        super().__init__(message, provider=provider)
        self.distribution = distribution


class ProviderError(RegistryAuthError):
    """A provider failed while fetching credentials (not: it had none to give)."""


class TokenFetchError(ProviderError):
    """A short-lived token could not be fetched and no unexpired cached token exists."""


class CredentialsNotFoundError(RegistryAuthError):
    """Credentials were required for a registry but no provider had any."""


class AuthenticationError(RegistryAuthError):
    """The registry rejected the credentials, or demanded credentials that were not sent."""


class PullError(RegistryAuthError):
    """Base class of the failures of an image pull, classified by cause."""


class ImageNotFoundError(PullError):
    """The registry has no such repository, tag or digest."""


class PlatformMismatchError(PullError):
    """The image has no variant for the requested platform.

    Attributes:
        wanted: the platform that was asked for (``linux/arm64``), if known.
        available: the platforms the image's manifest list offers.
    """

    def __init__(
        self,
        message: str,
        *,
        wanted: str | None = None,
        available: tuple[str, ...] = (),
        registry: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message, registry=registry, reference=reference)
        self.wanted = wanted
        self.available = available


class DigestMismatchError(PullError):
    """The pulled image's digest is not the one that was expected.

    Attributes:
        expected: the digest the caller pinned.
        actual: the digest the registry served.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        actual: str | None,
        registry: str | None = None,
        reference: str | None = None,
    ) -> None:
        super().__init__(message, registry=registry, reference=reference)
        self.expected = expected
        self.actual = actual


class RegistryUnavailableError(PullError):
    """The registry could not be reached or answered with a server error (transient)."""


class PullTimeoutError(PullError):
    """The pull did not finish within the configured time."""


class DockerUnavailableError(PullError):
    """No container engine answered on the configured socket."""
