"""registry-auth-ghcr: GitHub Container Registry (``ghcr.io``) credentials for registry-auth.

Installed, it registers :class:`GhcrProvider` as ``ghcr`` in the ``registry_auth.providers``
entry-point group, so configuration files and ``load_provider("ghcr")`` find it.
"""

from __future__ import annotations

from registry_auth_ghcr._provider import (
    DEFAULT_TOKEN_VARIABLES,
    FALLBACK_USERNAME,
    GHCR_HOST,
    USERNAME_VARIABLE,
    GhcrProvider,
)

__all__ = [
    "DEFAULT_TOKEN_VARIABLES",
    "FALLBACK_USERNAME",
    "GHCR_HOST",
    "USERNAME_VARIABLE",
    "GhcrProvider",
]
