"""registry-auth: pull container images from private registries.

The public API is re-exported here; everything else lives in private modules. Names are loaded
on first use (PEP 562), so ``import registry_auth`` costs next to nothing, and it never imports
docker or boto3: they load when a pull or an ECR call needs them.
"""

# No ``from __future__`` and no ``typing`` import here: both cost start-up time that short-lived
# processes (the credential helpers) would pay for nothing. Type checkers and IDEs read the
# imports below; at run time, ``__getattr__`` imports each name's module when it is first used.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from registry_auth._cache import CacheKey, RefreshPolicy, TokenCache
    from registry_auth._config import find_config_file, load_config
    from registry_auth._credentials import Credentials, Secret
    from registry_auth._discovery import (
        ENTRY_POINT_GROUP,
        ProviderInfo,
        available_providers,
        load_provider,
        reset_provider_discovery,
    )
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
        PullError,
        PullTimeoutError,
        RegistryAuthError,
        RegistryUnavailableError,
        TokenFetchError,
    )
    from registry_auth._orchestrator import (
        ContainerOrchestrator,
        ImageConfig,
        PullPolicy,
        PullProgress,
        PullResult,
    )
    from registry_auth._provider import CredentialProvider, InvalidatingProvider
    from registry_auth._reference import DOCKER_HUB, ImageReference
    from registry_auth._resolver import CredentialResolver, Route
    from registry_auth._version import __version__ as __version__
    from registry_auth.matching import image_matches
    from registry_auth.providers.docker_config import DockerConfigProvider
    from registry_auth.providers.dockerhub import DockerHubProvider
    from registry_auth.providers.ecr import EcrProvider, parse_ecr_host
    from registry_auth.providers.keyring import KeyringProvider
    from registry_auth.providers.static import StaticPasswordProvider

__all__ = [  # noqa: RUF022 - plain sorted order, checked by a test
    "AuthenticationError",
    "CacheKey",
    "ConfigurationError",
    "ContainerOrchestrator",
    "CredentialProvider",
    "CredentialResolver",
    "Credentials",
    "CredentialsNotFoundError",
    "DOCKER_HUB",
    "DigestMismatchError",
    "DockerConfigProvider",
    "DockerHubProvider",
    "DockerUnavailableError",
    "ENTRY_POINT_GROUP",
    "EcrProvider",
    "ImageConfig",
    "ImageNotFoundError",
    "ImageReference",
    "InvalidReferenceError",
    "InvalidatingProvider",
    "KeyringProvider",
    "PlatformMismatchError",
    "ProtocolError",
    "ProviderError",
    "ProviderInfo",
    "ProviderLoadError",
    "PullError",
    "PullPolicy",
    "PullProgress",
    "PullResult",
    "PullTimeoutError",
    "RefreshPolicy",
    "RegistryAuthError",
    "RegistryUnavailableError",
    "Route",
    "Secret",
    "StaticPasswordProvider",
    "TokenCache",
    "TokenFetchError",
    "available_providers",
    "find_config_file",
    "image_matches",
    "load_config",
    "load_provider",
    "parse_ecr_host",
    "reset_provider_discovery",
]

# The module each public name lives in: the same table as the imports above, for run time.
_MODULES = {
    "registry_auth._cache": ("CacheKey", "RefreshPolicy", "TokenCache"),
    "registry_auth._config": ("find_config_file", "load_config"),
    "registry_auth._credentials": ("Credentials", "Secret"),
    "registry_auth._discovery": (
        "ENTRY_POINT_GROUP",
        "ProviderInfo",
        "available_providers",
        "load_provider",
        "reset_provider_discovery",
    ),
    "registry_auth._errors": (
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
    ),
    "registry_auth._orchestrator": (
        "ContainerOrchestrator",
        "ImageConfig",
        "PullPolicy",
        "PullProgress",
        "PullResult",
    ),
    "registry_auth._provider": ("CredentialProvider", "InvalidatingProvider"),
    "registry_auth._reference": ("DOCKER_HUB", "ImageReference"),
    "registry_auth._resolver": ("CredentialResolver", "Route"),
    "registry_auth.matching": ("image_matches",),
    "registry_auth.providers.docker_config": ("DockerConfigProvider",),
    "registry_auth.providers.dockerhub": ("DockerHubProvider",),
    "registry_auth.providers.ecr": ("EcrProvider", "parse_ecr_host"),
    "registry_auth.providers.keyring": ("KeyringProvider",),
    "registry_auth.providers.static": ("StaticPasswordProvider",),
}
_SOURCES = {name: module for module, names in _MODULES.items() for name in names}

if not TYPE_CHECKING:
    # Hidden from type checkers, so that they still report names that do not exist.

    def __getattr__(name: str) -> object:
        from importlib import import_module  # noqa: PLC0415 - only when a name is first used

        module = _SOURCES.get(name)
        if module is not None:
            value = getattr(import_module(module), name)
        elif name == "__version__":
            # A literal in a tiny module, which the build reads too: no package metadata.
            value = import_module("registry_auth._version").__version__
        elif name.startswith("__"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        else:
            # A submodule (registry_auth.matching, registry_auth.providers), as it was an
            # attribute of the package when everything was imported up front.
            try:
                value = import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__, "__version__"})


del TYPE_CHECKING  # not part of the API
