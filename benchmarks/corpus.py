"""Inputs for the benchmarks: image references and Docker configuration files.

Everything is generated from a seed, so every run (and every machine) parses and resolves the
same inputs.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Final

__all__ = [
    "MALFORMED_REFERENCES",
    "docker_config",
    "gateway_lookups",
    "peer_parse",
    "references",
    "write_docker_config",
]

_WORDS: Final = (
    "app", "agent", "api", "edge", "gateway", "sensor", "modbus", "mqtt", "kura", "node-red",
    "telegraf", "influxdb", "grafana", "nginx", "redis", "postgres", "alpine", "ubuntu",
    "debian", "python", "busybox", "collector", "bridge", "opcua", "zigbee", "lora", "ota",
    "updater", "metrics", "logger", "vision", "camera", "pump", "valve", "hvac", "meter",
)  # fmt: skip
_SEPARATORS: Final = ("-", "_", ".", "__", "--")
_REGIONS: Final = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "us-west-2")
_TAG_WORDS: Final = ("latest", "stable", "edge", "arm64", "slim", "alpine", "lts")


def _name(rng: random.Random, index: int) -> str:
    """A repository path component, unique through ``index``."""
    word = rng.choice(_WORDS)
    if rng.random() < 0.5:  # noqa: PLR2004 - half of them compound
        word += rng.choice(_SEPARATORS) + rng.choice(_WORDS)
    return f"{word}{index}"


def _tag(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.5:  # noqa: PLR2004
        return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
    if kind < 0.8:  # noqa: PLR2004
        return f"{rng.randint(1, 5)}.{rng.randint(0, 9)}-{rng.choice(_TAG_WORDS)}"
    return rng.choice(_TAG_WORDS)


def _digest(rng: random.Random) -> str:
    return "sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def _reference(rng: random.Random, index: int) -> str:
    """One reference, of a kind drawn with the weights a fleet of gateways might see."""
    name = _name(rng, index)
    team = rng.choice(_WORDS)
    kind = rng.randrange(20)
    if kind < 3:  # noqa: PLR2004 - an official image: ubuntu:22.04
        text = name
    elif kind < 7:  # noqa: PLR2004 - a Docker Hub user's image: hubuser/app:1.0
        text = f"{team}{rng.randint(1, 99)}/{name}"
    elif kind < 8:  # noqa: PLR2004 - Docker Hub, spelled out
        text = f"docker.io/{team}/{name}"
    elif kind < 12:  # noqa: PLR2004 - ECR
        account = f"{rng.randrange(10**12):012d}"
        text = f"{account}.dkr.ecr.{rng.choice(_REGIONS)}.amazonaws.com/{team}/{name}"
    elif kind < 14:  # noqa: PLR2004 - a registry with a port
        text = f"registry{rng.randint(1, 9)}.example.com:5000/{team}/{name}"
    elif kind < 15:  # noqa: PLR2004 - a registry on the gateway itself
        text = f"localhost:5000/{name}"
    elif kind < 16:  # noqa: PLR2004 - an address on the plant network
        text = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:5000/{name}"
    else:  # GitHub's and Quay's registries, sometimes deeper
        host = rng.choice(("ghcr.io", "quay.io"))
        depth = "/".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 2)))
        text = f"{host}/{team}/{depth}/{name}"
    pin = rng.random()
    if pin < 0.75:  # noqa: PLR2004
        return f"{text}:{_tag(rng)}"
    if pin < 0.9:  # noqa: PLR2004
        return f"{text}@{_digest(rng)}"
    return f"{text}:{_tag(rng)}@{_digest(rng)}"


def references(count: int, *, seed: int = 20240611) -> list[str]:
    """``count`` distinct, valid image references of the mixed kinds gateways pull."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    return [_reference(rng, index) for index in range(count)]


def gateway_lookups(containers: int, lookups: int, *, seed: int = 20240612) -> list[str]:
    """A gateway's ``lookups`` reference texts: its ``containers`` images, in a random order.

    A gateway runs a few dozen containers, each named by one reference, of the same mixed kinds
    as :func:`references`; it reads each again at every pull, credential lookup and status
    report. The texts are copies (as read from a configuration or a request each time), never
    the same string object twice in a row.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    images = references(containers, seed=seed)
    return ["".join(list(rng.choice(images))) for _ in range(lookups)]


MALFORMED_REFERENCES: Final = (
    "Team/App:1.0",  # uppercase in the repository
    "team/app:",  # empty tag
    "team//app",  # empty path component
    "team/-app",  # a component starting with a separator
    "team/app_:1",  # ... or ending with one
    "team/a...b",  # three dots
    "team/app:1.0@sha256:abc",  # a digest that is too short
    "team/app@md5:" + "0" * 32,  # an algorithm no engine verifies
    "registry.example.com:port/app",  # a port that is not a number
    "registry..example.com/app",  # an empty host label
    "-registry.example.com/app",  # a host label starting with '-'
    "team/app:.hidden",  # a tag starting with '.'
    "team/app:" + "t" * 129,  # a tag longer than 128 characters
    "team/" + "a" * 260,  # a repository longer than 255 characters
    "team/app name",  # whitespace
    "registry.example.com/Team/app",  # uppercase after a registry
)
"""References Docker refuses, each for its own reason."""


def peer_parse(text: str) -> tuple[str, str, str | None]:
    """What docker-py makes of a reference: (registry, repository, tag or digest).

    The two calls docker-py's ``images.pull`` and ``auth`` code make; neither validates.
    """
    from docker.auth import resolve_repository_name  # noqa: PLC0415 - the peer, on demand
    from docker.utils import parse_repository_tag  # noqa: PLC0415

    repository, tag = parse_repository_tag(text)
    registry, name = resolve_repository_name(repository)
    return registry, name, tag


def docker_config(registries: int, *, seed: int = 7) -> dict[str, object]:
    """A ``config.json`` as ``docker login`` leaves it after logging in to many registries.

    Docker Hub under its legacy URL key, ECR and private registries under bare hosts, some under
    ``https://`` URLs.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    auths: dict[str, dict[str, str]] = {}

    def entry(user: str) -> dict[str, str]:
        password = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(24))
        return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}

    auths["https://index.docker.io/v1/"] = entry("hubuser")
    for index in range(registries):
        host = f"registry{index}.example.com"
        key = f"https://{host}/v2/" if index % 4 == 3 else host  # noqa: PLR2004
        auths[key] = entry(f"user{index}")
    return {"auths": auths}


def write_docker_config(directory: Path, registries: int) -> Path:
    """Write :func:`docker_config` to ``directory/config.json`` (mode 0600); its path."""
    path = directory / "config.json"
    path.write_text(json.dumps(docker_config(registries), indent=1))
    path.chmod(0o600)
    return path


def registries_of(config: dict[str, object]) -> Sequence[str]:
    """The registry hosts a :func:`docker_config` holds credentials for (Docker Hub first)."""
    auths = config["auths"]
    assert isinstance(auths, dict)  # noqa: S101 - our own generator's shape
    hosts = ["docker.io"]
    for key in auths:
        if key.startswith("https://index.docker.io"):
            continue
        hosts.append(key.removeprefix("https://").partition("/")[0])
    return hosts
