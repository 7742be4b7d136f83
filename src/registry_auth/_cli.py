"""The ``registry-auth`` command.

Exit codes:

- 0: success;
- 1: nothing found (``resolve`` found no credentials);
- 2: bad usage or invalid input (an invalid image reference);
- 3: configuration or provider error;
- 4: any other registry-auth error.

Errors print as one line on stderr; ``--debug`` adds the traceback and debug logging.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from typing import TYPE_CHECKING, Any, TextIO

from registry_auth._config import load_resolver
from registry_auth._discovery import available_providers
from registry_auth._errors import (
    ConfigurationError,
    InvalidReferenceError,
    ProtocolError,
    ProviderError,
    ProviderLoadError,
    RegistryAuthError,
)
from registry_auth._reference import ImageReference

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_ERROR = 4


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2, sort_keys=True)
    out.write("\n")


def _cmd_parse(args: argparse.Namespace, out: TextIO) -> int:
    ref = ImageReference.from_fields(args.image, args.tag, args.registry_url)
    data = {
        "reference": str(ref),
        "familiar": ref.familiar,
        "registry": ref.registry,
        "repository": ref.repository,
        "tag": ref.tag,
        "digest": ref.digest,
    }
    if args.json:
        _print_json(data, out)
    else:
        width = max(map(len, data))
        for key, value in data.items():
            out.write(f"{key:<{width}}  {'-' if value is None else value}\n")
    return EXIT_OK


def _cmd_resolve(args: argparse.Namespace, out: TextIO) -> int:
    ref = ImageReference.from_fields(args.image, args.tag, args.registry_url)
    resolver = load_resolver(args.config)
    credentials = resolver.resolve(ref)
    if credentials is None:
        if args.json:
            _print_json({"reference": str(ref), "registry": ref.registry, "found": False}, out)
        else:
            out.write(f"no credentials for {ref.registry} (reference {ref})\n")
        return EXIT_NOT_FOUND
    secret = credentials.password.reveal() if args.show_secret else str(credentials.password)
    data = {
        "reference": str(ref),
        "registry": credentials.registry,
        "server_address": credentials.server_address,
        "provider": credentials.provider,
        "username": credentials.username,
        "password": secret,
        "expires_at": credentials.expires_at.isoformat() if credentials.expires_at else None,
        "found": True,
    }
    if args.json:
        _print_json(data, out)
    else:
        for key in ("reference", "registry", "provider", "username", "password", "expires_at"):
            value = data[key]
            out.write(f"{key:<10}  {'-' if value is None else value}\n")
    return EXIT_OK


def _cmd_providers(args: argparse.Namespace, out: TextIO) -> int:
    infos = available_providers(include_blocked=True)
    rows = [
        {
            "name": info.name,
            "value": info.value,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "error": info.error,
        }
        for info in infos
    ]
    if args.json:
        _print_json(rows, out)
        return EXIT_OK
    for row in rows:
        origin = f"{row['distribution'] or '?'} {row['version'] or ''}".rstrip()
        status = f"FAILED: {row['error']}" if row["error"] else "ok"
        out.write(f"{row['name']:<16} {origin:<28} {status}\n")
    return EXIT_OK


def _cmd_kubelet_plugin(args: argparse.Namespace, out: TextIO) -> int:
    from registry_auth._kubelet import handle_request  # noqa: PLC0415 - only this command

    raw = sys.stdin.buffer.read(64 * 1024 + 1)
    response = handle_request(raw, load_resolver(args.config))
    json.dump(response, out)
    out.write("\n")
    return EXIT_OK


def _add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="image reference or image name (docker pull syntax)")
    parser.add_argument("--tag", help="image tag, when the name carries none")
    parser.add_argument(
        "--registry-url",
        help="authentication registry URL: blank for Docker Hub, or host[:port][/dir/]",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="registry-auth",
        description="Resolve registry credentials and pull images from private registries.",
    )
    parser.add_argument("--config", help="configuration file (default: the search order)")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_parse = sub.add_parser("parse", help="show how an image reference is read")
    _add_image_arguments(p_parse)
    p_parse.add_argument("--json", action="store_true", help="machine-readable output")
    p_parse.set_defaults(func=_cmd_parse)

    p_resolve = sub.add_parser("resolve", help="show which provider answers for an image")
    _add_image_arguments(p_resolve)
    p_resolve.add_argument("--json", action="store_true", help="machine-readable output")
    p_resolve.add_argument(
        "--show-secret", action="store_true", help="print the password instead of masking it"
    )
    p_resolve.set_defaults(func=_cmd_resolve)

    p_providers = sub.add_parser("providers", help="list installed credential providers")
    p_providers.add_argument("--json", action="store_true", help="machine-readable output")
    p_providers.set_defaults(func=_cmd_providers)

    p_kubelet = sub.add_parser(
        "kubelet-plugin",
        help="answer a kubelet CredentialProviderRequest on stdin (exec plugin protocol v1)",
    )
    p_kubelet.set_defaults(func=_cmd_kubelet_plugin)
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout = out if out is not None else sys.stdout
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.func(args, stdout)
    except RegistryAuthError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"registry-auth: error: {exc.message}\n")
        if isinstance(exc, (InvalidReferenceError, ProtocolError)):
            return EXIT_USAGE
        if isinstance(exc, (ConfigurationError, ProviderLoadError, ProviderError)):
            return EXIT_CONFIG
        return EXIT_ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
