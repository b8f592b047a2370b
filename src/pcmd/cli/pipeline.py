"""`pcmd pipeline run`, `pcmd indicators`, `pcmd programmes …` and `pcmd rules`: run the
pipeline, read its indicator values, manage programme files, list the validation rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.group()
def pipeline() -> None:
    """Kiểm tra, chuẩn hoá và tính chỉ tiêu (validate, normalise, compute the indicators)."""


@pipeline.command("run")
@click.option(
    "--full",
    is_flag=True,
    help="Recompute everything: re-validate and re-normalise every submission, rebuild the "
    "cube and every stored value (default: only what changed since the last run).",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Take this date as today (default: today in Vietnam): periods begun, TT2's months.",
)
@pass_ctx
def pipeline_run(ctx: Context, full: bool, today: dt.datetime | None) -> None:
    """Chạy pipeline (run the pipeline): validate, normalise and aggregate what changed."""
    from pcmd.pipeline.run import run_pipeline

    with ctx.engine() as engine:
        summary = run_pipeline(engine, full=full, today=today.date() if today else None)
    click.echo(summary.describe())


@click.command("indicators")
@click.option("--period", required=True, help="YYYYMM, YYYYQn, YYYY or YYYY-YYYY (2021-2025).")
@click.option("--org", default="VN", show_default=True, help="Org unit code: VN, 51, 21025 …")
@click.option(
    "--level",
    type=click.Choice(["country", "province", "commune"]),
    help="List the units of this level under --org (default: --org itself).",
)
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--programme", default="pcmd_1629", show_default=True, help="Programme or plan id.")
@click.option(
    "--records",
    "records_of",
    metavar="INDICATOR",
    help="Instead, list the submissions behind INDICATOR's numerator for --org and --period.",
)
@pass_ctx
def indicators_cmd(
    ctx: Context,
    period: str,
    org: str,
    level: str | None,
    fmt: str,
    programme: str,
    records_of: str | None,
) -> None:
    """Chỉ tiêu theo kỳ và đơn vị (indicator values for a period and org unit, as the programme
    file defines them)."""
    import json

    from pcmd.pipeline.indicators import query
    from pcmd.pipeline.state import load_state

    with ctx.engine() as engine:
        if load_state(engine) is None:
            raise PcmdError(
                "Chưa tính chỉ tiêu lần nào (the indicators have not been computed yet). Fix: "
                "run `pcmd pipeline run`, or start `pcmd serve`, whose scheduler computes them "
                "once records arrive."
            )
        if records_of:
            ids = query.submission_ids(
                engine, indicator=records_of, period=period, org=org, programme=programme
            )
            click.echo(
                json.dumps(
                    {
                        "indicator": records_of,
                        "org_unit": org,
                        "period": period,
                        "submission_ids": ids,
                    }
                )
            )
            return
        rows = query.indicator_rows(
            engine, period=period, org=org, level=level, programme=programme
        )
    click.echo(query.to_json(rows) if fmt == "json" else query.to_csv(rows), nl=fmt == "json")


@click.group()
def programmes() -> None:
    """Chương trình và kế hoạch (programme files: the national programme, province plans)."""


@programmes.command("list")
@pass_ctx
def programmes_list(ctx: Context) -> None:
    """Liệt kê các chương trình đang tính (list the programmes the pipeline computes)."""
    from pcmd.pipeline.programmes import active_programmes

    with ctx.engine() as engine, engine.connect() as conn:
        found = active_programmes(conn)
    for prog in found.values():
        base = f", extends {prog.extends}" if prog.extends else ""
        click.echo(
            f"{prog.id:24} {prog.period:10} {prog.org:4} {len(prog.indicators):3} chỉ tiêu "
            f"(indicators){base} — {prog.name}"
        )


@programmes.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def programmes_add(ctx: Context, file: str) -> None:
    """Kiểm tra và bật một tệp chương trình (check a programme file and switch it on; the next
    `pcmd pipeline run` computes it). A file with the same programme id is replaced."""
    from pcmd.db.engine import write_connection
    from pcmd.pipeline.programmes import add_programme

    text = Path(file).read_text(encoding="utf-8")
    with ctx.engine() as engine, write_connection(engine) as conn:
        prog = add_programme(conn, text, Path(file).name)
    click.echo(
        f"Đã bật (switched on) {prog.id}: {len(prog.indicators)} chỉ tiêu (indicators), "
        f"{prog.org}, {prog.period}. Next: pcmd pipeline run"
    )


@programmes.command("remove")
@click.argument("programme_id")
@pass_ctx
def programmes_remove(ctx: Context, programme_id: str) -> None:
    """Tắt một tệp chương trình và xoá các giá trị của nó (switch a programme file off)."""
    from pcmd.db.engine import write_connection
    from pcmd.pipeline.programmes import remove_programme

    with ctx.engine() as engine, write_connection(engine) as conn:
        remove_programme(conn, programme_id)
    click.echo(f"Đã tắt (switched off) {programme_id}.")


@click.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as a JSON list.")
def rules_list(as_json: bool) -> None:
    """Các quy tắc kiểm tra phiếu (the validation rules: code, severity, Vietnamese, English).

    error: phiếu không được tính vào chỉ tiêu cho đến khi sửa hoặc được chấp nhận (the record is
    left out of the indicators until fixed or accepted); warning: phiếu vẫn được tính (counted).
    """
    import json

    from pcmd.pipeline.validate.catalogue import rule_rows

    rows = rule_rows()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['code']:10} {row['severity']:8} {row['title_vi']}")
        click.echo(f"{'':19} ({row['title_en']})")
        click.echo(f"{'':19} {row['message_vi']}")
        click.echo(f"{'':19} ({row['message_en']})")
