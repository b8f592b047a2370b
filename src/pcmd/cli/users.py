"""`pcmd user create|password|disable|enable`: web users and their passwords."""

from __future__ import annotations

import os

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError

# server/accounts.py ROLES and LEGACY_ROLES, named here so `pcmd` starts without loading the
# server (tests/server/test_accounts.py checks they agree)
ROLE_CHOICES = (
    "national_admin",
    "province_admin",
    "province_reviewer",
    "commune_officer",
    "viewer",
    "admin",
)


@click.group()
def user() -> None:
    """Người dùng trang web (web users)."""


@user.command("create")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(ROLE_CHOICES),
    help="national_admin (VN), province_admin, province_reviewer (a province), commune_officer "
    "(communes); viewer: read only; admin: national_admin with VN, else province_admin.",
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
    from pcmd.server.accounts import create_user

    password = _password(password_env)
    with ctx.session(write=True) as session:
        created = create_user(session, name, password, role, orgs)
        label = f"{created.username} ({created.role}: {', '.join(orgs)})"
    click.echo(f"Đã tạo người dùng (user created): {label}")


def _password(password_env: str | None) -> str:
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise PcmdError(
                f"Biến môi trường {password_env} trống hoặc chưa đặt (environment variable "
                f"{password_env} is empty or not set)."
            )
        return password
    entered: str = click.prompt("Mật khẩu (password)", hide_input=True, confirmation_prompt=True)
    return entered


@user.command("password")
@click.argument("name")
@click.option(
    "--password-env",
    help="Read the new password from this environment variable instead of asking for it.",
)
@pass_ctx
def user_password(ctx: Context, name: str, password_env: str | None) -> None:
    """Đặt mật khẩu mới (set a new password); the user's open sessions end at once."""
    from pcmd.server.accounts import set_password

    password = _password(password_env)
    with ctx.session(write=True) as session:
        ended = set_password(session, name, password)
    click.echo(
        f"Đã đổi mật khẩu của {name}; {ended} phiên đăng nhập đã kết thúc (password changed; "
        f"{ended} session(s) ended)."
    )


@user.command("disable")
@click.argument("name")
@pass_ctx
def user_disable(ctx: Context, name: str) -> None:
    """Khoá người dùng (disable a web user): refused at once on every server process."""
    from pcmd.server.accounts import disable_user

    with ctx.session(write=True) as session:
        ended = disable_user(session, name)
    click.echo(
        f"Đã khoá {name}; {ended} phiên đăng nhập đã kết thúc (user disabled; {ended} "
        "session(s) ended)."
    )


@user.command("enable")
@click.argument("name")
@pass_ctx
def user_enable(ctx: Context, name: str) -> None:
    """Mở khoá người dùng (enable a disabled web user again)."""
    from pcmd.server.accounts import enable_user

    with ctx.session(write=True) as session:
        enable_user(session, name)
    click.echo(f"Đã mở khoá {name} (user enabled).")
