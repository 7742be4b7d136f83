"""Chosen texts near the edges of the reference grammar, which every parser must read alike.

The Python fast path and the C parser are each checked against the full parse on all of them.
"""

from __future__ import annotations

HEX = "0123456789abcdef"
F64 = "f" * 64

CHOSEN_TEXTS = [
    # Docker Hub, spelled every way a reference may spell it.
    "ubuntu",
    "docker.io/ubuntu",
    "index.docker.io/ubuntu",
    "index.docker.io/team/app:1.0",
    "docker.io/library/ubuntu",
    "registry-1.docker.io/ubuntu",
    "Docker.io/ubuntu",
    "docker.io:443/ubuntu",
    "xdocker.io/ubuntu",
    "docker.iox/ubuntu",
    # A first component names a registry with a '.', a ':', an uppercase letter, or as
    # localhost.
    "Team/app",
    "TEAM/app:1",
    "teaM/app",
    "LOCALHOST/app",
    "localhost/app",
    "localhost:5000/app",
    "localhostx/app",
    "localhos/app",
    "localhost",
    "localhost:5000",
    "a:5000/app",
    "a.b/c",
    # IPv6 registries.
    "[::1]/app",
    "[::1]:5000/app:1.0",
    "[FE80::1]:5000/team/app",
    "[]/app",
    "[]:5000/app",
    "[::1]:/app",
    "[::g]/app",
    "[::1/app",
    "[::1]x/app",
    "[abcd]/app",
    "[ABCD]/app",
    # 64 characters without a '/': an image ID when lowercase hexadecimal.
    "a" * 64,
    "A" * 64,
    "g" * 64,
    "a" * 63 + "g",
    "a" * 63,
    "a" * 65,
    "a" * 64 + ":1",
    "a" * 32 + "/" + "a" * 31,
    # The 255-character limit on the path, library/ included.
    "a" * 247,
    "a" * 248,
    "a" * 247 + ":" + "t" * 128,
    "docker.io/" + "a" * 247,
    "docker.io/" + "a" * 248,
    "team/" + "a" * 250,
    "team/" + "a" * 251,
    "registry.example.com/" + "a" * 255,
    "registry.example.com/" + "a" * 256,
    "registry.example.com/" + "a/" * 127 + "a",
    "registry.example.com/" + "a/" * 127 + "ab",
    # The 128-character limit on the tag, and its first character.
    "app:" + "t" * 127,
    "app:" + "t" * 128,
    "app:" + "t" * 129,
    "app:_",
    "app:.1",
    "app:-1",
    "app:",
    "app:1:2",
    "app:1/x",
    "app:V1.0_rc-2",
    # Digests: three algorithms the engine verifies, nothing else.
    f"app@sha256:{F64}",
    f"app:1.0@sha256:{F64}",
    f"app@sha384:{'0a' * 48}",
    f"app@sha512:{'0a' * 64}",
    f"app@sha512:{'0a' * 48}",
    f"app@sha256:{F64.upper()}",
    f"app@sha256:{F64[:-1]}",
    f"app@sha256:{F64}0",
    f"app@sha256:{F64}@sha256:{F64}",
    f"app@md5:{HEX * 2}",
    f"app@sha256+b64:{F64}",
    f"app@SHA256:{F64}",
    f"app@sha255:{F64}",
    "app@sha256",
    "app@sha256:",
    "app@",
    "app@sha",
    f"app@{F64}",
    # Separators at the edges of what is allowed.
    "a__b/c--d/e.f",
    "a___b",
    "a_-b",
    "a/-b",
    "a-/b",
    "a..b",
    "a.-b",
    "a//b",
    "/a",
    "a/",
    "a.b.c/d",
    "x-y.example.com/app",
    "x--y.example.com/app",
    "-x.example.com/app",
    "x-.example.com/app",
    "x.-y.com/app",
    "a..b.com/app",
    ".a.com/app",
    "a.com./app",
    "registry.example.com:/app",
    "registry.example.com:5000:6000/app",
    "registry.example.com:50a0/app",
    "foo_bar.com/app",
    # Characters that are in no reference.
    "",
    " ",
    "app ",
    "app\n",
    "app\x00",
    "te\x00am/app",
    "\x00",
    "https://registry.example.com/app",
    # IPv6 registries.
    "[::1]:5000/app",
    "[::1]/app:1.0",
]


def assemble(registry: str | None, path: str, tag: str | None, digest: str | None) -> str:
    """A reference from its parts, each but the path optional (for generated texts)."""
    return (
        (f"{registry}/" if registry is not None else "")
        + path
        + (f":{tag}" if tag is not None else "")
        + (f"@{digest}" if digest is not None else "")
    )
