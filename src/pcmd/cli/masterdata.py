"""`pcmd reference|establishments|targets import`: the master-data CSV imports (all or nothing,
line-numbered errors)."""

from __future__ import annotations

from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


def _read_utf8(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PcmdError(
            f"{file}: không phải UTF-8 (not UTF-8). Fix: in Excel use Save As → CSV UTF-8."
        ) from None


@click.group()
def reference() -> None:
    """Số liệu tham chiếu làm mẫu số (reference data: the denominators of the indicators)."""


@reference.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def reference_import(ctx: Context, file: str) -> None:
    """Nhập CSV org_unit,year,key,value (import reference values; a value already stored for the
    same org unit, year and key is replaced)."""
    from pcmd.masterdata.reference import import_reference_values

    text = _read_utf8(file)
    with ctx.session(write=True) as session:
        result = import_reference_values(session, text, file)
    click.echo(f"{file}: {result.describe()}")


@click.group()
def establishments() -> None:
    """Danh sách cơ sở kinh doanh dịch vụ dễ phát sinh tệ nạn mại dâm (establishment register)."""


@establishments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def establishments_import(ctx: Context, file: str) -> None:
    """Nhập CSV id,name,type,commune,address,license_no,status (import the register; the forms'
    establishments.csv is regenerated)."""
    from pcmd.forms.registry import refresh_media
    from pcmd.masterdata.establishments import import_establishments

    text = _read_utf8(file)
    with ctx.session(write=True) as session:
        result = import_establishments(session, text, file)
        # Phones must be offered the register as it now is: closed ones go, new ones appear.
        refresh_media(session)
    click.echo(f"{file}: {result.describe()}")
    click.echo(
        "establishments.csv đã cập nhật cho ODK Collect; với KoboToolbox/ODK Central hãy tải lại "
        "tệp này (updated for ODK Collect; upload it again to Kobo/Central): "
        "pcmd forms media --out DIR"
    )


@click.group()
def targets() -> None:
    """Chỉ tiêu được giao (targets per indicator, org unit and period)."""


@targets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def targets_import(ctx: Context, file: str) -> None:
    """Nhập CSV indicator,org_unit,period,target (import targets; periods YYYYMM, YYYYQn, YYYY
    or YYYY-YYYY)."""
    from pcmd.masterdata.targets import import_targets
    from pcmd.pipeline.programmes import programme_indicators

    text = _read_utf8(file)
    with ctx.session(write=True) as session:
        result = import_targets(session, text, file, indicators=programme_indicators(session))
    click.echo(f"{file}: {result.describe()}")
