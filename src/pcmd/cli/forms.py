"""`pcmd forms …`: build the XLSForms into stored form versions, refresh and list their media,
show the workbooks."""

from __future__ import annotations

from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx


@click.group()
def forms() -> None:
    """Biểu mẫu XLSForm (the XLSForms)."""


def build_forms(ctx: Context, *, validate: bool, force: bool = False) -> None:
    """Convert every workbook of the settings' forms folder and store the changed ones."""
    import hashlib

    from pcmd.forms.convert import convert_workbook
    from pcmd.forms.registry import (
        ensure_default_project,
        refresh_media,
        store_build,
        stored_workbook_sha,
        workbook_paths,
    )

    paths = workbook_paths(ctx.settings().forms_dir)
    with ctx.session() as session:
        ensure_default_project(session)
        for path in paths:
            content = path.read_bytes()
            previous = stored_workbook_sha(session, path.stem)
            if not force and previous == hashlib.sha256(content).hexdigest():
                click.echo(f"{path.stem}: không đổi (unchanged)")
                continue
            build = convert_workbook(content, path.name, validate=validate)
            result = store_build(session, build)
            label = {
                "new_form": "biểu mẫu mới (new form)",
                "new_version": "phiên bản mới (new version)",
                "unchanged": "không đổi (unchanged)",
            }[result.status]
            click.echo(f"{result.form_id} {result.version}: {label}")
            for warning in build.warnings:
                click.echo(f"  cảnh báo (warning): {warning}")
        stored = refresh_media(session)
    click.echo(f"Tệp đa phương tiện (media files): {len(stored)} cập nhật (refreshed)")


@forms.command("build")
@click.option("--dir", "forms_dir", help="Folder of workbooks (PCMD_FORMS_DIR).")
@click.option("--force", is_flag=True, help="Rebuild even when a workbook did not change.")
@pass_ctx
def forms_build(ctx: Context, forms_dir: str | None, force: bool) -> None:
    """Chuyển XLSForm sang XForm (pyxform + ODK Validate) và lưu thành phiên bản."""
    ctx.settings(forms_dir=forms_dir)
    build_forms(ctx, validate=True, force=force)


@forms.command("media")
@click.option("--out", type=click.Path(file_okay=False), help="Also write the CSV files here.")
@pass_ctx
def forms_media(ctx: Context, out: str | None) -> None:
    """Tạo provinces.csv, communes.csv, establishments.csv từ CSDL (generate the media CSVs)."""
    from pcmd.forms.registry import generated_media, refresh_media

    with ctx.session() as session:
        stored = refresh_media(session)
        files = generated_media(session)
    for item in files.values():
        rows = item.content.count(b"\n") - 1
        click.echo(f"{item.filename}: {rows} dòng (rows), md5 {item.md5}")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / item.filename).write_bytes(item.content)
    click.echo(f"Đã gắn vào biểu mẫu (attached to forms): {len(stored)}")


@forms.command("list")
@pass_ctx
def forms_list(ctx: Context) -> None:
    """Các biểu mẫu và phiên bản hiện hành (forms and their current versions)."""
    from sqlalchemy import select

    from pcmd.db.models import Form, FormVersion

    with ctx.session() as session:
        rows = session.execute(
            select(Form.form_id, Form.title, FormVersion.version, FormVersion.xform_md5)
            .join(FormVersion, FormVersion.id == Form.current_version_id)
            .order_by(Form.form_id)
        ).all()
    if not rows:
        click.echo("Chưa có biểu mẫu (no forms yet): run `pcmd forms build`.")
    for form_id, title, version, md5 in rows:
        click.echo(f"{form_id:18} {version:12} md5:{md5}  {title}")


@forms.command("show")
@click.argument("form_id", required=False)
@click.option("--dir", "forms_dir", help="Folder of workbooks (PCMD_FORMS_DIR).")
@click.option("--readme", is_flag=True, help="Rewrite the generated part of the forms README.")
@pass_ctx
def forms_show(ctx: Context, form_id: str | None, forms_dir: str | None, readme: bool) -> None:
    """In biểu mẫu dạng bảng markdown (print the workbooks as markdown tables, for review)."""
    from pcmd.forms.registry import workbook_paths
    from pcmd.forms.render import render_markdown, with_contents

    paths = workbook_paths(ctx.settings(forms_dir=forms_dir).forms_dir)
    if form_id:
        paths = [p for p in paths if p.stem == form_id]
        if not paths:
            raise click.UsageError(f"Không có biểu mẫu {form_id} (no workbook named {form_id}).")
    text = render_markdown(paths)
    if readme:
        target = paths[0].parent / "README.md"
        target.write_text(with_contents(target.read_text(encoding="utf-8"), text), "utf-8")
        click.echo(f"{target}: cập nhật (updated)")
        return
    click.echo(text, nl=False)
