"""`inkweave serve` and `inkweave worker`."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from .logs import configure_logging
from .settings import Settings

log = logging.getLogger("inkweave")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from .app import create_app

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    log.info("listening", extra={"url": f"http://{args.host}:{args.port}"})
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        # Above our own limit, so that an oversized frame gets our close reason.
        ws_max_size=settings.max_message_bytes * 2 + (1 << 20),
        ws_per_message_deflate=settings.ws_per_message_deflate,
    )


def worker(args: argparse.Namespace) -> None:
    from jobs.compaction import run_forever
    from storage.docs.sql import SQLDocStore

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        store = SQLDocStore(settings.resolved_docs_url())
        await store.start()
        try:
            await run_forever(
                store,
                min_updates=settings.compact_after_updates,
                min_bytes=settings.compact_after_bytes,
                interval_s=args.interval,
            )
        finally:
            await store.close()

    log.info("worker started: periodic compaction")
    asyncio.run(main())


def migrate(args: argparse.Namespace) -> None:
    from storage.sql.database import migrate_blocking

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate_blocking(settings.resolved_database_url())
    log.info("database schema is up to date")


def reproject(args: argparse.Namespace) -> None:
    """Rebuild every chapter's text, 字数 and search index from the document store."""
    from .app_parts import build_components
    from .projection import Projector

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> int:
        parts = build_components(settings)
        if settings.should_migrate():
            await parts.database.migrate()
        await parts.store.start()
        try:
            return await Projector(parts).rebuild_all()
        finally:
            await parts.store.close()
            await parts.database.close()

    done = asyncio.run(main())
    log.info("projection rebuilt", extra={"chapters": done})
    print(f"rebuilt {done} chapters")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkweave", description="Inkweave backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the HTTP + WebSocket server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--data-dir", type=Path, default=None)
    serve_cmd.set_defaults(run=serve)

    worker_cmd = commands.add_parser("worker", help="run background jobs")
    worker_cmd.add_argument("--data-dir", type=Path, default=None)
    worker_cmd.add_argument("--interval", type=float, default=60.0, help="seconds between passes")
    worker_cmd.set_defaults(run=worker)

    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.add_argument("--data-dir", type=Path, default=None)
    migrate_cmd.set_defaults(run=migrate)

    reproject_cmd = commands.add_parser(
        "reproject", help="rebuild chapters' text, word counts and search index from documents"
    )
    reproject_cmd.add_argument("--data-dir", type=Path, default=None)
    reproject_cmd.set_defaults(run=reproject)

    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)
