"""issue 13: the four roles, and the province of each audit entry

Web users' roles become the four of the province-run accounts (server/accounts.py):
`admin` scoped to VN → `national_admin`, any other `admin` → `province_admin`.
`province_reviewer` and `commune_officer` keep their names (a commune officer may now review its
commune's records). `viewer` (read only) is left as it is: turning a read-only account into a
reviewer would grant a right nobody granted; an administrator gives it one of the four roles.

`web_users.must_change_password`: a user given a temporary password by an administrator chooses
its own before any other page.

`audit_log.province_code` says which province an entry concerns, so a province administrator's
audit page lists its province's entries. Entries about web users and app users are filled from
their units here; entries about a record are resolved from the record when the page is read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _provinces(conn: sa.Connection, codes: list[str]) -> set[str]:
    """The provinces of org codes: a province is itself, a commune its parent, VN none."""
    if not codes:
        return set()
    units = sa.table("org_units", sa.column("code"), sa.column("level"), sa.column("parent_code"))
    rows = conn.execute(
        sa.select(units.c.code, units.c.level, units.c.parent_code).where(units.c.code.in_(codes))
    ).all()
    out: set[str] = set()
    for code, level, parent in rows:
        if level == "province":
            out.add(str(code))
        elif level == "commune" and parent:
            out.add(str(parent))
    return out


def upgrade() -> None:
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("province_code", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_province_code"), ["province_code"])
    conn = op.get_bind()
    users = sa.table("web_users", sa.column("id"), sa.column("username"), sa.column("role"))
    scopes = sa.table("web_user_scopes", sa.column("user_id"), sa.column("org_code"))
    app_users = sa.table("app_users", sa.column("name"), sa.column("commune_codes", sa.JSON))
    audit = sa.table(
        "audit_log",
        sa.column("action"),
        sa.column("target"),
        sa.column("province_code"),
    )
    province_of_name: dict[str, str] = {}
    for user_id, username, role in conn.execute(
        sa.select(users.c.id, users.c.username, users.c.role)
    ):
        held = sa.select(scopes.c.org_code).where(scopes.c.user_id == user_id)
        codes = [str(row[0]) for row in conn.execute(held)]
        if role == "admin":
            new = "national_admin" if "VN" in codes else "province_admin"
            conn.execute(sa.update(users).where(users.c.id == user_id).values(role=new))
        provinces = _provinces(conn, codes)
        if len(provinces) == 1 and "VN" not in codes:
            province_of_name[str(username)] = provinces.pop()
    for name, province in province_of_name.items():
        conn.execute(
            sa.update(audit)
            .where(audit.c.action.like("user.%"), audit.c.target == name)
            .values(province_code=province)
        )
    for app_name, communes in conn.execute(sa.select(app_users.c.name, app_users.c.commune_codes)):
        listed = [str(c) for c in communes] if isinstance(communes, list) else []
        of_app_user = _provinces(conn, listed)
        if len(of_app_user) == 1:
            conn.execute(
                sa.update(audit)
                .where(audit.c.action.like("appuser.%"), audit.c.target == app_name)
                .values(province_code=of_app_user.pop())
            )


def downgrade() -> None:
    conn = op.get_bind()
    users = sa.table("web_users", sa.column("role"))
    conn.execute(
        sa.update(users)
        .where(users.c.role.in_(["national_admin", "province_admin"]))
        .values(role="admin")
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_province_code"))
        batch_op.drop_column("province_code")
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
