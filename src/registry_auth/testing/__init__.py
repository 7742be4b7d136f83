"""Helpers for testing code that uses registry-auth, and for testing registry-auth itself.

- :mod:`registry_auth.testing.stack`: a real local stack (dockerd, docker-registry with
  htpasswd over TLS and with token auth, a "Docker Hub" and an "ECR" under their real names in a
  network namespace, moto's server) for end-to-end tests. Needs root and Debian's ``docker.io``,
  ``docker-registry``, ``skopeo``, ``apache2-utils`` and ``iproute2``.
- :mod:`registry_auth.testing.fake_docker`: a fake docker client for unit tests.
- :mod:`registry_auth.testing.strategies`: hypothesis strategies.

Install the ``testing`` extra for what these need: ``pip install 'registry-auth[testing]'``.
"""

from __future__ import annotations

from registry_auth.testing.stack import (
    DEFAULT_USERS,
    ECR_ACCOUNT,
    ECR_REGION,
    Address,
    AuthScheme,
    Blob,
    DockerDaemon,
    Image,
    ImageIndex,
    LocalStack,
    MissingComponentError,
    MotoServer,
    Platform,
    PushedImage,
    PushJob,
    Registry,
    RegistryRequest,
    SampleImages,
    StackError,
    TokenRequest,
)

__all__ = [
    "DEFAULT_USERS",
    "ECR_ACCOUNT",
    "ECR_REGION",
    "Address",
    "AuthScheme",
    "Blob",
    "DockerDaemon",
    "Image",
    "ImageIndex",
    "LocalStack",
    "MissingComponentError",
    "MotoServer",
    "Platform",
    "PushJob",
    "PushedImage",
    "Registry",
    "RegistryRequest",
    "SampleImages",
    "StackError",
    "TokenRequest",
]
