"""`startpunkt serve ...`: parse arguments, configure logging, validate, then run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from startpunkt import __version__, config

EXIT_USAGE = 2

log = logging.getLogger("startpunkt")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="startpunkt",
        description="A Kubernetes-native start page that follows the cluster in real time.",
    )
    parser.add_argument("--version", action="version", version=f"startpunkt {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the start page",
        description="Serve the start page from a cluster (kubeconfig or in-cluster service "
        "account) or, with --manifests, from a directory of YAML manifests.",
    )
    serve.add_argument(
        "--config",
        type=Path,
        help=f"Startpunkt YAML configuration (default: ${config.CONFIG_ENV}, else built-in)",
    )
    serve.add_argument(
        "--manifests",
        type=Path,
        metavar="DIR",
        help="read Kubernetes manifests from DIR instead of a cluster, following edits",
    )
    serve.add_argument(
        "--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    serve.add_argument("--context", help="kubeconfig context (default: its current-context)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--log-level",
        default=os.environ.get("STARTPUNKT_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="default: %(default)s",
    )

    check = commands.add_parser("check-config", help="validate a configuration and print it")
    check.add_argument("--config", type=Path)
    return parser


def _fail(message: str) -> int:
    print(f"startpunkt: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        settings = config.load(args.config)
    except config.ConfigError as e:
        return _fail(str(e))
    if args.command == "check-config":
        print(settings.model_dump_json(indent=2, by_alias=True))
        return 0
    return _serve(args, settings)


def _serve(args: argparse.Namespace, settings: config.Settings) -> int:
    # imported here so `--help` and config checks stay fast and need no network stack
    from startpunkt import runtime  # noqa: PLC0415
    from startpunkt.kube.connection import ConnectionConfigError, discover  # noqa: PLC0415

    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # one line per API request would drown the watch lines the guide documents
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config_path = args.config or (Path(p) if (p := os.environ.get(config.CONFIG_ENV)) else None)
    if args.manifests is not None:
        if not args.manifests.is_dir():
            return _fail(f"--manifests {args.manifests}: not a directory")
        options = runtime.Options(
            args.host, args.port, manifests=args.manifests, config_path=config_path
        )
    else:
        try:
            connection = discover(args.kubeconfig, args.context)
        except ConnectionConfigError as e:
            return _fail(str(e))
        options = runtime.Options(
            args.host, args.port, connection=connection, config_path=config_path
        )
    try:
        sock = runtime.bind(args.host, args.port)
    except OSError as e:
        return _fail(f"cannot listen on {args.host}:{args.port}: {e.strerror}; choose --port")
    try:
        operator_sock = runtime.bind_operator(settings, args.host)
    except OSError as e:
        port = settings.access.operator_port
        return _fail(
            f"cannot listen on {args.host}:{port} (startpunkt.access.operatorPort): {e.strerror}"
        )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn already shut down cleanly
        asyncio.run(runtime.serve(settings, options, sock, operator_sock))
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
