"""One version, written once in registry_auth/_version.py and read by the build from there."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import registry_auth
from registry_auth._version import version


def test_the_package_version_is_the_installed_distribution_version():
    assert registry_auth.__version__ == importlib.metadata.version("registry-auth")
    assert version() == registry_auth.__version__
    from registry_auth import __version__

    assert __version__ == registry_auth.__version__
    assert "__version__" in dir(registry_auth)


def test_import_reads_no_metadata_and_loads_neither_docker_nor_boto3():
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import registry_auth\n"
        "assert registry_auth.__version__\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    loaded = json.loads(out)
    assert "registry_auth._version" in loaded  # the check sees what the import brought in
    heavy = {"docker", "boto3", "botocore", "importlib.metadata", "importlib_metadata"}
    assert sorted(name for name in loaded if name in heavy or name.split(".")[0] in heavy) == []
