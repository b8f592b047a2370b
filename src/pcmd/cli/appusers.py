"""`pcmd appuser …`: ODK Collect app users, their tokens and configuration QR codes.

The token is printed by `appuser create` only (and carried in the QR code); never logged.
"""

from __future__ import annotations

from pathlib import Path

import click

from pcmd.cli.context import Context, pass_ctx, utc_text
from pcmd.errors import PcmdError


@click.group()
def appuser() -> None:
    """Người dùng ứng dụng ODK Collect và mã QR (ODK Collect app users and their QR codes)."""


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
@click.option(
    "--json", "as_json", is_flag=True, help="Print only {name, token, server_url, web_url}."
)
@pass_ctx
def appuser_create(
    ctx: Context, name: str, communes: tuple[str, ...], base_url: str | None, as_json: bool
) -> None:
    """Tạo người dùng ứng dụng (create an app user for ODK Collect)."""
    import json
    import shlex

    from pcmd.server.keys import secret_key
    from pcmd.server.openrosa import appusers
    from pcmd.server.webforms.volunteer import web_url

    settings = ctx.settings(base_url=base_url)
    codes = [c for item in communes for c in item.split(",")]
    with ctx.session() as session:
        user, token = appusers.create_app_user(session, name, codes, secret_key(settings))
        url = appusers.server_url(settings.base_url, token, user.project_id)
        web = web_url(settings.base_url, token, user.project_id)
        shown_name, shown_codes = user.name, list(user.commune_codes)
    if as_json:
        click.echo(
            json.dumps(
                {"name": shown_name, "token": token, "server_url": url, "web_url": web},
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"Đã tạo người dùng ứng dụng (created app user): {shown_name}")
    click.echo(f"Xã (communes): {', '.join(shown_codes) or 'tất cả (all)'}")
    click.echo(f"Địa chỉ máy chủ (server URL): {url}")
    click.echo(f"Điền biểu mẫu trên trình duyệt điện thoại (web forms for a phone browser): {web}")
    click.echo(
        "Tạo mã QR cho điện thoại (make the QR code for the phones): "
        f"pcmd appuser qr {shlex.quote(shown_name)} --out FILE.png"
    )


@appuser.command("list")
@pass_ctx
def appuser_list(ctx: Context) -> None:
    """Các người dùng ứng dụng (list app users; tokens are never shown)."""
    from pcmd.server.openrosa import appusers

    with ctx.session() as session:
        users = appusers.list_app_users(session)
    if not users:
        click.echo("Chưa có người dùng ứng dụng (no app users yet): run `pcmd appuser create`.")
    for user in users:
        communes = ", ".join(user.commune_codes) or "tất cả (all)"
        state = (
            f"thu hồi (revoked) {utc_text(user.revoked_at)}"
            if user.revoked_at is not None
            else "hoạt động (active)"
        )
        click.echo(
            f"{user.name:24} tạo (created) {utc_text(user.created_at)}  {state}  "
            f"xã (communes): {communes}"
        )


@appuser.command("revoke")
@click.argument("name")
@pass_ctx
def appuser_revoke(ctx: Context, name: str) -> None:
    """Thu hồi người dùng ứng dụng: mọi điện thoại dùng mã QR của nó bị từ chối
    (revoke an app user: every phone using its QR code is refused)."""
    from pcmd.server.openrosa import appusers

    with ctx.session() as session:
        already = appusers.get_app_user(session, name).revoked_at is not None
        user = appusers.revoke_app_user(session, name)
        shown_name, revoked_at = user.name, user.revoked_at
    assert revoked_at is not None
    label = "Đã thu hồi từ trước (already revoked)" if already else "Đã thu hồi (revoked)"
    click.echo(f"{label} {shown_name} — {utc_text(revoked_at)}")


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
    from pcmd.server.keys import secret_key
    from pcmd.server.openrosa import appusers

    settings = ctx.settings(base_url=base_url)
    with ctx.session() as session:
        user = appusers.get_app_user(session, name)
        if user.revoked_at is not None:
            raise PcmdError(
                f"{user.name} đã bị thu hồi lúc {utc_text(user.revoked_at)}, mã QR sẽ bị từ "
                f"chối (app user {user.name!r} is revoked; its QR code would be refused). "
                "Fix: create a new app user with `pcmd appuser create`."
            )
        token = appusers.token_for(user, secret_key(settings))
        collect = appusers.collect_settings(
            appusers.server_url(settings.base_url, token, user.project_id),
            appusers.project_name(session, user),
        )
        shown_name = user.name
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
