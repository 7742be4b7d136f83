"""The secret-leak canary can fail a run: pytest runs on small test files, in a subprocess.

Each run gets a secret made here at random, which this run does not know (so what the inner run
leaks on purpose is no leak of this one).
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

from tests import canary

REPOSITORY = Path(__file__).resolve().parents[1]
CONFTEST = (
    "from tests import canary\n\n\ndef pytest_configure(config):\n    canary.install(config)\n"
)


def run_pytest(tmp_path: Path, body: str) -> tuple[int, str, str]:
    """Run pytest on a test file holding ``body`` (which may use ``SECRET``); the secret too."""
    secret = f"{canary.MARK}-inner-{secrets.token_hex(6)}"
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(CONFTEST)
    (project / "test_inner.py").write_text(f"SECRET = {secret!r}\n\n" + textwrap.dedent(body))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'basetemp'}",
            f"--rootdir={project}",
            str(project),
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr, secret


def test_a_secret_in_a_log_record_fails_the_run(tmp_path):
    code, output, secret = run_pytest(
        tmp_path,
        """
        import logging

        def test_logs_it():
            logging.getLogger("some.library").debug("token is %s", SECRET)
        """,
    )
    assert code == 1, output
    assert "1 passed" in output  # the test itself passed: the canary failed the run
    assert "secret-leak canary" in output
    assert "log record of 'some.library' (DEBUG)" in output
    assert "test_inner.py::test_logs_it" in output
    assert secret not in output  # the report masks what it found


def test_a_base64_encoded_secret_in_a_traceback_fails_the_run(tmp_path):
    code, output, secret = run_pytest(
        tmp_path,
        """
        import base64
        import logging

        def test_logs_an_exception():
            auth = base64.b64encode(f"AWS:{SECRET}".encode()).decode()
            try:
                raise RuntimeError(f"bad answer {{'authorizationToken': {auth!r}}}")
            except RuntimeError:
                logging.getLogger("other").exception("refresh failed")
        """,
    )
    assert code == 1, output
    assert "log record of 'other' (ERROR)" in output
    assert base64.b64encode(f"AWS:{secret}".encode()).decode() not in output


def test_a_secret_in_a_file_fails_the_run_unless_it_is_a_private_secret_file(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import base64
        import subprocess

        def test_writes_files(tmp_path):
            # Written by another process (as the CLI would): scanned at the end of the run.
            subprocess.run(["sh", "-c", f'echo "{SECRET}" > "$0"', str(tmp_path / "out.log")], check=True)
            encoded = base64.b64encode(SECRET.encode()).decode()
            for name, mode in [("tokens.json", 0o600), ("shared", 0o644)]:
                directory = tmp_path / name.replace(".", "-")
                directory.mkdir()
                subprocess.run(["sh", "-c", f'echo "{encoded}" > "$0"', str(directory / "tokens.json")], check=True)
                (directory / "tokens.json").chmod(mode)
            # Written by the test itself: an input, as a fixture's config.json is.
            (tmp_path / "input.json").write_text(SECRET)
        """,
    )
    assert code == 1, output
    assert "out.log (mode 0644)" in output
    assert "shared/tokens.json (mode 0644)" in output
    assert "tokens-json/tokens.json" not in output  # 0600 and meant for secrets
    assert "input.json" not in output


def test_a_clean_run_passes(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import logging

        from registry_auth import Secret

        def test_keeps_it(tmp_path, canary_secret):
            logging.getLogger("registry_auth").debug("using %r and %s", Secret(SECRET), Secret(canary_secret))
        """,
    )
    assert code == 0, output
    assert "secret-leak canary" not in output


def test_literals_with_the_mark_are_collected(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text('A = "pw-canary-12345"\nB = "no mark here"\nC = "a canary with spaces"\n')
    assert canary.literals_in(source) == {"pw-canary-12345"}


def test_botocore_debug_logging_does_not_show_ecr_tokens():
    probe = textwrap.dedent(
        """
        import logging, os
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        logging.basicConfig(level=logging.DEBUG)
        from moto import mock_aws
        from registry_auth import EcrProvider, ImageReference
        with mock_aws():
            EcrProvider().get_credentials(
                ImageReference.parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/app")
            )
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    token = base64.b64encode(b"AWS:123456789012-auth-token").decode()
    assert token not in result.stderr


def test_every_encoding_of_a_secret_in_a_log_record_fails_the_run(tmp_path):
    code, output, _ = run_pytest(
        tmp_path,
        """
        import base64
        import json
        import logging
        import urllib.parse

        import pytest

        from tests import canary

        ODD = "p@ss w/rd+canary&" + SECRET[-6:]
        canary.register(ODD)

        def header(secret, offset):
            config = {"username": "u" * offset, "password": secret, "serveraddress": "r.example"}
            return base64.urlsafe_b64encode(json.dumps(config).encode()).decode()

        @pytest.mark.parametrize("offset", [0, 1, 2])
        @pytest.mark.parametrize(
            "encode",
            [
                lambda s, o: header(s, o),
                lambda s, o: base64.b64encode(f"{'u' * o}:{s}".encode()).decode(),
                lambda s, o: base64.urlsafe_b64encode(f"{'u' * o}:{s}?>".encode()).decode(),
                lambda s, o: urllib.parse.quote(s) + "x" * o,
                lambda s, o: urllib.parse.quote_plus(s) + "x" * o,
                lambda s, o: json.dumps(s)[1:-1] + "x" * o,
            ],
            ids=["x-registry-auth", "basic", "urlsafe", "quote", "quote_plus", "json"],
        )
        def test_logs_it(encode, offset):
            logging.getLogger("enc").warning("sent %s", encode(ODD, offset))
        """,
    )
    assert code == 1, output
    assert output.count("log record of 'enc' (WARNING)") == 18, output
    assert "18 passed" in output


def test_a_secret_in_a_chained_traceback_caught_by_pytest_raises_fails_the_run(tmp_path):
    code, output, secret = run_pytest(
        tmp_path,
        """
        import pytest

        from registry_auth import ProviderError, RegistryAuthError

        def test_raises():
            with pytest.raises(ValueError, match="clean"):
                try:
                    raise RegistryAuthError(f"our message with {SECRET}")
                except RegistryAuthError as exc:
                    raise ValueError("clean message") from exc

        def test_third_party_cause():
            with pytest.raises(ProviderError):
                try:
                    raise RuntimeError(f"backend said {SECRET}")
                except RuntimeError as exc:
                    raise ProviderError("clean") from exc
        """,
    )
    assert code == 1, output
    assert "exception caught by pytest.raises: ValueError" in output
    assert "test_third_party_cause" not in output  # a third-party cause: a known limitation
    assert secret not in output


def test_a_secret_in_cli_output_fails_the_run_unless_the_command_asks_for_it(tmp_path):
    code, output, secret = run_pytest(
        tmp_path,
        """
        import subprocess

        def fake_cli(tmp_path):
            exe = tmp_path / "registry-auth"
            exe.write_text(f"#!/bin/sh\\necho {SECRET}\\n[ \\"$1\\" = err ] && echo {SECRET} >&2\\ntrue\\n")
            exe.chmod(0o755)
            return str(exe)

        def test_asked(tmp_path):
            subprocess.run([fake_cli(tmp_path), "resolve", "x", "--show-secret"], capture_output=True)

        def test_shows_it(tmp_path):
            subprocess.run([fake_cli(tmp_path), "resolve", "x"], capture_output=True)

        def test_shows_it_on_stderr(tmp_path):
            subprocess.run([fake_cli(tmp_path), "err", "--show-secret"], capture_output=True)

        def test_prints_it(capsys):
            print(SECRET)
            capsys.readouterr()
        """,
    )
    assert code == 1, output
    assert "stdout of registry-auth during test_inner.py::test_shows_it" in output
    assert "stderr of registry-auth during test_inner.py::test_shows_it_on_stderr" in output
    assert "test_asked" not in output
    assert "stdout read by capsys/capfd during test_inner.py::test_prints_it" in output
    assert secret not in output


def test_forms_of_a_secret():
    forms = canary.forms_of("p@ss w/rd+canary&x")
    assert "p@ss w/rd+canary&x" in forms
    assert "p%40ss%20w/rd%2Bcanary%26x" in forms  # quote
    assert "p%40ss+w%2Frd%2Bcanary%26x" in forms  # quote_plus
    # Six base64 cores (two alphabets, three alignments) of each of the five text forms, at most.
    assert len(forms) <= 5 * 7
    assert len(canary.forms_of("canary-abc123")) == 4  # every text form is the same, one alphabet
