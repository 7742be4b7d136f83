"""The README's first command runs examples/demo.py: it must work, and say what it did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).parents[2] / "examples" / "demo.py"


def test_demo_pulls_every_flow_and_cleans_up():
    result = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for flow in (
        "Docker Hub, private repository",
        "ECR, token pasted by a person",
        "ECR, tokens fetched automatically",
        "any registry, htpasswd over TLS",
        "any registry, token auth",
    ):
        line = next(line for line in out.splitlines() if line.startswith(flow))
        assert " pulled sha256:" in line, line
    assert "AuthenticationError" in out
    assert "registry requests made by the if-not-present pull: 0" in out
    # The demo's passwords are the stack's defaults; none of them is ever printed.
    for secret in ("hubuser-password", "alice-password", "bob-password", "auth-token"):
        assert secret not in out + result.stderr
