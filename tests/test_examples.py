"""The examples that need no engine run as part of the unit tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_resolve_demo_runs_and_masks_passwords():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "resolve_demo.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "docker.io/hubuser/hello:v1" in result.stdout
    assert "provider dockerhub" in result.stdout
    assert "demo-hub-password" not in result.stdout
    assert "demo-ecr-token" not in result.stdout
