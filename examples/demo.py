"""registry-auth's main job, end to end, against a local stack it starts itself.

It starts dockerd, four registries (a "Docker Hub" and an "ECR" under their real names, a
registry with htpasswd over TLS, one with token auth) and moto's AWS server, then pulls images
through ``ContainerOrchestrator`` exactly as a gateway fills its per-container fields. For each
pull it prints the image, the provider that supplied credentials, the outcome and the time.

Run it as root on Debian with ``scripts/demo`` (which installs what it needs). The stack comes
from the repository's test lab (``tests/lab``), so the script runs from a checkout. No secret is
printed: the demo's passwords are masked like any other.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from registry_auth import (
    ContainerOrchestrator,
    EcrProvider,
    ImageConfig,
    PullResult,
    RegistryAuthError,
)

# The local stack is this repository's test lab (tests/lab), which is not installed with
# registry-auth: import it from the repository this script belongs to, wherever it runs from.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.lab.stack import ECR_REGION, LocalStack


def _twelve_hour_tokens(parsed: dict[str, Any], **_: Any) -> None:
    # moto dates every token 2015-01-01; real ECR tokens live 12 hours.
    for entry in parsed.get("authorizationData", []):
        entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)


def _moto_password(session: boto3.session.Session, endpoint_url: str) -> str:
    """What ``aws ecr get-login-password`` prints, from moto."""
    import base64  # noqa: PLC0415 - only this step needs it

    ecr = session.client("ecr", endpoint_url=endpoint_url)
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(token).decode().partition(":")[2]


def _row(label: str, image: str, action: Callable[[], PullResult]) -> bool:
    started = time.perf_counter()
    try:
        result = action()
    except RegistryAuthError as exc:
        elapsed = time.perf_counter() - started
        print(f"{label:<34} {image:<58} {'-':<9} {type(exc).__name__}: {exc}  [{elapsed:.2f} s]")
        return False
    elapsed = time.perf_counter() - started
    outcome = "pulled" if result.pulled else "present"
    digest = (result.digest or "?")[:19]
    # An image already present needed no registry, hence no credentials: "-".
    provider = (result.provider or "anonymous") if result.pulled else "-"
    print(f"{label:<34} {image:<58} {provider:<9} {outcome} {digest}  [{elapsed:.2f} s]")
    return True


def main() -> int:
    """Start the stack, run the gateway's flows, stop everything; 0 if all went as expected."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # moto accepts any AWS key; these are placeholders, not secrets.
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo")  # noqa: S106
    os.environ.pop("AWS_PROFILE", None)
    print("starting the local stack (dockerd, registries, moto) ...")
    with LocalStack(moto=True) as stack:
        samples = stack.publish_samples()
        print(f"stack ready in {stack.startup_seconds:.2f} s; images pushed\n")
        client = stack.docker_client()
        session = boto3.session.Session(region_name=ECR_REGION)
        session.events.register("after-call.ecr.GetAuthorizationToken", _twelve_hour_tokens)
        ecr_provider = EcrProvider(session=session, endpoint_url=stack.moto_endpoint_url)
        gateway = ContainerOrchestrator(client)
        automatic = ContainerOrchestrator(client, [ecr_provider])
        ecr_url = f"{stack.ecr.host}/team/"
        flows: list[tuple[str, ImageConfig, ContainerOrchestrator, bool]] = [
            (
                "Docker Hub, private repository",
                ImageConfig(
                    image_name="hubuser/hello",
                    image_tag="v1",
                    registry_url="",
                    username="hubuser",
                    password=stack.hub.password("hubuser"),
                ),
                gateway,
                True,
            ),
            (
                "ECR, token pasted by a person",
                ImageConfig(
                    image_name=samples.ecr.name,
                    image_tag="1.0",
                    registry_url=ecr_url,
                    username="AWS",
                    password=_moto_password(session, stack.moto_endpoint_url),
                ),
                gateway,
                True,
            ),
            (
                "ECR, tokens fetched automatically",
                ImageConfig(image_name=samples.ecr.name, image_tag="1.0", registry_url=ecr_url),
                automatic,
                True,
            ),
            (
                "any registry, htpasswd over TLS",
                ImageConfig(
                    image_name="team/app",
                    image_tag="1.0",
                    registry_url=f"https://{stack.private.host}/",
                    username="alice",
                    password=stack.private.password("alice"),
                ),
                gateway,
                True,
            ),
            (
                "any registry, token auth",
                ImageConfig(
                    image_name="team/app",
                    image_tag="1.0",
                    registry_url=stack.token.host,
                    username="bob",
                    password=stack.token.password("bob"),
                ),
                gateway,
                True,
            ),
            (
                "wrong password (says so, no retry)",
                ImageConfig(
                    image_name="team/app",
                    image_tag="1.0",
                    registry_url=stack.private.host,
                    username="alice",
                    password="not-the-password",  # noqa: S106 - wrong on purpose
                ),
                gateway,
                False,
            ),
        ]
        print(f"{'flow':<34} {'image':<58} {'provider':<9} outcome")
        surprises = 0
        for label, config, orchestrator, should_pull in flows:
            ok = _row(
                label,
                str(config.reference),
                functools.partial(orchestrator.pull_config, config, policy="always"),
            )
            surprises += ok is not should_pull
        before = stack.private.request_count()
        again = ImageConfig(
            image_name="team/app",
            image_tag="1.0",
            registry_url=stack.private.host,
            username="alice",
            password=stack.private.password("alice"),
        )
        _row(
            "again, if-not-present",
            str(again.reference),
            functools.partial(gateway.pull_config, again, policy="if-not-present"),
        )
        requests = stack.private.request_count() - before
        print(f"\nregistry requests made by the if-not-present pull: {requests}")
        surprises += requests != 0
        client.close()
    print("stack stopped; nothing left running")
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
