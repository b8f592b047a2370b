"""`pcmd user create`: web users and their passwords."""

from __future__ import annotations

import os

import click

from pcmd.cli.context import Context, pass_ctx
from pcmd.errors import PcmdError


@click.group()
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
    with ctx.session(write=True) as session:
        created = create_user(session, name, password, role, orgs)
        label = f"{created.username} ({created.role}: {', '.join(orgs)})"
    click.echo(f"Đã tạo người dùng (user created): {label}")
