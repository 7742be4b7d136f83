"""Drive KeyringProvider against the keyring package's Secret Service backend.

Run inside a D-Bus session with an unlocked gnome-keyring (see in_keyring_session.sh), with
``PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring``:

    python keyring_in_session.py PLAN.json

PLAN.json holds ``{"steps": [...]}``; each step is one of

- ``["backend"]``: the class of the keyring backend in use;
- ``["store", registry, username, password]``, ``["get", image]``, ``["erase", registry]``,
  ``["list"]``: the KeyringProvider methods;
- ``["set_password", service, username, password]``: ``keyring.set_password``, as another tool
  would write an entry;
- ``["secret_tool", service, username]``: ``secret-tool lookup``, reading gnome-keyring
  directly (libsecret, not Python), or null when it finds nothing.

The results, one per step, are printed as a JSON list on stdout.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keyring

from registry_auth import ImageReference, RegistryAuthError
from registry_auth.providers.keyring import KeyringProvider


def backend_name() -> str:
    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def get(provider: KeyringProvider, image: str) -> list[str] | None:
    creds = provider.get_credentials(ImageReference.parse(image))
    return None if creds is None else [creds.username, creds.password.reveal(), creds.registry]


def secret_tool_lookup(service: str, username: str) -> str | None:
    found = subprocess.run(
        ["secret-tool", "lookup", "service", service, "username", username],
        capture_output=True,
        check=False,
    )
    return found.stdout.decode() if found.returncode == 0 else None


def run_step(provider: KeyringProvider, step: list[str]) -> object:
    action, *args = step
    actions: dict[str, Callable[..., object]] = {
        "backend": backend_name,
        "store": provider.store,
        "get": functools.partial(get, provider),
        "erase": provider.erase,
        "list": provider.list,
        "set_password": keyring.set_password,
        "secret_tool": secret_tool_lookup,
    }
    try:
        result = actions[action](*args)
    except RegistryAuthError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    return "done" if result is None and action in {"store", "set_password"} else result


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    provider = KeyringProvider(**plan.get("options", {}))
    print(json.dumps([run_step(provider, step) for step in plan["steps"]]))


if __name__ == "__main__":
    main()
