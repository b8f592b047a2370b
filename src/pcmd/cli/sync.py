"""`pcmd source …`, `pcmd sync …` and `pcmd scheduler`: KoboToolbox and ODK Central sources,
pulling their submissions, and the scheduled syncs.

Sources name the environment variables holding their secrets; no command prints a value.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pcmd.cli.context import Context, pass_ctx, setup_logging, utc_text
from pcmd.errors import PcmdError


@click.group("source")
def source_group() -> None:
    """Nguồn KoboToolbox / ODK Central để kéo phiếu về (KoboToolbox and ODK Central sources)."""


@source_group.group("add")
def source_add() -> None:
    """Thêm nguồn (add a source)."""


def _add_source(ctx: Context, **values: Any) -> None:
    from pcmd.sync.sources import add_source

    settings = ctx.settings()
    with ctx.session(write=True) as session:
        source = add_source(session, **values)
    where = (
        f"asset {source.asset_uid}"
        if source.kind == "kobo"
        else f"project {source.project_id}, form {source.form_id}"
    )
    click.echo(
        f"Đã thêm nguồn (added source) {source.name}: {source.kind} {source.url} {where} → "
        f"{source.form_id}, mỗi (every) {source.interval_minutes} phút (min)"
    )
    if source.webhook_secret_env:
        click.echo(
            "KoboToolbox REST Service: endpoint "
            f"{settings.base_url}/hooks/kobo/{source.name}, custom header "
            f"X-Pcmd-Secret = giá trị của (the value of) ${source.webhook_secret_env}"
        )
    click.echo(f"Chạy thử (try it): pcmd sync run {source.name}")


@source_add.command("kobo")
@click.argument("name")
@click.option("--url", required=True, help="KoboToolbox server, e.g. https://kf.kobotoolbox.org.")
@click.option("--token-env", required=True, help="Environment variable holding the API key.")
@click.option("--asset", required=True, help="Project (asset) uid, the part after #/forms/.")
@click.option("--form", "form_id", required=True, help="pcmd form id, e.g. pcmd_outreach.")
@click.option("--interval", default=15, show_default=True, help="Minutes between syncs.")
@click.option(
    "--webhook-secret-env",
    help="Environment variable holding the secret of the REST Service header X-Pcmd-Secret.",
)
@pass_ctx
def source_add_kobo(
    ctx: Context,
    name: str,
    url: str,
    token_env: str,
    asset: str,
    form_id: str,
    interval: int,
    webhook_secret_env: str | None,
) -> None:
    """Nguồn KoboToolbox (a KoboToolbox project holding one of pcmd's forms)."""
    _add_source(
        ctx,
        name=name,
        kind="kobo",
        url=url,
        form_id=form_id,
        asset_uid=asset,
        token_env=token_env,
        webhook_secret_env=webhook_secret_env,
        interval_minutes=interval,
    )


@source_add.command("central")
@click.argument("name")
@click.option("--url", required=True, help="ODK Central server, e.g. https://central.example.org.")
@click.option("--project", type=int, required=True, help="Central project id (a number).")
@click.option("--form", "form_id", required=True, help="Form id (the same in Central and pcmd).")
@click.option("--user-env", required=True, help="Environment variable holding the e-mail.")
@click.option("--password-env", required=True, help="Environment variable holding the password.")
@click.option("--interval", default=15, show_default=True, help="Minutes between syncs.")
@pass_ctx
def source_add_central(
    ctx: Context,
    name: str,
    url: str,
    project: int,
    form_id: str,
    user_env: str,
    password_env: str,
    interval: int,
) -> None:
    """Nguồn ODK Central (one form of an ODK Central project)."""
    _add_source(
        ctx,
        name=name,
        kind="central",
        url=url,
        form_id=form_id,
        project_id=project,
        user_env=user_env,
        password_env=password_env,
        interval_minutes=interval,
    )


@source_group.command("list")
@pass_ctx
def source_list(ctx: Context) -> None:
    """Các nguồn (sources; secrets show as the names of their variables only)."""
    from pcmd.sync.sources import list_sources

    with ctx.session() as session:
        sources = list_sources(session)
    if not sources:
        click.echo("Chưa có nguồn (no sources yet): pcmd source add kobo|central …")
    for s in sources:
        where = f"asset {s.asset_uid}" if s.kind == "kobo" else f"project {s.project_id}"
        envs = (
            f"token ${s.token_env}"
            if s.kind == "kobo"
            else f"user ${s.user_env}, password ${s.password_env}"
        )
        if s.webhook_secret_env:
            envs += f", webhook ${s.webhook_secret_env}"
        state = "" if s.enabled else "  (tắt / disabled)"
        click.echo(
            f"{s.name:20} {s.kind:8} {s.url} {where} → {s.form_id}, "
            f"{s.interval_minutes} min, {envs}{state}"
        )


@source_group.command("remove")
@click.argument("name")
@pass_ctx
def source_remove(ctx: Context, name: str) -> None:
    """Xoá nguồn: phiếu đã kéo về vẫn giữ (forget a source; its submissions stay)."""
    from pcmd.sync.sources import remove_source

    with ctx.session(write=True) as session:
        remove_source(session, name)
    click.echo(f"Đã xoá nguồn (removed source) {name}; các phiếu vẫn giữ (submissions kept).")


@click.group("sync")
def sync_group() -> None:
    """Đồng bộ phiếu từ các nguồn (pull submissions from the sources)."""


@sync_group.command("run")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Re-read every record from the start (and deletions).")
@pass_ctx
def sync_run(ctx: Context, name: str | None, full: bool) -> None:
    """Kéo phiếu mới, sửa, xoá từ một nguồn hoặc mọi nguồn đang bật (sync one source, or every
    enabled source). A progress bar on a terminal, else one summary line per source."""
    from pcmd.db.engine import transaction
    from pcmd.ingest.files import FileStore
    from pcmd.sync.report import SyncReport
    from pcmd.sync.runner import sync_source
    from pcmd.sync.sources import get_source, list_sources

    settings = ctx.settings()
    store = FileStore(settings.attachments_dir)
    failed: list[SyncReport] = []
    with ctx.engine() as engine:
        with transaction(engine) as session:
            sources = (
                [get_source(session, name)] if name else list_sources(session, enabled_only=True)
            )
        if not sources:
            click.echo("Chưa có nguồn nào đang bật (no enabled sources): pcmd source add …")
        for source in sources:
            if sys.stdout.isatty():
                with click.progressbar(length=0, label=source.name, show_pos=True) as bar:

                    def progress(done: int, total: int | None, bar: Any = bar) -> None:
                        if total is not None and total > bar.length:
                            bar.length = total
                        bar.update(done)

                    report = sync_source(
                        engine, store, source, settings, full=full, progress=progress
                    )
            else:
                report = sync_source(engine, store, source, settings, full=full)
            click.echo(report.summary())
            for problem in report.problems[:5]:
                click.echo(f"  bị từ chối (refused) {problem}")
            if report.error:
                failed.append(report)
    if failed:
        raise PcmdError(
            f"{len(failed)} nguồn lỗi (source(s) failed): {', '.join(r.source for r in failed)}; "
            "see `pcmd sync status`."
        )


@sync_group.command("status")
@pass_ctx
def sync_status(ctx: Context) -> None:
    """Con trỏ, lần thành công và lỗi gần nhất của từng nguồn (each source's cursor, last
    success, last error)."""
    import json

    from pcmd.db.models import SyncState
    from pcmd.sync.cursor import last_outcome
    from pcmd.sync.sources import list_sources

    with ctx.session() as session:
        sources = list_sources(session)
        states = {s.source: s for s in session.query(SyncState).all()}
    if not sources:
        click.echo("Chưa có nguồn (no sources yet): pcmd source add kobo|central …")
    for source in sources:
        state = states.get(source.name)
        click.echo(f"{source.name} ({source.kind}{'' if source.enabled else ', tắt / disabled'})")
        if state is None:
            click.echo("  chưa đồng bộ lần nào (never synced)")
            continue
        cursor = json.dumps(state.cursor, ensure_ascii=False, sort_keys=True)
        success = utc_text(state.last_success_at) if state.last_success_at else "—"
        outcome = last_outcome(state.last_success_at, state.last_error_at, state.last_error)
        when = utc_text(outcome.at) if outcome.at else "—"
        if not outcome.ok:
            result = "lỗi (failed)"
        elif outcome.error:
            result = "xong, có bản ghi bị từ chối (done, with records refused)"
        else:
            result = "thành công (succeeded)"
        click.echo(f"  con trỏ (cursor): {cursor}")
        click.echo(f"  lần gần nhất (last run): {result}, {when}")
        click.echo(f"  thành công gần nhất (last success): {success}")
        if outcome.error:
            click.echo(f"    {outcome.error}")


@click.command("scheduler")
@pass_ctx
def scheduler_command(ctx: Context) -> None:
    """Chạy lịch đồng bộ (run the scheduled syncs in the foreground, without the web server).
    With `pcmd serve` running too, one of them runs the jobs (a database lease)."""
    import signal
    import threading

    from pcmd.jobs.scheduler import SyncScheduler

    settings = ctx.settings()
    setup_logging(settings)
    with ctx.engine() as engine:
        scheduler = SyncScheduler(settings, engine)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_args: stop.set())
        scheduler.start()
        click.echo(
            f"Lịch đồng bộ đang chạy (scheduler running) as {scheduler.holder}; Ctrl-C stops."
        )
        try:
            stop.wait()
        finally:
            scheduler.shutdown()
