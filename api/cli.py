"""`inkweave serve`, `worker`, `export`, `migrate`, `reproject`, `backup`, `restore` and
`rotate-keys`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
from ipaddress import ip_address
from pathlib import Path

from jobs.memory import limit_heaps

from .gc_tuning import built_uncollected, collect_for_serving
from .logs import configure_logging
from .settings import Settings

log = logging.getLogger("inkweave")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def _reachable(host: str) -> str:
    """Where a client on this machine reaches a server listening on `host`."""
    try:
        everywhere = ip_address(host).is_unspecified  # 0.0.0.0 or ::
    except ValueError:  # a name, or "" (every interface)
        everywhere = not host
    return "127.0.0.1" if everywhere else host


def _limit_heaps(settings: Settings) -> None:
    """`INKWEAVE_MALLOC_HEAPS`, unless the operator chose through glibc's own settings."""
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "MALLOC_ARENA_MAX" in os.environ or "malloc.arena_max" in tunables:
        return
    if limit_heaps(settings.malloc_heaps):
        log.debug("glibc heaps limited", extra={"heaps": settings.malloc_heaps})


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    workers = args.workers if args.workers is not None else settings.workers
    workers = workers or os.cpu_count() or 1
    config = uvicorn.Config(
        "api.app:create_app",
        host=args.host,
        port=args.port,
        log_config=None,
        # Above our own limit, so that an oversized frame gets our close reason.
        ws_max_size=settings.max_message_bytes * 2 + (1 << 20),
        ws_per_message_deflate=settings.ws_per_message_deflate,
        # The app decides who the client is (INKWEAVE_TRUSTED_PROXIES, api/client_address.py);
        # uvicorn's own handling would believe X-Forwarded-For from any local peer.
        proxy_headers=False,
        # On SIGTERM sockets are closed (1012) at once and their updates stored; a request
        # still open after this (a stalled upload, a long model call) is cancelled, so that the
        # rooms are flushed and the jobs handed back before the orchestrator's SIGKILL.
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )
    if args.fd is None and workers > 1:
        from .supervisor import supervise

        log.info("listening", extra={"url": f"http://{args.host}:{args.port}"})
        supervise(settings, config.bind_socket(), args.host, args.port, workers)
        return

    _limit_heaps(settings)  # before the app starts its threads
    with built_uncollected():
        from .app import create_app

        reachable = _reachable(args.host)
        config.app = create_app(
            settings, sync_url=f"ws://{reachable}:{args.port}/sync", on_started=collect_for_serving
        )
    if args.fd is None:
        log.info("listening", extra={"url": f"http://{args.host}:{args.port}"})
    # A worker of `--workers N` accepts on the socket its supervisor bound (`--fd`).
    sockets = None if args.fd is None else [socket.socket(fileno=args.fd)]
    uvicorn.Server(config).run(sockets=sockets)


def worker(args: argparse.Namespace) -> None:
    """Run the job actors (tasks from Redis/RabbitMQ) and the periodic jobs, compaction included."""
    from .cli_jobs import run_worker

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _limit_heaps(settings)
    asyncio.run(run_worker(settings, compaction_interval_s=args.interval))


def export(args: argparse.Namespace) -> None:
    """Export one work to a file here, with a progress bar (no server or broker needed)."""
    from jobs.exports import ExportError

    from .cli_jobs import run_export

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    options = {
        "include_cover": not args.no_cover,
        "include_toc": not args.no_toc,
        "font_size": args.font_size,
    }
    chapters = [int(part) for part in args.chapters.split(",")] if args.chapters else None
    try:
        path = asyncio.run(
            run_export(settings, args.work_id, args.format, args.out, options, chapters)
        )
    except ExportError as exc:
        raise SystemExit(f"inkweave export: {exc}") from None
    print(path)


def migrate(args: argparse.Namespace) -> None:
    from storage.sql.database import migrate_blocking

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.check:
        from storage.sql.engine import DriverTimeouts

        from .schema_check import wait_for_head

        timeouts = DriverTimeouts(
            settings.database_connect_timeout_s, settings.database_read_timeout_s
        )
        url = settings.resolved_database_url()
        at_head = wait_for_head(url, wait_s=args.wait, timeouts=timeouts)
        raise SystemExit(0 if at_head else 1)
    migrate_blocking(settings.resolved_database_url())
    log.info("database schema is up to date")


def reproject(args: argparse.Namespace) -> None:
    """Rebuild every chapter's text, 字数 and search index from the document store."""
    from .adapters import build_adapters
    from .jobs_setup import build_job_system

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)

    async def main() -> int:
        adapters = build_adapters(settings, runner=build_job_system(settings).runner)
        if settings.should_migrate():
            await adapters.database.migrate()
        await adapters.store.start()
        try:
            return await adapters.projection.rebuild_all()
        finally:
            await adapters.store.close()
            await adapters.database.close()

    done = asyncio.run(main())
    log.info("projection rebuilt", extra={"chapters": done})
    print(f"rebuilt {done} chapters")


def backup(args: argparse.Namespace) -> None:
    """Write every store's data to one engine-independent archive (`storage.backup`)."""
    from .cli_backup import describe, run_backup

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    summary = asyncio.run(run_backup(settings, args.out, blob_files=not args.blob_manifest_only))
    print(f"{args.out}: {describe(summary)}")


def restore(args: argparse.Namespace) -> None:
    """Load an archive of `inkweave backup` into the (empty) stores the settings point at."""
    from storage.backup.archive import ArchiveError
    from storage.backup.run import TargetNotEmpty
    from storage.backup.tables import SchemaMismatch

    from .cli_backup import describe, run_restore

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        summary = asyncio.run(run_restore(settings, args.archive))
    except (ArchiveError, TargetNotEmpty, SchemaMismatch) as exc:
        raise SystemExit(f"inkweave restore: {exc}") from None
    print(f"restored {describe(summary)}")


def set_level(args: argparse.Namespace) -> None:
    """Give an account a member level, e.g. the first admin (admins manage the rest over REST)."""
    from sqlalchemy import or_, select

    from storage.crypto.lookup import matches
    from storage.sql.database import Database
    from storage.sql.models import User

    from .field_keys import install_keyring
    from .quotas import LEVELS

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    if args.level not in LEVELS:
        raise SystemExit(f"inkweave set-level: level must be one of {', '.join(LEVELS)}")
    install_keyring(settings)  # the account's email is encrypted

    async def main() -> str | None:
        database = Database(settings.resolved_database_url())
        try:
            if settings.should_migrate():
                await database.migrate()
            async with database.session() as session:
                user = await session.scalar(
                    select(User).where(
                        or_(User.username == args.user, matches(User.email, args.user))
                    )
                )
                if user is None:
                    return None
                user.member_level = args.level
                if args.level in ("free", "admin"):
                    user.member_expire_at = None
                return user.username
        finally:
            await database.close()

    name = asyncio.run(main())
    if name is None:
        raise SystemExit(f"inkweave set-level: no account with username or email {args.user!r}")
    print(f"{name} is now {args.level}")


def rotate_keys(args: argparse.Namespace) -> None:
    """Re-encrypt the encrypted columns under the newest of INKWEAVE_FIELD_KEYS (plaintext rows
    written before a column was encrypted included), a batch at a time, with progress."""
    from tqdm import tqdm

    from storage.crypto.rotation import rotate
    from storage.sql.database import Database

    from .field_keys import install_keyring

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    keyring = install_keyring(settings)

    async def main() -> dict[str, int]:
        database = Database(settings.resolved_database_url())
        try:
            if settings.should_migrate():
                await database.migrate()
            with tqdm(unit=" values", desc=f"to key {keyring.current_id}") as bar:
                return await rotate(database, keyring, lambda _column, n: bar.update(n))
        finally:
            await database.close()

    changed = asyncio.run(main())
    for column, count in changed.items():
        print(f"{column}: {count} re-encrypted")
    print(f"every encrypted value is under key {keyring.current_id}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkweave", description="Inkweave backend")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the HTTP + WebSocket server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--data-dir", type=Path, default=None)
    serve_cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes on this port (default: INKWEAVE_WORKERS; 0: one per CPU core)",
    )
    serve_cmd.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)
    serve_cmd.set_defaults(run=serve)

    worker_cmd = commands.add_parser("worker", help="run background jobs")
    worker_cmd.add_argument("--data-dir", type=Path, default=None)
    worker_cmd.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between compaction passes (default: INKWEAVE_COMPACTION_INTERVAL_S)",
    )
    worker_cmd.set_defaults(run=worker)

    export_cmd = commands.add_parser("export", help="export a work to a file, with progress")
    export_cmd.add_argument("work_id", type=int)
    export_cmd.add_argument(
        "--format", required=True, choices=["txt", "word", "pdf", "fountain"], dest="format"
    )
    export_cmd.add_argument("--out", type=Path, default=None, help="file or folder to write")
    export_cmd.add_argument("--font-size", type=float, default=12)
    export_cmd.add_argument("--no-cover", action="store_true")
    export_cmd.add_argument("--no-toc", action="store_true")
    export_cmd.add_argument("--chapters", default=None, help="comma-separated chapter ids")
    export_cmd.add_argument("--data-dir", type=Path, default=None)
    export_cmd.set_defaults(run=export)

    rotate_cmd = commands.add_parser(
        "rotate-keys", help="re-encrypt the encrypted columns under the newest field key"
    )
    rotate_cmd.add_argument("--data-dir", type=Path, default=None)
    rotate_cmd.set_defaults(run=rotate_keys)

    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.add_argument(
        "--check",
        action="store_true",
        help="migrate nothing: exit 0 if the schema is at the newest migration, else 1",
    )
    migrate_cmd.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="with --check: look again every 2 s until it is, for up to SECONDS",
    )
    migrate_cmd.add_argument("--data-dir", type=Path, default=None)
    migrate_cmd.set_defaults(run=migrate)

    reproject_cmd = commands.add_parser(
        "reproject", help="rebuild chapters' text, word counts and search index from documents"
    )
    reproject_cmd.add_argument("--data-dir", type=Path, default=None)
    reproject_cmd.set_defaults(run=reproject)

    backup_cmd = commands.add_parser(
        "backup", help="write all data to one archive, whatever the engines (with progress)"
    )
    backup_cmd.add_argument("--out", type=Path, required=True, help="archive file to write")
    backup_cmd.add_argument(
        "--blob-manifest-only",
        action="store_true",
        help="list the blobs (key, size, SHA-256) without their bytes, for a bucket copied apart",
    )
    backup_cmd.add_argument("--data-dir", type=Path, default=None)
    backup_cmd.set_defaults(run=backup)

    restore_cmd = commands.add_parser(
        "restore", help="load an archive of `inkweave backup` into empty stores"
    )
    restore_cmd.add_argument("archive", type=Path)
    restore_cmd.add_argument("--data-dir", type=Path, default=None)
    restore_cmd.set_defaults(run=restore)

    level_cmd = commands.add_parser(
        "set-level", help="give an account a member level (e.g. make the first admin)"
    )
    level_cmd.add_argument("user", help="username or email")
    level_cmd.add_argument("level", help="free, basic, premium or admin")
    level_cmd.add_argument("--data-dir", type=Path, default=None)
    level_cmd.set_defaults(run=set_level)

    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)
