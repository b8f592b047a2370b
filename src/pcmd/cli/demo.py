"""`pcmd demo`: fill an empty database with a demo province through the real import and ingest
paths (the records themselves come from `pcmd.cli.demo_data`)."""

from __future__ import annotations

import datetime as dt
import os

import click
from sqlalchemy import Engine

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.command()
@click.option("--province", default="51", show_default=True, help="Province code to fill.")
@click.option("--years", default=2, show_default=True, help="Years of records up to today.")
@click.option(
    "--months",
    type=click.IntRange(min=1),
    default=None,
    help="Months of records up to today, this one included (instead of --years): a smaller demo.",
)
@pass_ctx
def demo(ctx: Context, province: str, years: int, months: int | None) -> None:
    """Tạo dữ liệu mẫu cho một tỉnh (fill an empty database with a demo province). Set
    PCMD_DEMO_PASSWORD to also create the web user `demo` (reviewer of that province)."""
    import random

    from sqlalchemy import func, select

    from pcmd.cli import demo_data as generator
    from pcmd.cli import demo_programme, demo_review
    from pcmd.db.engine import transaction
    from pcmd.db.models import Form, OrgUnit, Submission
    from pcmd.forms.registry import refresh_media
    from pcmd.ingest.files import FileStore
    from pcmd.ingest.form_lookup import FormLookup
    from pcmd.ingest.incoming import Incoming, IncomingFile
    from pcmd.ingest.submit import ingest_with_retry
    from pcmd.masterdata.establishments import import_establishments
    from pcmd.masterdata.reference import import_reference_values
    from pcmd.masterdata.targets import import_targets
    from pcmd.pipeline.programmes import programme_indicators

    settings = ctx.settings()
    with ctx.engine() as engine:
        with transaction(engine) as session:
            if not session.scalar(select(func.count()).select_from(Form)):
                raise PcmdError(
                    "Chưa có biểu mẫu: hãy chạy `pcmd init` trước (run `pcmd init` first)."
                )
            if session.scalar(select(func.count()).select_from(Submission)):
                raise PcmdError(
                    "CSDL đã có phiếu; dữ liệu mẫu chỉ nạp vào CSDL trống (the database already "
                    "has submissions: the demo fills an empty one only)."
                )
            communes = list(
                session.scalars(
                    select(OrgUnit.code)
                    .where(
                        OrgUnit.parent_code == province,
                        OrgUnit.level == "commune",
                        OrgUnit.valid_to.is_(None),
                    )
                    .order_by(OrgUnit.code)
                )
            )
        if not communes:
            raise PcmdError(f"Tỉnh {province} không có xã nào (no communes under {province}).")
        rng = random.Random(1629)  # noqa: S311 - seeded on purpose: the same demo every time
        today = dt.date.today()
        start = (
            dt.date(today.year - years + 1, 1, 1) if months is None else _months_back(today, months)
        )
        register = generator.establishments(communes, rng)
        with transaction(engine, write=True) as session:
            import_establishments(
                session, generator.establishments_csv(register), "demo.csv", actor="demo"
            )
            import_reference_values(
                session,
                generator.reference_csv(
                    province, communes, register, range(start.year, today.year + 1), rng
                ),
                "demo-reference.csv",
                actor="demo",
            )
            refresh_media(session)
        store = FileStore(settings.attachments_dir)
        forms = FormLookup()
        count = 0
        photos = random.Random(7)  # noqa: S311 - photos of their own: the records stay the same
        for xml in generator.submissions(province, communes, register, start, today, rng):
            # each commune's officer sends from a phone; some with a photo (demo_review.py)
            sent = demo_review.dress(xml, count, photos)
            files: tuple[IncomingFile, ...] = ()
            if sent.photo is not None:
                name, jpeg = sent.photo
                sha, _ = store.put_bytes(jpeg)
                files = (IncomingFile(name, "image/jpeg", sha, len(jpeg)),)
            ingest_with_retry(
                engine,
                store,
                Incoming(
                    xml=sent.xml,
                    source="openrosa",
                    submitter=sent.submitter,
                    device_id=sent.device_id,
                    files=files,
                ),
                forms,
            )
            count += 1
        # The records of DESIGN §6b (cases, monthly reports, support, plans), with the times
        # they reached the server; their own generator, so the records above stay the same.
        versions = _form_versions(engine)
        for xml, received in demo_programme.programme_records(
            province,
            communes,
            start,
            today,
            versions,
            random.Random(2026),  # noqa: S311
        ):
            ingest_with_retry(
                engine,
                store,
                Incoming(
                    xml=xml, source="openrosa", submitter="appuser:demo", submitted_at=received
                ),
                forms,
            )
            count += 1
        click.echo(
            f"Dữ liệu mẫu (demo): {len(communes)} xã, {len(register)} cơ sở, {count} phiếu "
            f"(communes, establishments, submissions) {start:%d/%m/%Y}–{today:%d/%m/%Y}"
        )
        # reviewers' work: states, comments, rejection reasons; the province's targets
        with transaction(engine, write=True) as session:
            states = demo_review.review(session, random.Random(13))  # noqa: S311
            import_targets(
                session,
                demo_review.targets_csv(province, communes, today.year),
                "demo-targets.csv",
                indicators=programme_indicators(session),
                actor="demo",
            )
        click.echo(
            "Đã duyệt {approved}, có vấn đề {has_issues}, không chấp nhận {rejected} phiếu "
            "(approved, has issues, rejected); còn lại chờ duyệt (the rest await review).".format(
                **states
            )
        )
        password = os.environ.get("PCMD_DEMO_PASSWORD")
        if password:
            from pcmd.server.accounts import create_user

            with transaction(engine, write=True) as session:
                create_user(
                    session, "demo", password, "province_reviewer", [province], actor="demo"
                )
            click.echo("Người dùng web `demo` đã được tạo (web user `demo` created).")
        try:
            from pcmd.pipeline.run import (
                run_pipeline,  # type: ignore[import-not-found,unused-ignore]
            )
        except ImportError:
            click.echo(
                "(chưa có pipeline để tính chỉ tiêu / no pipeline yet to compute indicators)"
            )
        else:
            run_pipeline(engine, full=True)


def _months_back(today: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before today's (1: this month)."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def _form_versions(engine: Engine) -> dict[str, str]:
    """Each form's current version, as a phone that fetched the forms today would send it."""
    from sqlalchemy import select

    from pcmd.db.models import Form, FormVersion

    with engine.connect() as conn:
        rows = conn.execute(
            select(Form.form_id, FormVersion.version).join(
                FormVersion, FormVersion.id == Form.current_version_id
            )
        )
        return {r.form_id: r.version for r in rows}
