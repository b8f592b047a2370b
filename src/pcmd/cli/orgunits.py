"""`pcmd orgunits …`: import an org-unit list, count the units in force."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.group()
def orgunits() -> None:
    """Danh mục đơn vị hành chính (org units)."""


@orgunits.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--replace",
    is_flag=True,
    help="Close units under the imported ones that the file does not list.",
)
@click.option(
    "--valid-from",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date the list takes effect (default today).",
)
@pass_ctx
def orgunits_import(ctx: Context, file: str, replace: bool, valid_from: dt.datetime | None) -> None:
    """Nhập danh mục từ CSV code,name,level,parent (import an org-unit list)."""
    from pcmd.forms.registry import refresh_media
    from pcmd.masterdata import orgunits as ou

    try:
        text = Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PcmdError(
            f"{file}: không phải UTF-8 (not UTF-8). Fix: in Excel use Save As → CSV UTF-8."
        ) from None
    with ctx.session() as session:
        plan = ou.import_orgunits(
            session,
            text,
            file,
            replace=replace,
            valid_from=valid_from.date() if valid_from else None,
        )
        refresh_media(session)
    click.echo(
        f"{file}: thêm {len(plan.insert)}, sửa {len(plan.update)}, đóng {len(plan.close)}, "
        f"giữ nguyên {plan.unchanged} (added, changed, closed, unchanged)"
    )


@orgunits.command("summary")
@pass_ctx
def orgunits_summary(ctx: Context) -> None:
    """Số đơn vị đang hiệu lực theo cấp (units in force by level)."""
    from pcmd.masterdata import orgunits as ou

    with ctx.session() as session:
        counts = ou.count_by_level(ou.current_units(session).values())
    for level, count in counts.items():
        click.echo(f"{level:9} {count}")
