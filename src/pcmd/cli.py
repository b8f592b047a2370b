"""The `pcmd` command line. It does the I/O; the packages below it compute and return results.

Every PcmdError becomes one line on stderr and exit status 1; anything else is an internal error,
reported in one line (traceback only with PCMD_DEBUG=1).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from pcmd.errors import PcmdError
from pcmd.settings import Settings, load_settings

log = logging.getLogger("pcmd")


class Context:
    """Settings resolved once per invocation, from the group's options."""

    def __init__(self, overrides: dict[str, Any], config: str | None) -> None:
        self.overrides = overrides
        self.config = config
        self._settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            self._settings = load_settings({**self.overrides, **more}, config_file=self.config)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), help="pcmd.toml to read settings from.")
@click.option("--database-url", help="SQLAlchemy database URL (PCMD_DATABASE_URL).")
@click.option("--data-dir", help="Folder for the database and files (PCMD_DATA_DIR).")
@click.version_option(package_name="pcmd")
@click.pass_context
def cli(
    click_ctx: click.Context, config: str | None, database_url: str | None, data_dir: str | None
) -> None:
    """pcmd — số liệu phòng, chống mại dâm (prostitution-prevention field data and indicators)."""
    click_ctx.obj = Context({"database_url": database_url, "data_dir": data_dir}, config)


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic logs every schema check /healthz makes at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)


# --- init / serve / settings -----------------------------------------------------------------


@cli.command()
@click.option("--skip-forms", is_flag=True, help="Do not build the XLSForms.")
@pass_ctx
def init(ctx: Context, skip_forms: bool) -> None:
    """Tạo/cập nhật CSDL, nạp danh mục hành chính, dựng biểu mẫu (create or migrate the database,
    load the admin units, build the forms). Safe to run again."""
    from pcmd.db import migrate
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.db.models import OrgUnit
    from pcmd.forms.registry import ensure_default_project
    from pcmd.masterdata import orgunits

    settings = ctx.settings()
    engine = engine_from_settings(settings)
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
        _build_forms(settings, validate=True)
    engine.dispose()


@cli.command()
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
    _setup_logging(settings)
    if settings.workers == 1:
        from pcmd.server.app import create_app

        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            # app-user tokens are part of OpenRosa paths: no access log may record them
            access_log=False,
        )
        return
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


@cli.command("settings")
@pass_ctx
def show_settings(ctx: Context) -> None:
    """Xem các thiết lập và nguồn của chúng (show every setting and where it came from)."""
    for name, shown, source in ctx.settings().describe():
        click.echo(f"{name:22} {shown:45} [{source}]")


# --- forms -----------------------------------------------------------------------------------


@cli.group()
def forms() -> None:
    """Biểu mẫu XLSForm (the XLSForms)."""


def _build_forms(settings: Settings, *, validate: bool, force: bool = False) -> None:
    import hashlib

    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.forms.convert import convert_workbook
    from pcmd.forms.registry import (
        ensure_default_project,
        refresh_media,
        store_build,
        stored_workbook_sha,
        workbook_paths,
    )

    engine = engine_from_settings(settings)
    paths = workbook_paths(settings.forms_dir)
    with transaction(engine) as session:
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
    engine.dispose()


@forms.command("build")
@click.option("--dir", "forms_dir", help="Folder of workbooks (PCMD_FORMS_DIR).")
@click.option("--force", is_flag=True, help="Rebuild even when a workbook did not change.")
@pass_ctx
def forms_build(ctx: Context, forms_dir: str | None, force: bool) -> None:
    """Chuyển XLSForm sang XForm (pyxform + ODK Validate) và lưu thành phiên bản."""
    _build_forms(ctx.settings(forms_dir=forms_dir), validate=True, force=force)


@forms.command("media")
@click.option("--out", type=click.Path(file_okay=False), help="Also write the CSV files here.")
@pass_ctx
def forms_media(ctx: Context, out: str | None) -> None:
    """Tạo provinces.csv, communes.csv, establishments.csv từ CSDL (generate the media CSVs)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.forms.registry import generated_media, refresh_media

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
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

    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.db.models import Form, FormVersion

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
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


# --- org units -------------------------------------------------------------------------------


@cli.group()
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
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.forms.registry import refresh_media
    from pcmd.masterdata import orgunits as ou

    try:
        text = Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PcmdError(
            f"{file}: không phải UTF-8 (not UTF-8). Fix: in Excel use Save As → CSV UTF-8."
        ) from None
    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
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
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.masterdata import orgunits as ou

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        counts = ou.count_by_level(ou.current_units(session).values())
    for level, count in counts.items():
        click.echo(f"{level:9} {count}")


# --- app users -------------------------------------------------------------------------------
# The token is printed by `appuser create` only (and carried in the QR code); never logged.


@cli.group()
def appuser() -> None:
    """Người dùng ứng dụng ODK Collect và mã QR (ODK Collect app users and their QR codes)."""


def _utc_text(moment: dt.datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL the session's time zone: show both as UTC.
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@appuser.command("create")
@click.argument("name")
@click.option(
    "--commune",
    "communes",
    multiple=True,
    metavar="CODE",
    help="Commune code it may submit for; repeat or separate by commas (default: all).",
)
@click.option("--base-url", help="Address phones use to reach this server (PCMD_BASE_URL).")
@click.option("--json", "as_json", is_flag=True, help="Print only {name, token, server_url}.")
@pass_ctx
def appuser_create(
    ctx: Context, name: str, communes: tuple[str, ...], base_url: str | None, as_json: bool
) -> None:
    """Tạo người dùng ứng dụng (create an app user for ODK Collect)."""
    import json
    import shlex

    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.server import appusers
    from pcmd.server.keys import secret_key

    settings = ctx.settings(base_url=base_url)
    codes = [c for item in communes for c in item.split(",")]
    engine = engine_from_settings(settings)
    with transaction(engine) as session:
        user, token = appusers.create_app_user(session, name, codes, secret_key(settings))
        url = appusers.server_url(settings.base_url, token, user.project_id)
        shown_name, shown_codes = user.name, list(user.commune_codes)
    engine.dispose()
    if as_json:
        click.echo(
            json.dumps({"name": shown_name, "token": token, "server_url": url}, ensure_ascii=False)
        )
        return
    click.echo(f"Đã tạo người dùng ứng dụng (created app user): {shown_name}")
    click.echo(f"Xã (communes): {', '.join(shown_codes) or 'tất cả (all)'}")
    click.echo(f"Địa chỉ máy chủ (server URL): {url}")
    click.echo(
        "Tạo mã QR cho điện thoại (make the QR code for the phones): "
        f"pcmd appuser qr {shlex.quote(shown_name)} --out FILE.png"
    )


@appuser.command("list")
@pass_ctx
def appuser_list(ctx: Context) -> None:
    """Các người dùng ứng dụng (list app users; tokens are never shown)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.server import appusers

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        users = appusers.list_app_users(session)
    engine.dispose()
    if not users:
        click.echo("Chưa có người dùng ứng dụng (no app users yet): run `pcmd appuser create`.")
    for user in users:
        communes = ", ".join(user.commune_codes) or "tất cả (all)"
        state = (
            f"thu hồi (revoked) {_utc_text(user.revoked_at)}"
            if user.revoked_at is not None
            else "hoạt động (active)"
        )
        click.echo(
            f"{user.name:24} tạo (created) {_utc_text(user.created_at)}  {state}  "
            f"xã (communes): {communes}"
        )


@appuser.command("revoke")
@click.argument("name")
@pass_ctx
def appuser_revoke(ctx: Context, name: str) -> None:
    """Thu hồi người dùng ứng dụng: mọi điện thoại dùng mã QR của nó bị từ chối
    (revoke an app user: every phone using its QR code is refused)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.server import appusers

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        already = appusers.get_app_user(session, name).revoked_at is not None
        user = appusers.revoke_app_user(session, name)
        shown_name, revoked_at = user.name, user.revoked_at
    engine.dispose()
    assert revoked_at is not None
    label = "Đã thu hồi từ trước (already revoked)" if already else "Đã thu hồi (revoked)"
    click.echo(f"{label} {shown_name} — {_utc_text(revoked_at)}")


@appuser.command("qr")
@click.argument("name")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="File to write: FILE.png (or FILE.svg).",
)
@click.option("--base-url", help="Address phones use to reach this server (PCMD_BASE_URL).")
@pass_ctx
def appuser_qr(ctx: Context, name: str, out: str, base_url: str | None) -> None:
    """Ghi mã QR cấu hình ODK Collect (write the ODK Collect configuration QR code)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.server import appusers
    from pcmd.server.keys import secret_key

    settings = ctx.settings(base_url=base_url)
    engine = engine_from_settings(settings)
    with transaction(engine) as session:
        user = appusers.get_app_user(session, name)
        if user.revoked_at is not None:
            raise PcmdError(
                f"{user.name} đã bị thu hồi lúc {_utc_text(user.revoked_at)}, mã QR sẽ bị từ "
                f"chối (app user {user.name!r} is revoked; its QR code would be refused). "
                "Fix: create a new app user with `pcmd appuser create`."
            )
        token = appusers.token_for(user, secret_key(settings))
        collect = appusers.collect_settings(
            appusers.server_url(settings.base_url, token, user.project_id),
            appusers.project_name(session, user),
        )
        shown_name = user.name
    engine.dispose()
    payload = appusers.qr_payload(collect)
    target = Path(out)
    try:
        if target.suffix.lower() == ".svg":
            target.write_text(appusers.qr_svg(payload), encoding="utf-8")
        else:
            target.write_bytes(appusers.qr_png(payload))
    except OSError as exc:
        raise PcmdError(
            f"Không ghi được {target} (cannot write {target}): {exc.strerror}. "
            "Fix: check the folder exists and is writable."
        ) from None
    click.echo(
        f"{target}: mã QR của (QR code of) {shown_name} → {settings.base_url}. "
        "Trong ODK Collect: Configure with QR code (quét bằng điện thoại / scan with the phone)."
    )


# --- submissions -----------------------------------------------------------------------------


@cli.group()
def submissions() -> None:
    """Phiếu đã nhận (submissions)."""


@submissions.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@pass_ctx
def submissions_import(ctx: Context, folder: str) -> None:
    """Nhập thư mục phiếu của ODK Collect/Briefcase (import instance folders: <name>/<name>.xml
    or …/submission.xml, with their attachments)."""
    from pcmd.db.engine import engine_from_settings
    from pcmd.ingest.files import FileStore
    from pcmd.sync.folder import import_folder

    settings = ctx.settings()
    engine = engine_from_settings(settings)
    store = FileStore(settings.data_dir / "attachments")
    counts: dict[str, int] = {}
    for result in import_folder(engine, store, Path(folder)):
        counts[result.status] = counts.get(result.status, 0) + 1
        click.echo(f"{result.folder.name}: {result.status} {result.detail}")
    engine.dispose()
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
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.reports.submissions import Table, submissions_table, write_csv, write_json

    engine = engine_from_settings(ctx.settings())
    write: Callable[[Table, IO[str]], int] = write_csv if fmt == "csv" else write_json
    with transaction(engine) as session:
        table = submissions_table(session, form_id)
        if out:
            with open(out, "w", encoding="utf-8", newline="") as handle:
                count = write(table, handle)
            click.echo(f"{out}: {count} phiếu (submissions)", err=True)
        else:
            write(table, sys.stdout)
    engine.dispose()


# --- web users -------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Người dùng trang web (web users)."""


@user.command("create")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "province_reviewer", "commune_officer", "viewer"]),
)
@click.option(
    "--org",
    "orgs",
    multiple=True,
    required=True,
    help="Org unit the user may see: VN, a province or a commune code (repeatable).",
)
@click.option(
    "--password-env",
    help="Read the password from this environment variable instead of asking for it.",
)
@pass_ctx
def user_create(
    ctx: Context, name: str, role: str, orgs: tuple[str, ...], password_env: str | None
) -> None:
    """Tạo người dùng (create a web user); the password is asked for, never shown."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.server.accounts import create_user

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise PcmdError(
                f"Biến môi trường {password_env} trống hoặc chưa đặt (environment variable "
                f"{password_env} is empty or not set)."
            )
    else:
        password = click.prompt("Mật khẩu (password)", hide_input=True, confirmation_prompt=True)
    engine = engine_from_settings(ctx.settings())
    with transaction(engine, write=True) as session:
        created = create_user(session, name, password, role, orgs)
        label = f"{created.username} ({created.role}: {', '.join(orgs)})"
    engine.dispose()
    click.echo(f"Đã tạo người dùng (user created): {label}")


# --- reference data and rules ----------------------------------------------------------------
# DESIGN §7 imports (all or nothing, line-numbered errors) and the validation rule catalogue.


def _read_utf8(file: str) -> str:
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PcmdError(
            f"{file}: không phải UTF-8 (not UTF-8). Fix: in Excel use Save As → CSV UTF-8."
        ) from None


@cli.group()
def reference() -> None:
    """Số liệu tham chiếu làm mẫu số (reference data: the denominators of the indicators)."""


@reference.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def reference_import(ctx: Context, file: str) -> None:
    """Nhập CSV org_unit,year,key,value (import reference values; a value already stored for the
    same org unit, year and key is replaced)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.masterdata.reference import import_reference_values

    text = _read_utf8(file)
    engine = engine_from_settings(ctx.settings())
    with transaction(engine, write=True) as session:
        result = import_reference_values(session, text, file)
    engine.dispose()
    click.echo(f"{file}: {result.describe()}")


@cli.group()
def establishments() -> None:
    """Danh sách cơ sở kinh doanh dịch vụ dễ phát sinh tệ nạn mại dâm (establishment register)."""


@establishments.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def establishments_import(ctx: Context, file: str) -> None:
    """Nhập CSV id,name,type,commune,address,license_no,status (import the register; the forms'
    establishments.csv is regenerated)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.forms.registry import refresh_media
    from pcmd.masterdata.reference import import_establishments

    text = _read_utf8(file)
    engine = engine_from_settings(ctx.settings())
    with transaction(engine, write=True) as session:
        result = import_establishments(session, text, file)
        # Phones must be offered the register as it now is: closed ones go, new ones appear.
        refresh_media(session)
    engine.dispose()
    click.echo(f"{file}: {result.describe()}")
    click.echo(
        "establishments.csv đã cập nhật cho ODK Collect; với KoboToolbox/ODK Central hãy tải lại "
        "tệp này (updated for ODK Collect; upload it again to Kobo/Central): "
        "pcmd forms media --out DIR"
    )


@cli.group()
def targets() -> None:
    """Chỉ tiêu được giao (targets per indicator, org unit and period)."""


@targets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@pass_ctx
def targets_import(ctx: Context, file: str) -> None:
    """Nhập CSV indicator,org_unit,period,target (import targets; periods YYYYMM, YYYYQn, YYYY
    or YYYY-YYYY)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.masterdata.reference import import_targets
    from pcmd.pipeline.programmes import programme_indicators

    text = _read_utf8(file)
    engine = engine_from_settings(ctx.settings())
    with transaction(engine, write=True) as session:
        result = import_targets(session, text, file, indicators=programme_indicators(session))
    engine.dispose()
    click.echo(f"{file}: {result.describe()}")


@cli.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as a JSON list.")
def rules_list(as_json: bool) -> None:
    """Các quy tắc kiểm tra phiếu (the validation rules: code, severity, Vietnamese, English).

    error: phiếu không được tính vào chỉ tiêu cho đến khi sửa hoặc được chấp nhận (the record is
    left out of the indicators until fixed or accepted); warning: phiếu vẫn được tính (counted).
    """
    import json

    from pcmd.pipeline.validate.rules import rule_rows

    rows = rule_rows()
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['code']:10} {row['severity']:8} {row['title_vi']}")
        click.echo(f"{'':19} ({row['title_en']})")
        click.echo(f"{'':19} {row['message_vi']}")
        click.echo(f"{'':19} ({row['message_en']})")


# --- demo ------------------------------------------------------------------------------------


@cli.command()
@click.option("--province", default="51", show_default=True, help="Province code to fill.")
@click.option("--years", default=2, show_default=True, help="Years of records up to today.")
@pass_ctx
def demo(ctx: Context, province: str, years: int) -> None:
    """Tạo dữ liệu mẫu cho một tỉnh (fill an empty database with a demo province). Set
    PCMD_DEMO_PASSWORD to also create the web user `demo` (reviewer of that province)."""
    import random

    from sqlalchemy import func, select

    from pcmd import demo as generator
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.db.models import Form, OrgUnit, Submission
    from pcmd.forms.registry import refresh_media
    from pcmd.ingest.files import FileStore
    from pcmd.ingest.ingest import FormLookup, Incoming, ingest_with_retry
    from pcmd.masterdata.reference import import_establishments, import_reference_values

    settings = ctx.settings()
    engine = engine_from_settings(settings)
    with transaction(engine) as session:
        if not session.scalar(select(func.count()).select_from(Form)):
            raise PcmdError("Chưa có biểu mẫu: hãy chạy `pcmd init` trước (run `pcmd init` first).")
        if session.scalar(select(func.count()).select_from(Submission)):
            raise PcmdError(
                "CSDL đã có phiếu; dữ liệu mẫu chỉ nạp vào CSDL trống (the database already has "
                "submissions: the demo fills an empty one only)."
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
    start = dt.date(today.year - years + 1, 1, 1)
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
    store = FileStore(settings.data_dir / "attachments")
    forms = FormLookup()
    count = 0
    for xml in generator.submissions(province, communes, register, start, today, rng):
        ingest_with_retry(
            engine, store, Incoming(xml=xml, source="openrosa", submitter="appuser:demo"), forms
        )
        count += 1
    click.echo(
        f"Dữ liệu mẫu (demo): {len(communes)} xã, {len(register)} cơ sở, {count} phiếu "
        f"(communes, establishments, submissions) {start:%d/%m/%Y}–{today:%d/%m/%Y}"
    )
    password = os.environ.get("PCMD_DEMO_PASSWORD")
    if password:
        from pcmd.server.accounts import create_user

        with transaction(engine, write=True) as session:
            create_user(session, "demo", password, "province_reviewer", [province], actor="demo")
        click.echo("Người dùng web `demo` đã được tạo (web user `demo` created).")
    try:
        from pcmd.pipeline.run import run_pipeline  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        click.echo("(chưa có pipeline để tính chỉ tiêu / no pipeline yet to compute indicators)")
    else:
        run_pipeline(engine, full=True)
    engine.dispose()


# --- sources and sync ------------------------------------------------------------------------
# Sources name the environment variables holding their secrets; no command prints a value.


@cli.group("source")
def source_group() -> None:
    """Nguồn KoboToolbox / ODK Central để kéo phiếu về (KoboToolbox and ODK Central sources)."""


@source_group.group("add")
def source_add() -> None:
    """Thêm nguồn (add a source)."""


def _add_source(ctx: Context, **values: Any) -> None:
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.sync.sources import add_source

    settings = ctx.settings()
    engine = engine_from_settings(settings)
    with transaction(engine, write=True) as session:
        source = add_source(session, **values)
    engine.dispose()
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
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.sync.sources import list_sources

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        sources = list_sources(session)
    engine.dispose()
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
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.sync.sources import remove_source

    engine = engine_from_settings(ctx.settings())
    with transaction(engine, write=True) as session:
        remove_source(session, name)
    engine.dispose()
    click.echo(f"Đã xoá nguồn (removed source) {name}; các phiếu vẫn giữ (submissions kept).")


@cli.group("sync")
def sync_group() -> None:
    """Đồng bộ phiếu từ các nguồn (pull submissions from the sources)."""


@sync_group.command("run")
@click.argument("name", required=False)
@click.option("--full", is_flag=True, help="Re-read every record from the start (and deletions).")
@pass_ctx
def sync_run(ctx: Context, name: str | None, full: bool) -> None:
    """Kéo phiếu mới, sửa, xoá từ một nguồn hoặc mọi nguồn đang bật (sync one source, or every
    enabled source). A progress bar on a terminal, else one summary line per source."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.ingest.files import FileStore
    from pcmd.sync.runner import SyncReport, sync_source
    from pcmd.sync.sources import get_source, list_sources

    settings = ctx.settings()
    engine = engine_from_settings(settings)
    store = FileStore(settings.data_dir / "attachments")
    with transaction(engine) as session:
        sources = [get_source(session, name)] if name else list_sources(session, enabled_only=True)
    if not sources:
        click.echo("Chưa có nguồn nào đang bật (no enabled sources): pcmd source add …")
    failed: list[SyncReport] = []
    for source in sources:
        if sys.stdout.isatty():
            with click.progressbar(length=0, label=source.name, show_pos=True) as bar:

                def progress(done: int, total: int | None, bar: Any = bar) -> None:
                    if total is not None and total > bar.length:
                        bar.length = total
                    bar.update(done)

                report = sync_source(engine, store, source, settings, full=full, progress=progress)
        else:
            report = sync_source(engine, store, source, settings, full=full)
        click.echo(report.summary())
        for problem in report.problems[:5]:
            click.echo(f"  bị từ chối (refused) {problem}")
        if report.error:
            failed.append(report)
    engine.dispose()
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

    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.db.models import SyncState
    from pcmd.sync.sources import list_sources

    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        sources = list_sources(session)
        states = {s.source: s for s in session.query(SyncState).all()}
    engine.dispose()
    if not sources:
        click.echo("Chưa có nguồn (no sources yet): pcmd source add kobo|central …")
    for source in sources:
        state = states.get(source.name)
        click.echo(f"{source.name} ({source.kind}{'' if source.enabled else ', tắt / disabled'})")
        if state is None:
            click.echo("  chưa đồng bộ lần nào (never synced)")
            continue
        cursor = json.dumps(state.cursor, ensure_ascii=False, sort_keys=True)
        success = _utc_text(state.last_success_at) if state.last_success_at else "—"
        click.echo(f"  con trỏ (cursor): {cursor}")
        click.echo(f"  thành công gần nhất (last success): {success}")
        if state.last_error_at is not None:
            click.echo(f"  lỗi gần nhất (last error): {_utc_text(state.last_error_at)}")
            click.echo(f"    {state.last_error}")
        else:
            click.echo("  lỗi gần nhất (last error): —")


@cli.command("scheduler")
@pass_ctx
def scheduler_command(ctx: Context) -> None:
    """Chạy lịch đồng bộ (run the scheduled syncs in the foreground, without the web server).
    With `pcmd serve` running too, one of them runs the jobs (a database lease)."""
    import signal
    import threading

    from pcmd.db.engine import engine_from_settings
    from pcmd.jobs.scheduler import SyncScheduler

    settings = ctx.settings()
    _setup_logging(settings)
    engine = engine_from_settings(settings)
    scheduler = SyncScheduler(settings, engine)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_args: stop.set())
    scheduler.start()
    click.echo(f"Lịch đồng bộ đang chạy (scheduler running) as {scheduler.holder}; Ctrl-C stops.")
    try:
        stop.wait()
    finally:
        scheduler.shutdown()
        engine.dispose()


# --- pipeline and indicators -----------------------------------------------------------------


@cli.group()
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
    from pcmd.db.engine import engine_from_settings
    from pcmd.pipeline.run import run_pipeline

    engine = engine_from_settings(ctx.settings())
    try:
        summary = run_pipeline(engine, full=full, today=today.date() if today else None)
    finally:
        engine.dispose()
    click.echo(summary.describe())


@cli.command("indicators")
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
    """Chỉ tiêu theo kỳ và đơn vị (indicator values for a period and org unit, DESIGN §8)."""
    import json

    from pcmd.db.engine import engine_from_settings
    from pcmd.pipeline.indicators import query

    engine = engine_from_settings(ctx.settings())
    try:
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
    finally:
        engine.dispose()
    click.echo(query.to_json(rows) if fmt == "json" else query.to_csv(rows), nl=fmt == "json")


@cli.group()
def programmes() -> None:
    """Chương trình và kế hoạch (programme files: the national programme, province plans)."""


@programmes.command("list")
@pass_ctx
def programmes_list(ctx: Context) -> None:
    """Liệt kê các chương trình đang tính (list the programmes the pipeline computes)."""
    from pcmd.db.engine import engine_from_settings
    from pcmd.pipeline.programmes import active_programmes

    engine = engine_from_settings(ctx.settings())
    try:
        with engine.connect() as conn:
            found = active_programmes(conn)
    finally:
        engine.dispose()
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
    from pcmd.db.engine import engine_from_settings, write_connection
    from pcmd.pipeline.programmes import add_programme

    text = Path(file).read_text(encoding="utf-8")
    engine = engine_from_settings(ctx.settings())
    try:
        with write_connection(engine) as conn:
            prog = add_programme(conn, text, Path(file).name)
    finally:
        engine.dispose()
    click.echo(
        f"Đã bật (switched on) {prog.id}: {len(prog.indicators)} chỉ tiêu (indicators), "
        f"{prog.org}, {prog.period}. Next: pcmd pipeline run"
    )


@programmes.command("remove")
@click.argument("programme_id")
@pass_ctx
def programmes_remove(ctx: Context, programme_id: str) -> None:
    """Tắt một tệp chương trình và xoá các giá trị của nó (switch a programme file off)."""
    from pcmd.db.engine import engine_from_settings, write_connection
    from pcmd.pipeline.programmes import remove_programme

    engine = engine_from_settings(ctx.settings())
    try:
        with write_connection(engine) as conn:
            remove_programme(conn, programme_id)
    finally:
        engine.dispose()
    click.echo(f"Đã tắt (switched off) {programme_id}.")


# --- reports ---------------------------------------------------------------------------------


@cli.command()
@click.option("--period", required=True, help="Quarter (2026Q3) or year (2026).")
@click.option("--org", default="VN", show_default=True, help="Org unit code.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="FILE.xlsx (Excel), FILE.zip (CSV tables) or FILE.json (DHIS2).",
)
@pass_ctx
def report(ctx: Context, period: str, org: str, out: str) -> None:
    """Lập báo cáo gửi cấp trên (the report for a unit and period: Excel, CSV or DHIS2)."""
    from pcmd.db.engine import engine_from_settings, transaction
    from pcmd.reports.build import report_data
    from pcmd.reports.excel import csv_tables, dhis2_data_value_set, workbook

    suffix = Path(out).suffix.lower()
    if suffix not in (".xlsx", ".zip", ".json"):
        raise PcmdError(f"{out}: cần đuôi .xlsx, .zip hoặc .json (use .xlsx, .zip or .json).")
    engine = engine_from_settings(ctx.settings())
    with transaction(engine) as session:
        data = report_data(session, org, period, dt.date.today())
    engine.dispose()
    if suffix == ".xlsx":
        content = workbook(data)
    elif suffix == ".zip":
        content = csv_tables(data)
    else:
        content = dhis2_data_value_set([*data.indicators, *data.breakdown]).encode("utf-8")
    Path(out).write_bytes(content)
    click.echo(f"{out}: {data.unit_name}, {period}, {len(data.indicators)} chỉ tiêu (indicators)")


# --- entry point -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="pcmd", standalone_mode=False)
    except PcmdError as exc:
        click.echo(f"Lỗi (error): {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Đã huỷ (aborted).", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("PCMD_DEBUG"):
            raise
        from sqlalchemy.exc import OperationalError, ProgrammingError

        if isinstance(exc, OperationalError | ProgrammingError) and any(
            word in str(exc.orig) for word in ("no such table", "does not exist", "no such column")
        ):
            click.echo(
                "Lỗi (error): cấu trúc CSDL cũ hơn phiên bản pcmd này (the database schema is "
                "older than this pcmd). Fix: run `pcmd init`, which migrates it.",
                err=True,
            )
            sys.exit(1)
        click.echo(
            f"Lỗi nội bộ (internal error): {exc.__class__.__name__}: {exc}. "
            "Run again with PCMD_DEBUG=1 for details and report it.",
            err=True,
        )
        sys.exit(2)
