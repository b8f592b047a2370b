"""`pcmd reminders email USER ADDRESS` (where a web user's reminders go) and `pcmd reminders
send [--date]` (send what is due that day now, as the scheduler does each morning)."""

from __future__ import annotations

import datetime as dt
import re

import click

from pcmd.cli.context import Context, pass_ctx

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@click.group("reminders")
def reminders() -> None:
    """Nhắc nhở qua thư điện tử (e-mail reminders): báo cáo tháng còn thiếu, vụ việc quá hạn."""


@reminders.command("email")
@click.argument("username")
@click.argument("address", required=False)
@pass_ctx
def set_email(ctx: Context, username: str, address: str | None) -> None:
    """Đặt địa chỉ nhận nhắc nhở của người dùng web; bỏ trống để xoá (set a web user's reminder
    address; leave it out to remove it)."""
    from sqlalchemy import delete, insert, select

    from pcmd.db.engine import transaction
    from pcmd.db.models import WebUser
    from pcmd.db.tables import EMAILS

    if address is not None and (len(address) > 254 or not EMAIL_RE.match(address)):
        raise click.UsageError(
            f"Địa chỉ thư {address!r} không hợp lệ (not an e-mail address); ví dụ "
            "(e.g.) canbo@xa.gov.vn"
        )
    with ctx.engine() as engine, transaction(engine, write=True) as session:
        uid = session.scalar(select(WebUser.id).where(WebUser.username == username))
        if uid is None:
            raise click.UsageError(f"Không có người dùng web {username!r} (no such web user).")
        session.execute(delete(EMAILS).where(EMAILS.c.user_id == uid))
        if address is not None:
            session.execute(insert(EMAILS).values(user_id=uid, email=address))
    click.echo(
        f"{username}: {address} (đã lưu / saved)" if address else f"{username}: đã xoá (removed)"
    )


@reminders.command("send")
@click.option("--date", "day", help="The day to act as (YYYY-MM-DD); default today in Vietnam.")
@pass_ctx
def send(ctx: Context, day: str | None) -> None:
    """Gửi ngay các nhắc nhở đến hạn hôm nay (send today's due reminders now)."""
    from pcmd.jobs.reminders import send_reminders
    from pcmd.masterdata.periods import vietnam_today

    try:
        today = dt.date.fromisoformat(day) if day else vietnam_today()
    except ValueError:
        raise click.UsageError(f"Ngày {day!r} không đúng dạng YYYY-MM-DD (bad date).") from None
    with ctx.engine() as engine:
        result = send_reminders(ctx.settings(), engine, today)
    if result.no_mail_server:
        click.echo(
            "Chưa đặt máy chủ thư (smtp_host): không gửi gì; nhắc nhở hiện trên trang Tổng quan "
            "(no mail server set: nothing sent; reminders show on the dashboard)."
        )
        return
    click.echo(f"Đã gửi (sent) {len(result.sent)}, đã gửi trước đó (sent before) {result.skipped}")
