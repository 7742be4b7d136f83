"""Container images made in pure Python: no engine, no compiler, the same digests every time.

An :class:`Image` is one gzipped tar layer holding a few small files, an image config and a
Docker schema 2 manifest. An :class:`ImageIndex` is a Docker manifest list over such images,
which is how multi-platform images are published (and, with only a foreign platform in it, how
a platform mismatch is provoked). Timestamps, owners and gzip headers are fixed, so the same
arguments always give the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import platform as _platform
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

import attrs

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "Blob",
    "Image",
    "ImageIndex",
    "Platform",
]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

_EPOCH = "1970-01-01T00:00:00Z"
_DEFAULT_FILES: Mapping[str, str | bytes] = {
    "hello.txt": "hello from the registry-auth test stack\n"
}

# uname -m -> (GOARCH, variant), the names registries and dockerd use.
_ARCHITECTURES = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
}


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@attrs.frozen(kw_only=True)
class Platform:
    """An OS and CPU architecture (and variant), as in a manifest list."""

    os: str = "linux"
    architecture: str
    variant: str | None = None

    @classmethod
    def host(cls) -> Platform:
        """The platform of this machine, which dockerd pulls for by default."""
        architecture, variant = _ARCHITECTURES.get(
            _platform.machine().lower(), (_platform.machine().lower(), None)
        )
        return cls(architecture=architecture, variant=variant)

    @classmethod
    def foreign(cls) -> Platform:
        """A platform this machine is not: linux/s390x, or linux/amd64 on an s390x machine."""
        host = cls.host()
        return cls(architecture="amd64" if host.architecture == "s390x" else "s390x")

    def as_json(self) -> dict[str, str]:
        """The ``platform`` object of a manifest list entry."""
        value = {"architecture": self.architecture, "os": self.os}
        if self.variant is not None:
            value["variant"] = self.variant
        return value

    def __str__(self) -> str:
        parts = [self.os, self.architecture, *([self.variant] if self.variant else [])]
        return "/".join(parts)


@attrs.frozen(kw_only=True)
class Blob:
    """Content a manifest points to by digest: a config or a layer."""

    media_type: str
    data: bytes = attrs.field(repr=False)

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the data."""
        return _digest(self.data)

    @property
    def size(self) -> int:
        """The length of the data in bytes."""
        return len(self.data)

    def descriptor(self) -> dict[str, object]:
        """The descriptor that points to this blob from a manifest."""
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest}


def _layer(files: Mapping[str, str | bytes]) -> tuple[bytes, bytes]:
    """Return (uncompressed tar, gzipped tar) holding *files*."""
    buffer = io.BytesIO()
    entries: dict[str, bytes | None] = {}
    for name, text in files.items():
        path = PurePosixPath(name.lstrip("/"))
        for parent in reversed(path.parents[:-1]):
            entries.setdefault(str(parent), None)
        entries[str(path)] = text.encode() if isinstance(text, str) else text
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            content = entries[name]
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    tar_bytes = buffer.getvalue()
    return tar_bytes, gzip.compress(tar_bytes, compresslevel=9, mtime=0)


@attrs.frozen(kw_only=True)
class Image:
    """A single-platform image: one layer, its config, and a Docker schema 2 manifest.

    Build one with :meth:`build`; push it with
    :meth:`tests.lab.stack.Registry.push`.
    """

    platform: Platform
    config: Blob
    layers: tuple[Blob, ...]
    manifest: bytes = attrs.field(repr=False)
    media_type: str = DOCKER_MANIFEST

    @classmethod
    def build(
        cls,
        *,
        files: Mapping[str, str | bytes] | None = None,
        platform: Platform | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Image:
        """Make an image whose one layer holds *files* (path -> content).

        Different *files* or *labels* give different digests; the same ones, the same digests.
        The image has no executable: it can be pulled and inspected, not run.
        """
        target = platform if platform is not None else Platform.host()
        tar_bytes, gzipped = _layer(files if files is not None else _DEFAULT_FILES)
        layer = Blob(media_type=DOCKER_LAYER, data=gzipped)
        config_json: dict[str, object] = {
            **target.as_json(),
            "config": {
                "Cmd": ["/bin/true"],
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Labels": dict(labels or {}),
            },
            "created": _EPOCH,
            "history": [{"created": _EPOCH, "created_by": "registry-auth testing"}],
            "rootfs": {"type": "layers", "diff_ids": [_digest(tar_bytes)]},
        }
        config = Blob(media_type=DOCKER_CONFIG, data=_canonical_json(config_json))
        manifest = _canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
            }
        )
        return cls(platform=target, config=config, layers=(layer,), manifest=manifest)

    @property
    def digest(self) -> str:
        """The manifest digest: what ``RepoDigests`` shows after a pull."""
        return _digest(self.manifest)

    @property
    def blobs(self) -> tuple[Blob, ...]:
        """The config and the layers, in the order they are pushed."""
        return (self.config, *self.layers)

    def descriptor(self) -> dict[str, object]:
        """The entry that points to this image from a manifest list."""
        return {
            "mediaType": self.media_type,
            "size": len(self.manifest),
            "digest": self.digest,
            "platform": self.platform.as_json(),
        }


@attrs.frozen(kw_only=True)
class ImageIndex:
    """A Docker manifest list over single-platform images."""

    images: tuple[Image, ...]
    manifest: bytes = attrs.field(repr=False)
    media_type: str = DOCKER_MANIFEST_LIST

    @classmethod
    def build(cls, images: Sequence[Image]) -> ImageIndex:
        """Make a manifest list of *images*, in the order given."""
        manifest = _canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST_LIST,
                "manifests": [image.descriptor() for image in images],
            }
        )
        return cls(images=tuple(images), manifest=manifest)

    @classmethod
    def foreign_only(cls) -> ImageIndex:
        """A manifest list whose only image is for :meth:`Platform.foreign`."""
        return cls.build([Image.build(platform=Platform.foreign())])

    @property
    def digest(self) -> str:
        """The manifest list's digest."""
        return _digest(self.manifest)

    @property
    def platforms(self) -> tuple[Platform, ...]:
        """The platforms the list offers."""
        return tuple(image.platform for image in self.images)
