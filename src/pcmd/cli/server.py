"""`pcmd init`, `pcmd serve` and `pcmd settings`: set up the database, run the server, show the
settings."""

from __future__ import annotations

import os

import click

from pcmd.cli.context import Context, pass_ctx, setup_logging
from pcmd.cli.forms import build_forms


@click.command()
@click.option("--skip-forms", is_flag=True, help="Do not build the XLSForms.")
@pass_ctx
def init(ctx: Context, skip_forms: bool) -> None:
    """Tạo/cập nhật CSDL, nạp danh mục hành chính, dựng biểu mẫu (create or migrate the database,
    load the admin units, build the forms). Safe to run again."""
    from pcmd.db import migrate
    from pcmd.db.engine import transaction
    from pcmd.db.models import OrgUnit
    from pcmd.forms.registry import ensure_default_project
    from pcmd.ingest.uic import ensure_key
    from pcmd.masterdata import orgunits

    uic_key_file = ctx.settings().uic_key_file
    if ensure_key(uic_key_file):
        click.echo(
            f"Khoá mã hoá mã nhận diện (UIC secret): tạo mới {uic_key_file} (created) — "
            "sao lưu cùng CSDL (back it up with the database)"
        )
    with ctx.engine() as engine:
        before, after = migrate.upgrade(engine)
        state = "đã mới nhất (up to date)" if before == after else f"{before or 'trống'} → {after}"
        click.echo(f"CSDL (database) {engine.url.render_as_string(hide_password=True)}: {state}")
        with transaction(engine) as session:
            ensure_default_project(session)
            if session.query(OrgUnit).first() is None:
                plan = orgunits.load_shipped(session)
                click.echo(f"Đơn vị hành chính (org units): nạp {len(plan.insert)} (loaded)")
            counts = orgunits.count_by_level(orgunits.current_units(session).values())
        click.echo(
            f"Đơn vị hành chính đang hiệu lực (org units in force): {counts['province']} tỉnh "
            f"(provinces), {counts['commune']} xã (communes)"
        )
        if not skip_forms:
            build_forms(ctx, validate=True)


@click.command()
@click.option("--host", help="Interface to listen on (PCMD_HOST).")
@click.option("--port", type=int, help="Port (PCMD_PORT).")
@click.option("--workers", type=int, help="Server processes (PCMD_WORKERS).")
@click.option("--base-url", help="Address phones use to reach this server (PCMD_BASE_URL).")
@pass_ctx
def serve(
    ctx: Context, host: str | None, port: int | None, workers: int | None, base_url: str | None
) -> None:
    """Chạy máy chủ (serve the web UI and OpenRosa endpoints)."""
    import uvicorn

    settings = ctx.settings(host=host, port=port, workers=workers, base_url=base_url)
    setup_logging(settings)
    if settings.workers == 1:
        from pcmd.server.app import create_app

        uvicorn.run(
            create_app(settings, warm=True),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            # app-user tokens are part of OpenRosa paths: no access log may record them
            access_log=False,
        )
        return
    # This process starts the workers and is the one to prepare the store and announce any
    # set-up code (each worker doing it would print one code per worker).
    from pcmd.db.engine import engine_from_settings
    from pcmd.ingest.files import FileStore
    from pcmd.server.web.firstrun import announce_code

    FileStore(settings.attachments_dir).prepare()
    engine = engine_from_settings(settings)
    try:
        announce_code(engine, settings.base_url)
    finally:
        engine.dispose()
    # Worker processes rebuild the settings from the environment: hand them what we resolved.
    for name, _shown, source in settings.describe():
        value = getattr(settings, name)
        if source != "default" and value is not None:
            os.environ["PCMD_" + name.upper()] = str(value)
    uvicorn.run(
        "pcmd.server.asgi:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        # app-user tokens are part of OpenRosa paths: no access log may record them
        access_log=False,
    )


@click.command("settings")
@pass_ctx
def show_settings(ctx: Context) -> None:
    """Xem các thiết lập và nguồn của chúng (show every setting and where it came from)."""
    for name, shown, source in ctx.settings().describe():
        click.echo(f"{name:22} {shown:45} [{source}]")
