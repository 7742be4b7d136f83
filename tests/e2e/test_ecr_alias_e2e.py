"""An ECR registry pulled under another name (a private DNS alias), with a token from moto."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from registry_auth import CredentialResolver, ImageReference
from registry_auth._orchestrator import ContainerOrchestrator
from registry_auth._resolver import Route
from registry_auth.matching import RegistryPattern
from registry_auth.providers.ecr import EcrProvider, parse_ecr_host

pytestmark = pytest.mark.e2e

# The lab's second name for its ECR-named registry (ECR_ALIAS in the lab's stack module).
ECR_ALIAS = "ecr.internal.example.com"


def test_pull_through_an_alias_of_the_ecr_registry(
    local_stack: Any,
    sample_images: Any,
    docker_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecr = parse_ecr_host(ImageReference.parse(sample_images.ecr.reference).registry)
    assert ecr is not None
    assert ecr.registry_id is not None
    assert ecr.region is not None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session(region_name="eu-west-1")  # not the registry's region
    calls: list[tuple[str, dict[str, Any]]] = []
    session.events.register(
        "before-parameter-build.ecr.GetAuthorizationToken",
        lambda **kwargs: calls.append(("params", dict(kwargs["params"]))),
    )
    session.events.register(
        "before-send.ecr.GetAuthorizationToken",
        lambda request, **_: calls.append(
            ("signed", {"auth": str(request.headers["Authorization"])})
        ),
    )

    def twelve_hours(parsed: dict[str, Any], **_: Any) -> None:
        # moto dates every token 2015-01-01; a real one lives 12 hours.
        for entry in parsed.get("authorizationData", []):
            entry["expiresAt"] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=12)

    session.events.register("after-call.ecr.GetAuthorizationToken", twelve_hours)
    provider = EcrProvider(
        session=session,
        endpoint_url=local_stack.moto_endpoint_url,
        registry=ECR_ALIAS,
        registry_id=ecr.registry_id,
        region=ecr.region,
    )
    resolver = CredentialResolver(
        [Route(pattern=RegistryPattern.parse(ECR_ALIAS), provider=provider)]
    )
    reference = f"{ECR_ALIAS}/team/app:1.0"
    with ContainerOrchestrator(docker_client, resolver) as orchestrator:
        result = orchestrator.pull(reference, policy="always")
    assert result.provider == "ecr"
    assert result.digest == sample_images.ecr.digest
    assert docker_client.images.get(reference).id == result.image_id
    assert calls[0] == ("params", {"registryIds": [ecr.registry_id]})
    assert f"/{ecr.region}/ecr/aws4_request" in calls[1][1]["auth"]
