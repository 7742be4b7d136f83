"""The wheel's native parts, compiled for the machine that builds it.

- ``docker-credential-registry-auth``: the credential helper's native client
  (native/credential_helper.c), which serves the answers the Python helper keeps ready and
  runs ``registry-auth-credential-helper`` for everything else;
- ``registry_auth._speedups``: the reference parser's C fast path (src/registry_auth/_speedups.c).

Both are optional. Where they cannot be compiled (no C compiler, no Python headers), the wheel
holds the Python helper under the same name and the pure-Python parser, and works the same,
slower. ``REGISTRY_AUTH_BUILD_NATIVE`` decides: ``auto`` (the default) compiles what it can,
``1`` fails the build when something does not compile, ``0`` compiles nothing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

HELPER = "docker-credential-registry-auth"
HELPER_SOURCE = "native/credential_helper.c"
PYTHON_HELPER = "native/python_helper.py"  # the same name, where the client is not compiled
SPEEDUPS_SOURCE = "src/registry_auth/_speedups.c"
SWITCH = "REGISTRY_AUTH_BUILD_NATIVE"
WARNINGS = ("-Wall", "-Wextra")


def compiler() -> list[str]:
    """The C compiler command: ``$CC``, else the one Python was built with, else ``cc``."""
    configured = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(str(configured))


def helper_command(source: Path, output: Path) -> list[str]:
    """The command that compiles the credential helper's client."""
    return [*compiler(), "-O2", *WARNINGS, "-o", str(output), str(source)]


def speedups_command(source: Path, output: Path) -> list[str]:
    """The command that compiles the parser's extension module for this interpreter."""
    include = sysconfig.get_paths()["include"]
    flags = ["-O2", "-fPIC", "-shared", *WARNINGS, "-I", include]
    return [*compiler(), *flags, "-o", str(output), str(source)]


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compiles the native parts into the wheel; see the module's docstring."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile what can be, and say where it goes in the wheel."""
        if self.target_name != "wheel":
            return
        mode = os.environ.get(SWITCH, "auto").strip().lower()
        if mode not in {"auto", "0", "1"}:
            message = f"{SWITCH} must be auto, 0 or 1, not {mode!r}"
            raise ValueError(message)
        root = Path(self.root)
        self._scratch = Path(tempfile.mkdtemp(prefix="registry-auth-build-"))
        required = mode == "1"

        helper = self._scratch / HELPER
        command = helper_command(root / HELPER_SOURCE, helper)
        if mode != "0" and self._compile(command, required, "the Python helper takes its name"):
            build_data["shared_scripts"][str(helper)] = HELPER
            native = True
        else:
            build_data["shared_scripts"][str(root / PYTHON_HELPER)] = HELPER
            native = False

        speedups = False
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        if mode != "0" and (root / SPEEDUPS_SOURCE).exists() and suffix:
            name = f"_speedups{suffix}"
            # An editable install runs the package from src/: the module goes there.
            output = (
                root / "src/registry_auth" / name if version == "editable" else self._scratch / name
            )
            command = speedups_command(root / SPEEDUPS_SOURCE, output)
            speedups = self._compile(command, required, "references are parsed in Python")
            if speedups and version != "editable":
                build_data["force_include"][str(output)] = f"registry_auth/{name}"

        if speedups:
            build_data["pure_python"] = False
            build_data["infer_tag"] = True
        elif native:
            build_data["pure_python"] = False
            platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
            build_data["tag"] = f"py3-none-{platform}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the scratch directory the compiled files were written to."""
        del version, build_data, artifact_path
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    def _compile(self, command: list[str], required: bool, fallback: str) -> bool:
        try:
            result = subprocess.run(  # noqa: S603 - the configured compiler, our own sources
                command, cwd=self.root, capture_output=True, text=True, check=False
            )
        except OSError as error:
            output, failed = str(error), True
        else:
            output, failed = result.stdout + result.stderr, result.returncode != 0
        if failed:
            if required:
                shutil.rmtree(self._scratch, ignore_errors=True)  # no finalize() after this
                message = f"{SWITCH}=1 and this did not compile: {shlex.join(command)}\n{output}"
                raise RuntimeError(message)
            self.app.display_warning(
                f"registry-auth: not compiled ({fallback} instead): {shlex.join(command)}"
            )
            return False
        if output.strip():
            self.app.display_warning(output)
        return True
