"""`pcmd submissions …`: import ODK Collect/Briefcase instance folders, export current
submissions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.group()
def submissions() -> None:
    """Phiếu đã nhận (submissions)."""


@submissions.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@pass_ctx
def submissions_import(ctx: Context, folder: str) -> None:
    """Nhập thư mục phiếu của ODK Collect/Briefcase (import instance folders: <name>/<name>.xml
    or …/submission.xml, with their attachments)."""
    from pcmd.ingest.files import FileStore
    from pcmd.sync.folder import audit_folder_import, import_folder

    store = FileStore(ctx.settings().attachments_dir)
    counts: dict[str, int] = {}
    with ctx.engine() as engine:
        for result in import_folder(engine, store, Path(folder)):
            counts[result.status] = counts.get(result.status, 0) + 1
            click.echo(f"{result.folder.name}: {result.status} {result.detail}")
        audit_folder_import(engine, Path(folder).resolve(), counts)
    summary = ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    click.echo(f"Tổng (total): {summary or 'không có thư mục phiếu nào (no instance folders)'}")
    if counts.get("error"):
        raise PcmdError(f"{counts['error']} thư mục lỗi (folder(s) failed), see above.")


@submissions.command("export")
@click.option("--form", "form_id", required=True, help="Form id, e.g. pcmd_outreach.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default stdout).")
@pass_ctx
def submissions_export(ctx: Context, form_id: str, fmt: str, out: str | None) -> None:
    """Xuất phiếu hiện hành (export current submissions, one row each, group paths as columns)."""
    from pcmd.reports.submissions import Table, submissions_table, write_csv, write_json

    write: Callable[[Table, IO[str]], int] = write_csv if fmt == "csv" else write_json
    with ctx.session() as session:
        table = submissions_table(session, form_id)
        if out:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                count = write(table, handle)
            click.echo(f"{out}: {count} phiếu (submissions)", err=True)
        else:
            write(table, sys.stdout)
