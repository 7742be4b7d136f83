"""Pulls through a real dockerd from a real registry (the local stack; needs root).

The registry is the stack's htpasswd registry over TLS (``127.0.0.1:5443``); dockerd is the
stack's own. Every timed pull downloads for real: the engine forgets every image first
(``LocalStack.forget_images``, not timed).

- orchestrator against raw docker-py: ``ContainerOrchestrator.pull_config`` with the gateway's
  fields, against ``client.api.pull(stream=True, decode=True)`` read to the end plus
  ``client.api.inspect_image`` (what the orchestrator also learns: the image id);
- the second pull under ``if-not-present``: registry requests counted from its access log;
- ten images with one shared resolver, in ten threads, against the same ten one after another.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from benchmarks._harness import Row, interleaved, median
from registry_auth import (
    ContainerOrchestrator,
    CredentialResolver,
    ImageConfig,
    ImageReference,
    StaticPasswordProvider,
)

if TYPE_CHECKING:
    from tests.lab.stack import LocalStack, PushedImage

__all__ = ["run"]

SUITE = "pull"
USER = "alice"


def _timed_pulls(
    stack: LocalStack, contenders: dict[str, Callable[[], object]], runs: int
) -> dict[str, list[float]]:
    """Time each contender ``runs`` times, in turns, the engine emptied before each pull."""
    return interleaved(contenders, runs, before=stack.forget_images)


def _raw_pull(client: Any, pushed: PushedImage, auth: dict[str, str]) -> Callable[[], object]:
    def pull() -> object:
        for _line in client.api.pull(
            pushed.name, tag=pushed.tag, stream=True, decode=True, auth_config=auth
        ):
            pass
        return client.api.inspect_image(pushed.reference)["Id"]

    return pull


def run(*, runs: int = 31, layer_mib: int = 16, images: int = 10, image_mib: int = 4) -> list[Row]:
    """Start the local stack, push the images, and pull them every which way.

    ``runs`` turns for the orchestrator against raw docker-py (a pull varies by 10% from one
    to the next here, so fewer turns leave the median ratio a few percent adrift), half as
    many for the concurrent pulls, whose difference is large.
    """
    from tests.lab.stack import Image, LocalStack  # noqa: PLC0415 - needs root

    rows: list[Row] = []
    with LocalStack() as stack:
        registry = stack.private
        password = registry.password(USER)
        auth = {"username": USER, "password": password}
        big = Image.build(files={"payload.bin": os.urandom(layer_mib * 1024 * 1024)})
        pushed = registry.push(big, "bench/app", "1.0")
        many = stack.push_many(
            [
                (
                    registry,
                    Image.build(files={"payload.bin": os.urandom(image_mib << 20)}),
                    f"bench/app{n}",
                    "1.0",
                )
                for n in range(images)
            ]
        )
        client = stack.docker_client()
        try:
            config = ImageConfig(
                image_name="bench/app",
                image_tag="1.0",
                registry_url=f"https://{registry.host}/",
                username=USER,
                password=password,
            )
            orchestrator = ContainerOrchestrator(client)

            # 1. The orchestrator against raw docker-py, same image, same registry.
            times = _timed_pulls(
                stack,
                {
                    "ours": lambda: orchestrator.pull_config(config, policy="always"),
                    "raw": _raw_pull(client, pushed, auth),
                },
                runs,
            )
            ours, raw = median(times["ours"]), median(times["raw"])
            paired = median([a / b for a, b in zip(times["ours"], times["raw"], strict=True)])
            rows.append(
                Row(
                    suite=SUITE,
                    name=f"pull a {layer_mib} MiB image via the orchestrator",
                    ours=ours * 1000,
                    peer=raw * 1000,
                    unit="ms",
                    peer_name="docker-py api.pull stream + inspect_image",
                    target="<= 1.05x",
                    met=ours <= 1.05 * raw,
                    note=f"the median of the {runs} turns' own ratios: {paired:.3f}x",
                    details={
                        "runs": runs,
                        "paired_ratio": paired,
                        "ours_s": times["ours"],
                        "peer_s": times["raw"],
                    },
                )
            )

            # 2. A second pull under if-not-present asks the registry nothing.
            stack.forget_images()
            first = orchestrator.pull_config(config)
            before = registry.request_count()
            second = orchestrator.pull_config(config)
            requests = registry.request_count() - before
            rows.append(
                Row(
                    suite=SUITE,
                    name="second pull under if-not-present",
                    ours=requests,
                    unit="requests",
                    target="0",
                    met=requests == 0 and first.pulled and not second.pulled,
                    note="registry requests counted from the registry's access log",
                )
            )

            # 3. Ten images through one shared resolver: in threads, then one by one.
            resolver = CredentialResolver(
                [StaticPasswordProvider(registry=registry.host, username=USER, password=password)]
            )
            shared = ContainerOrchestrator(client, resolver)
            refs = [ImageReference.parse(p.reference) for p in many]

            def pull_one(ref: ImageReference) -> object:
                return shared.pull(ref, policy="always")

            def sequential() -> object:
                return [pull_one(ref) for ref in refs]

            def concurrent() -> object:
                with ThreadPoolExecutor(max_workers=len(refs)) as pool:
                    return list(pool.map(pull_one, refs))

            turns = max(1, runs // 2)
            times = _timed_pulls(stack, {"threads": concurrent, "sequential": sequential}, turns)
            threaded, one_by_one = median(times["threads"]), median(times["sequential"])
            rows.append(
                Row(
                    suite=SUITE,
                    name=f"{images} images of {image_mib} MiB, one shared resolver, in threads",
                    ours=threaded * 1000,
                    peer=one_by_one * 1000,
                    unit="ms",
                    peer_name="the same pulls one after another",
                    note=f"speed-up {one_by_one / threaded:.2f}x",
                    details={
                        "runs": turns,
                        "speedup": one_by_one / threaded,
                        "threads_s": times["threads"],
                        "sequential_s": times["sequential"],
                    },
                )
            )
        finally:
            client.close()
    return rows
