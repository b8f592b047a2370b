"""`pcmd report`: the report a unit sends up, as Excel, CSV tables or a DHIS2 data value set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.command()
@click.option(
    "--period", required=True, help="Tháng, quý hoặc năm (month 202607, quarter 2026Q3, year 2026)."
)
@click.option("--org", default="VN", show_default=True, help="Org unit code.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="FILE.xlsx (Excel), FILE.zip (CSV tables) or FILE.json (DHIS2).",
)
@pass_ctx
def report(ctx: Context, period: str, org: str, out: str) -> None:
    """Lập báo cáo gửi cấp trên (the report for a unit and period: Excel, CSV or DHIS2).

    The cover is filled from the [report] table of pcmd.toml; the DHIS2 export uses its
    `dhis2_mapping` file when one is set.
    """
    from pcmd.reports.build import dhis2_mapping, render, report_data

    suffix = Path(out).suffix.lower()
    if suffix not in (".xlsx", ".zip", ".json"):
        raise PcmdError(f"{out}: cần đuôi .xlsx, .zip hoặc .json (use .xlsx, .zip or .json).")
    folder = Path(out).resolve().parent
    if not folder.is_dir():
        raise PcmdError(
            f"Không có thư mục {folder} để ghi báo cáo (no folder {folder} to write the report "
            "in). Fix: create it first, or give --out a path in an existing folder."
        )
    fmt = {".xlsx": "xlsx", ".zip": "csv", ".json": "dhis2"}[suffix]
    cover = ctx.settings().report
    with ctx.session() as session:
        mapping = dhis2_mapping(session, cover.dhis2_mapping) if fmt == "dhis2" else None
        data = report_data(session, org, period, dt.date.today(), cover)
    content = render(data, fmt, mapping)
    try:
        Path(out).write_bytes(content)
    except OSError as exc:
        raise PcmdError(
            f"Không ghi được {out} (cannot write {out}): {exc.strerror}. Fix: check that the "
            "folder is writable and the disk has space."
        ) from None
    click.echo(f"{out}: {data.unit_name}, {period}, {len(data.indicators)} chỉ tiêu (indicators)")
