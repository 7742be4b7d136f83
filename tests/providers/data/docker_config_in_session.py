"""Drive the real docker-credential-secretservice helper and DockerConfigProvider.

Run inside a D-Bus session with an unlocked gnome-keyring (see in_keyring_session.sh):

    python docker_config_in_session.py PLAN.json

PLAN.json holds ``{"config": {...config.json content...}, "steps": [...]}``; each step is one of

- ``["helper_store", server_url, username, secret]``: ``docker-credential-secretservice store``;
- ``["helper_list"]``: ``docker-credential-secretservice list``;
- ``["get", image]``: ``DockerConfigProvider(<config written to a file>).get_credentials``.

The results, one per step, are printed as a JSON list on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from registry_auth import Credentials, ImageReference, RegistryAuthError
from registry_auth.providers.docker_config import DockerConfigProvider

HELPER = "docker-credential-secretservice"


def describe(creds: Credentials | None) -> dict[str, Any] | None:
    if creds is None:
        return None
    return {
        "username": creds.username,
        "password": creds.password.reveal(),
        "identity_token": None if creds.identity_token is None else creds.identity_token.reveal(),
        "registry": creds.registry,
        "provider": creds.provider,
    }


def run_step(provider: DockerConfigProvider, step: list[str]) -> object:
    action, *args = step
    if action == "helper_store":
        server_url, username, secret = args
        payload = {"ServerURL": server_url, "Username": username, "Secret": secret}
        subprocess.run([HELPER, "store"], input=json.dumps(payload).encode(), check=True)
        return "stored"
    if action == "helper_list":
        listed = subprocess.run([HELPER, "list"], capture_output=True, check=True)
        return json.loads(listed.stdout)
    if action == "get":
        try:
            return describe(provider.get_credentials(ImageReference.parse(args[0])))
        except RegistryAuthError as exc:
            return {"error": type(exc).__name__, "message": str(exc)}
    raise ValueError(f"unknown step {action!r}")


def main() -> None:
    plan_path = Path(sys.argv[1])
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    config = plan_path.with_name("config.json")
    config.write_text(json.dumps(plan["config"]), encoding="utf-8")
    provider = DockerConfigProvider(config, helper_timeout=20)
    print(json.dumps([run_step(provider, step) for step in plan["steps"]]))


if __name__ == "__main__":
    main()
