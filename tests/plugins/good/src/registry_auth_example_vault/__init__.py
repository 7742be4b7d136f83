"""A third-party provider, as a plugin author would write it: only the public API is used."""

from __future__ import annotations

from registry_auth import Credentials, ImageReference, Secret


class VaultProvider:
    """Answers for the registries in ``entries``: ``{"host": "user:password"}``."""

    def __init__(self, *, entries: dict[str, str]) -> None:
        self._entries = {host: tuple(value.split(":", 1)) for host, value in entries.items()}

    @property
    def name(self) -> str:
        return "example-vault"

    def get_credentials(self, ref: ImageReference) -> Credentials | None:
        entry = self._entries.get(ref.registry)
        if entry is None:
            return None
        user, password = entry
        return Credentials(username=user, password=Secret(password), registry=ref.registry)

    def __repr__(self) -> str:
        return f"VaultProvider(registries={sorted(self._entries)})"
