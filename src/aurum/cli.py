"""The ``aurum`` command: serve, worker, migrate, export-schema, export-manifest, seed-demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from types import FrameType

from aurum.settings import Settings, SettingsError, load_settings


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="aurum", description="Aurum Life API server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the API (and, unless --no-worker, a job worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="do not run a worker in this process")
    commands.add_parser("worker", help="run a job worker")
    commands.add_parser("migrate", help="migrate the database to the newest revision")
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    commands.add_parser(
        "export-manifest", help="print the trusted documents' manifest, compiled from client/operations"
    )
    commands.add_parser("seed-demo", help="create a demo account with a realistic hierarchy")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"aurum: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.command == "export-schema":
        from aurum.graphql.schema import schema_sdl

        sys.stdout.write(schema_sdl(settings))
        return
    if args.command == "export-manifest":
        from aurum.persisted.manifest import build_manifest, manifest_json

        sys.stdout.write(manifest_json(build_manifest()))
        return
    from aurum.logging import configure_logging

    configure_logging(settings)
    runners = {
        "serve": lambda: serve_forever(settings, args.host, args.port, with_worker=not args.no_worker),
        "worker": lambda: work_forever(settings),
        "migrate": lambda: migrate(settings),
        "seed-demo": lambda: seed_demo(settings),
    }
    run(runners[args.command]())


def _uvicorn_server() -> type:
    import uvicorn

    return uvicorn.Server


def run(coroutine: object) -> None:
    try:
        import uvloop

        uvloop.run(coroutine)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coroutine)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass


async def migrate(settings: Settings) -> None:
    from aurum.embedded import embedded_endpoints
    from aurum.migrate import upgrade

    async with embedded_endpoints(settings) as endpoints:
        await upgrade(endpoints.database_url)
    print("aurum: database migrated to head")


class GracefulServer(_uvicorn_server()):  # type: ignore[misc]
    """uvicorn raises the stopping signal again once it has shut down, which would interrupt our own clean-up
    (stopping the embedded engines); here a signal only asks the server to stop."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


async def serve_forever(settings: Settings, host: str, port: int, *, with_worker: bool) -> None:
    import structlog

    from aurum.app import build_app
    from aurum.migrate import upgrade
    from aurum.resources import open_resources
    from aurum.runtime import raise_file_limit, tune_gc
    from aurum.serving import server_config

    before, after = raise_file_limit()  # a file per connection: the soft default (often 1,024) is too few
    event = "raised the open-file limit" if after != before else "open-file limit"
    structlog.get_logger("aurum.serving").info(event, soft_before=before, limit=after)
    async with open_resources(settings) as resources:
        if settings.is_development:
            await upgrade(resources.database_url)
        app = build_app(settings, resources, run_worker=with_worker)
        config = server_config(app, settings, host, port)
        tune_gc()
        print(f"aurum: serving GraphQL at http://{host}:{port}/graphql", flush=True)
        await GracefulServer(config).serve()


async def work_forever(settings: Settings) -> None:
    from aurum.resources import open_resources
    from aurum.worker import running_worker

    async with open_resources(settings) as resources, running_worker(resources):
        await asyncio.Event().wait()


async def seed_demo(settings: Settings) -> None:
    from aurum.migrate import upgrade
    from aurum.resources import open_resources
    from aurum.seed import DEMO_EMAIL, DEMO_PASSWORD, seed

    async with open_resources(settings) as resources:
        if settings.is_development:
            await upgrade(resources.database_url)
        created = await seed(resources.sessionmaker)
    state = "created" if created else "already there"
    print(f"aurum: demo account {state}: {DEMO_EMAIL} / {DEMO_PASSWORD}")
