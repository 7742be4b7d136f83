"""registry-auth: pull container images from private registries.

The public API is re-exported here; everything else lives in private modules. Importing this
package imports neither docker nor boto3: they load when a pull or an ECR call needs them.
"""

from __future__ import annotations

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
