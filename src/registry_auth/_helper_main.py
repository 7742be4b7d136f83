"""The ``docker-credential-registry-auth`` executable.

``get`` first looks for a ready answer (:mod:`registry_auth._ready`), importing nothing that
Python has not loaded at start-up; everything else, and ``get`` without a ready answer, goes to
:func:`registry_auth._credential_helper.run`.
"""

from __future__ import annotations

import io
import sys

_INPUT_LIMIT = 64 * 1024  # as the full helper: more is refused there


def _ready_answer(raw: bytes) -> bytes | None:
    if len(raw) > _INPUT_LIMIT:
        return None
    try:
        address = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if not address:
        return None
    from registry_auth._ready import lookup  # noqa: PLC0415 - only for get

    return lookup(address)


def main() -> None:
    """Answer one helper action and exit with its status."""
    argv = sys.argv[1:]
    stdin = sys.stdin.buffer
    keep = False
    if argv == ["get"]:
        raw = stdin.read(_INPUT_LIMIT + 1)
        answer = _ready_answer(raw)
        if answer is not None:
            sys.stdout.buffer.write(answer)
            sys.stdout.flush()
            sys.exit(0)
        stdin, keep = io.BytesIO(raw), True
    from registry_auth._credential_helper import run  # noqa: PLC0415 - the full helper

    sys.exit(run(argv, stdin=stdin, stdout=sys.stdout, keep_answers=keep))
