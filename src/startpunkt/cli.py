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
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_LEVEL_ENV = "STARTPUNKT_LOG_LEVEL"
# Read when no configuration is named (--config, $STARTPUNKT_CONFIG): the first that exists.
# The original's container read /work/config/application.yaml, where its Deployment mounted a
# ConfigMap; /etc/startpunkt is where this project's manifests mount theirs.
DEFAULT_CONFIG_PATHS = ("/work/config/application.yaml", "/etc/startpunkt/startpunkt.yaml")
DEFAULT_CONFIG_ENV = "STARTPUNKT_DEFAULT_CONFIG"  # replaces that list (os.pathsep-separated)

log = logging.getLogger("startpunkt")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


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
        help=f"Startpunkt YAML configuration (default: ${config.CONFIG_ENV}, else the first of "
        f"{', '.join(DEFAULT_CONFIG_PATHS)} that exists, else built-in)",
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
        "--port", type=_port, default=8080, help="port to listen on (default: %(default)s)"
    )
    serve.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        help="default: $STARTPUNKT_LOG_LEVEL, else quarkus.log.level of the configuration, "
        "else info",
    )

    check = commands.add_parser(
        "check-config",
        help="validate a configuration and print it",
        description="Prints the effective settings as JSON; keys that are accepted but have no "
        "effect are listed on standard error.",
    )
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
    args.config = config_path(args.config)
    try:
        loaded = config.load_all(args.config)
    except config.ConfigError as e:
        return _fail(str(e))
    if args.command == "check-config":
        print(loaded.settings.model_dump_json(indent=2, by_alias=True))
        for line in loaded.ignored:
            print(f"startpunkt: {line}", file=sys.stderr)
        return 0
    return _serve(args, loaded)


def config_path(given: Path | None) -> Path | None:
    """--config, else $STARTPUNKT_CONFIG, else the first default path that exists."""
    if given is not None:
        return given
    if named := os.environ.get(config.CONFIG_ENV):
        return Path(named)
    defaults = os.environ.get(DEFAULT_CONFIG_ENV)
    candidates = defaults.split(os.pathsep) if defaults is not None else DEFAULT_CONFIG_PATHS
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _log_levels(args: argparse.Namespace, loaded: config.Loaded) -> tuple[str, str | None]:
    """(root level, Startpunkt's own level or None): --log-level, $STARTPUNKT_LOG_LEVEL, else
    the original's quarkus.log.level and quarkus.log.category."us.ullberg".level."""
    chosen = args.log_level or os.environ.get(LOG_LEVEL_ENV)
    if chosen:
        return chosen.upper(), None
    return loaded.log_level or "INFO", loaded.app_log_level


def _serve(args: argparse.Namespace, loaded: config.Loaded) -> int:
    # imported here so `--help` and config checks stay fast and need no network stack
    from startpunkt import runtime  # noqa: PLC0415
    from startpunkt.kube.connection import ConnectionConfigError, discover  # noqa: PLC0415

    settings = loaded.settings
    level, own_level = _log_levels(args, loaded)
    if level.lower() not in (*LOG_LEVELS, "critical"):
        return _fail(f"{LOG_LEVEL_ENV}={level.lower()!r}: use one of {', '.join(LOG_LEVELS)}")
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if own_level is not None:
        logging.getLogger("startpunkt").setLevel(own_level)
    log.debug("Logging at %s (other libraries: %s)", own_level or level, level)
    for line in loaded.ignored:
        log.info("Configuration: %s", line)
    # one line per API request would drown the watch lines the guide documents
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.manifests is not None:
        if not args.manifests.is_dir():
            return _fail(f"--manifests {args.manifests}: not a directory")
        options = runtime.Options(
            args.host,
            args.port,
            manifests=args.manifests,
            config_path=args.config,
            substitutions=loaded.substitutions,
        )
    else:
        try:
            connection = discover(args.kubeconfig, args.context)
        except ConnectionConfigError as e:
            if settings.clusters.local.enabled or args.kubeconfig:
                return _fail(str(e))
            # a central page that only follows other clusters needs no cluster of its own
            log.info("No local cluster: showing the configured other clusters only")
            connection = None
        if connection is not None:
            try:
                connection.ssl_context()  # unreadable certificates fail here, with a message
            except (OSError, ValueError) as e:
                return _fail(f"{connection.description}: cannot use its TLS settings ({e})")
        options = runtime.Options(
            args.host,
            args.port,
            connection=connection,
            config_path=args.config,
            substitutions=loaded.substitutions,
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
