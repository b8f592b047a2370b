"""Migration 0008 on a database made before the four roles: `admin` becomes a national or a
province administrator by its units, other roles keep their names (a viewer stays read only),
and audit entries about users and app users get their province — SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from pcmd.db.engine import make_engine
from pcmd.db.migrate import alembic_config, upgrade
from pcmd.settings import Settings

UNITS = [
    ("VN", "Việt Nam", "country", None),
    ("51", "Tỉnh Quảng Ngãi", "province", "VN"),
    ("48", "Thành phố Đà Nẵng", "province", "VN"),
    ("21025", "Phường Cẩm Thành", "commune", "51"),
]
USERS = [  # id, name, role, units
    (1, "quoc.gia", "admin", ["VN"]),
    (2, "qt.qng", "admin", ["51"]),
    (3, "hoa.qng", "province_reviewer", ["51"]),
    (4, "xem.qng", "viewer", ["51"]),
    (5, "xa.camthanh", "commune_officer", ["21025"]),
    (6, "hai.tinh", "province_reviewer", ["51", "48"]),
]


def test_migration_0008__roles_mapped_audit_provinces_filled(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    command.upgrade(alembic_config(engine), "0007")
    with engine.begin() as conn:
        for code, name, level, parent in UNITS:
            conn.execute(
                text(
                    "INSERT INTO org_units (code, name, level, parent_code, valid_from) "
                    "VALUES (:c, :n, :l, :p, '2025-07-01')"
                ),
                {"c": code, "n": name, "l": level, "p": parent},
            )
        for user_id, name, role, units in USERS:
            conn.execute(
                text(
                    "INSERT INTO web_users (id, username, display_name, password_hash, role, "
                    "created_at) VALUES (:i, :u, :u, 'x', :r, '2026-01-01 00:00:00')"
                ),
                {"i": user_id, "u": name, "r": role},
            )
            for code in units:
                conn.execute(
                    text("INSERT INTO web_user_scopes (user_id, org_code) VALUES (:i, :c)"),
                    {"i": user_id, "c": code},
                )
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, target, details) "
                    "VALUES ('2026-01-01 00:00:00', 'cli', 'user.create', :u, '{}')"
                ),
                {"u": name},
            )
        conn.execute(
            text("INSERT INTO projects (id, name, created_at) VALUES (1, 'P', '2026-01-01')")
        )
        conn.execute(
            text(
                "INSERT INTO app_users (project_id, name, token_nonce, token_hash, commune_codes, "
                "created_at) VALUES (1, 'may-1', 'n', 'h', '[\"21025\"]', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, target, details) VALUES "
                "('2026-01-01 00:00:00', 'cli', 'appuser.revoke', 'may-1', '{}'), "
                "('2026-01-01 00:00:00', 'user:hoa.qng', 'submission.review', '7', '{}')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        roles = {
            str(r[0]): str(r[1]) for r in conn.execute(text("SELECT username, role FROM web_users"))
        }
        must_change = {
            bool(v) for (v,) in conn.execute(text("SELECT must_change_password FROM web_users"))
        }
        provinces = set(
            conn.execute(text("SELECT action, target, province_code FROM audit_log")).all()
        )
    engine.dispose()
    assert roles == {
        "quoc.gia": "national_admin",
        "qt.qng": "province_admin",
        "hoa.qng": "province_reviewer",
        "xem.qng": "viewer",  # read only stays read only
        "xa.camthanh": "commune_officer",
        "hai.tinh": "province_reviewer",
    }
    assert must_change == {False}  # their passwords are their own
    assert provinces == {
        ("user.create", "quoc.gia", None),
        ("user.create", "qt.qng", "51"),
        ("user.create", "hoa.qng", "51"),
        ("user.create", "xem.qng", "51"),
        ("user.create", "xa.camthanh", "51"),
        ("user.create", "hai.tinh", None),  # two provinces: national administrators read it
        ("appuser.revoke", "may-1", "51"),
        ("submission.review", "7", None),  # found through its record when read
    }
