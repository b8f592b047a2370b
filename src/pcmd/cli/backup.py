"""`pcmd backup OUT` and `pcmd restore FROM`: a consistent copy of a running installation
(database, attachments, secret key) and putting one back into an empty installation."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.jobs.archive import KEY_FROM_ENV


@click.command("backup")
@click.argument("out", type=click.Path())
@pass_ctx
def backup(ctx: Context, out: str) -> None:
    """Sao lưu CSDL, tệp đính kèm và khoá bí mật vào một tệp .tar, kể cả khi máy chủ đang chạy
    (back up the database, attachments and secret key into one .tar file, also while the server
    runs). OUT is a new file, or a folder to write a dated file in."""
    from pcmd.jobs.backup import make_backup

    settings = ctx.settings()
    target = Path(out)
    if out.endswith(("/", os.sep)):
        target.mkdir(mode=0o700, parents=True, exist_ok=True)  # a folder to write a dated file in
    with ctx.engine() as engine:
        result = make_backup(settings, engine, target)
    click.echo(
        f"Đã sao lưu (backed up) {result.path}: {result.submissions} phiếu (submissions), "
        f"{result.attachment_files} tệp đính kèm (attachment files), {_size(result.size)}, "
        f"cấu trúc CSDL (schema) {result.schema_revision}"
    )
    if result.secret_key == KEY_FROM_ENV:
        click.echo(
            "Chú ý: khoá bí mật lấy từ PCMD_SECRET_KEY nên KHÔNG có trong bản sao lưu; hãy giữ "
            "nó cùng bản sao lưu (note: the secret key comes from PCMD_SECRET_KEY and is NOT "
            "in the backup; keep it safely with the backup)."
        )
    for vi, en, shas in (
        ("bị thiếu", "missing", result.missing_attachments),
        ("bị hỏng", "damaged", result.damaged_attachments),
    ):
        if shas:
            shown = ", ".join(s[:12] for s in shas[:5]) + (" …" if len(shas) > 5 else "")
            click.echo(
                f"Chú ý (warning): {len(shas)} tệp đính kèm {vi} trong {settings.attachments_dir}"
                f", không có trong bản sao lưu ({len(shas)} attachment file(s) {en} in the "
                f"store, not in the backup): {shown}",
                err=True,
            )
    click.echo(
        "Tệp này chứa dữ liệu cá nhân và khoá bí mật: cất ở nơi an toàn (this file holds "
        "personal data and the secret key: store it safely)."
    )


@click.command("restore")
@click.argument("source", metavar="FROM", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace an installation that already has submissions or attachment files.",
)
@pass_ctx
def restore(ctx: Context, source: Path, force: bool) -> None:
    """Khôi phục bản sao lưu vào cài đặt trống (restore a backup into an empty installation:
    the database_url and data_dir of the settings). Stop the server first."""
    from pcmd.jobs.restore import KEY_RESTORED, restore_backup

    settings = ctx.settings()
    with ctx.engine() as engine:
        result = restore_backup(settings, engine, source, force=force)
        where = engine.url.render_as_string(hide_password=True)
    moved = (
        f"{result.schema_from} → {result.schema_to}"
        if result.schema_from != result.schema_to
        else result.schema_to
    )
    click.echo(
        f"Đã khôi phục (restored) {source} → {where}, {settings.data_dir}: "
        f"{result.submissions} phiếu (submissions), {result.attachment_files} tệp đính kèm "
        f"(attachment files), cấu trúc CSDL (schema) {moved}"
    )
    if result.secret_key == KEY_RESTORED:
        click.echo(f"Khoá bí mật (secret key): {settings.secret_key_file}")
    for note in result.notes:
        click.echo(f"Chú ý (note): {note}")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    shown = float(size)
    for unit in ("KB", "MB", "GB"):
        shown /= 1024
        if shown < 1024 or unit == "GB":
            break
    return f"{shown:.1f} {unit}"
