"""hatch_build.py: the wheel with its native parts, and without them where nothing compiles."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import hatch_build
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "registry_auth-{version}.data/scripts/docker-credential-registry-auth"


def build(tmp_path, **variables):
    env = {k: v for k, v in os.environ.items() if k not in {"CC", hatch_build.SWITCH}}
    env.update(variables)
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    wheels = sorted(out.glob("*.whl")) if out.exists() else []
    return result, wheels


def contents(wheel):
    with zipfile.ZipFile(wheel) as archive:
        version = wheel.name.split("-")[1]
        names = archive.namelist()
        script = archive.read(SCRIPT.format(version=version))
        wheel_file = archive.read(f"registry_auth-{version}.dist-info/WHEEL").decode()
    return names, script, wheel_file


def test_a_wheel_built_with_a_compiler_holds_the_native_parts(tmp_path):
    result, wheels = build(tmp_path, **{hatch_build.SWITCH: "1"})
    assert result.returncode == 0, result.stderr
    [wheel] = wheels
    names, script, wheel_file = contents(wheel)
    assert script[:4] == b"\x7fELF"
    assert "Root-Is-Purelib: false" in wheel_file
    assert not wheel.name.endswith("-any.whl")
    assert not [name for name in names if name.endswith(".c")]
    if (ROOT / hatch_build.SPEEDUPS_SOURCE).exists():
        assert [name for name in names if name.startswith("registry_auth/_speedups.")]


@pytest.mark.parametrize("variables", [{"CC": "false"}, {hatch_build.SWITCH: "0"}])
def test_without_a_compiler_the_wheel_is_pure_python_and_still_has_the_helper(tmp_path, variables):
    result, wheels = build(tmp_path, **variables)
    assert result.returncode == 0, result.stderr
    [wheel] = wheels
    assert wheel.name.endswith("-py3-none-any.whl")
    names, script, wheel_file = contents(wheel)
    assert "Root-Is-Purelib: true" in wheel_file
    assert not [name for name in names if name.endswith(".so")]
    # The installer points "#!python" at the environment's interpreter.
    assert script.startswith(b"#!python\n")
    helper = tmp_path / "helper"
    helper.write_bytes(script)
    ran = subprocess.run(
        [sys.executable, str(helper), "version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("docker-credential-registry-auth (registry-auth) ")


def test_a_required_native_build_fails_when_nothing_compiles(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result, wheels = build(tmp_path, CC="false", TMPDIR=str(scratch), **{hatch_build.SWITCH: "1"})
    assert result.returncode != 0
    assert wheels == []
    assert f"{hatch_build.SWITCH}=1 and this did not compile" in result.stderr
    assert not list(scratch.glob("registry-auth-build-*"))  # its scratch directory is gone


def test_an_unknown_setting_is_refused(tmp_path):
    result, wheels = build(tmp_path, **{hatch_build.SWITCH: "yes"})
    assert result.returncode != 0
    assert wheels == []
    assert f"{hatch_build.SWITCH} must be auto, 0 or 1, not 'yes'" in result.stderr
