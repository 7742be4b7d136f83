"""Read the gateway's per-container fields and resolve credentials for them.

Run with ``scripts/demo``. The secrets here are demo values and are never printed.
"""

from __future__ import annotations

from registry_auth import (
    CredentialResolver,
    DockerHubProvider,
    ImageReference,
    StaticPasswordProvider,
)

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

# The three gateway flows: (image name, image tag, registry URL, username, password).
CONTAINERS = [
    ("hubuser/hello", "v1", "", "hubuser", "demo-hub-password"),
    (f"{ECR_HOST}/team/hello", "1.0", f"https://{ECR_HOST}/team/", "AWS", "demo-ecr-token"),
    ("team/app", "2.3", "127.0.0.1:5443", "alice", "demo-password"),
]


def main() -> None:
    """Print how each container's fields are read and which provider answers for them."""
    for name, tag, url, username, password in CONTAINERS:
        ref = ImageReference.from_fields(name, tag, url)
        if ref.is_docker_hub:
            provider: StaticPasswordProvider | DockerHubProvider = DockerHubProvider(
                username=username, password=password
            )
        else:
            provider = StaticPasswordProvider(registry=url, username=username, password=password)
        resolver = CredentialResolver([provider])
        credentials = resolver.resolve(ref)
        if credentials is None:
            raise SystemExit(f"no credentials for {ref}")
        print(f"{name!r} tag {tag!r} registry URL {url!r}")
        print(f"  -> {ref}  (registry {ref.registry}, repository {ref.repository})")
        print(
            f"  -> provider {credentials.provider}, user {credentials.username}, "
            f"password {credentials.password}, engine server {credentials.server_address}"
        )


if __name__ == "__main__":
    main()
