"""App users: tokens, authentication, revocation and the Collect QR code."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
import unicodedata
import zlib
from collections.abc import Iterator

import pytest
import segno
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pcmd.db.engine import transaction
from pcmd.db.models import AppUser, AuditLog, Base, OrgUnit
from pcmd.errors import AuthError, PcmdError
from pcmd.server.openrosa import appusers

KEY = b"test-key"
NONCE = "00112233445566778899aabbccddeeff"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a database holding province 01, communes 00004 and 00008 in force and
    00007 closed."""
    with transaction(engine) as s:
        day = dt.date(2025, 7, 1)
        s.add_all(
            [
                OrgUnit(code="VN", name="Việt Nam", level="country", valid_from=day),
                OrgUnit(
                    code="01", name="Hà Nội", level="province", parent_code="VN", valid_from=day
                ),
                OrgUnit(
                    code="00004",
                    name="Phường Ba Đình",
                    level="commune",
                    parent_code="01",
                    valid_from=day,
                ),
                OrgUnit(
                    code="00008",
                    name="Phường Ngọc Hà",
                    level="commune",
                    parent_code="01",
                    valid_from=day,
                ),
                OrgUnit(
                    code="00007",
                    name="Phường Cũ",
                    level="commune",
                    parent_code="01",
                    valid_from=dt.date(2020, 1, 1),
                    valid_to=day,
                ),
            ]
        )
        s.flush()
        yield s


# --- tokens ----------------------------------------------------------------------------------


def test_derive_token__fixed_nonce_and_key__known_value() -> None:
    # openssl dgst -sha256 -hmac test-key -binary <<< "pcmd-appuser:<NONCE>" | base64url
    assert appusers.derive_token(NONCE, KEY) == "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg"
    assert appusers.derive_token(NONCE, KEY) == "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg"


def test_derive_token__other_key__other_token() -> None:
    assert appusers.derive_token(NONCE, b"other-key") == (
        "xxmlfvJhUT5LR0yjrLzZpSFcGeFuBBMTMJ5akI5ttdc"
    )


def test_create_app_user__token__round_trip(session: Session) -> None:
    user, token = appusers.create_app_user(session, "Xã Ba Đình 1", ["00004"], KEY)
    assert len(token) == 43
    assert appusers.TOKEN_RE.fullmatch(token)
    assert appusers.authenticate(session, token) is user
    assert appusers.token_for(user, KEY) == token
    assert user.project_id == 1
    assert user.commune_codes == ["00004"]


def test_create_app_user__token__stored_nowhere(session: Session) -> None:
    _user, token = appusers.create_app_user(session, "Xã Ba Đình 1", ["00004", "00008"], KEY)
    session.flush()
    seen = 0
    for table in Base.metadata.sorted_tables:  # every column of every row, audit log included
        for row in session.execute(select(table)).all():
            seen += 1
            assert token not in repr(tuple(row))
    assert seen > 5
    assert session.scalar(select(AuditLog.action)) == "appuser.create"


def test_token_for__other_key__refused(session: Session) -> None:
    user, _token = appusers.create_app_user(session, "Xã 2", [], KEY)
    with pytest.raises(PcmdError, match=r"khoá bí mật đã khác lúc tạo"):
        appusers.token_for(user, b"other-key")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tG",  # 42 characters
        "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGgA",  # 44 characters
        "2qnaH/Ao+nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg",  # standard base64 alphabet
        "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg\n",
    ],
)
def test_authenticate__malformed__401(session: Session, token: str) -> None:
    with pytest.raises(AuthError, match=r"^Mã truy cập sai định dạng \(malformed token\)") as err:
        appusers.authenticate(session, token)
    assert err.value.status == 401


def test_authenticate__unknown__403(session: Session) -> None:
    appusers.create_app_user(session, "Xã 1", [], KEY)
    with pytest.raises(AuthError, match=r"không hợp lệ hoặc đã bị thu hồi") as err:
        appusers.authenticate(session, "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg")
    assert err.value.status == 403


def test_authenticate__revoked__403(session: Session) -> None:
    _user, token = appusers.create_app_user(session, "Xã 1", [], KEY)
    appusers.revoke_app_user(session, "Xã 1")
    with pytest.raises(AuthError, match=r"\(unknown or revoked token\)") as err:
        appusers.authenticate(session, token)
    assert err.value.status == 403


# --- app users -------------------------------------------------------------------------------


def test_create_app_user__duplicate_name__error(session: Session) -> None:
    appusers.create_app_user(session, "Xã Ba Đình 1", [], KEY)
    decomposed = unicodedata.normalize("NFD", " Xã Ba Đình 1 ")  # as some keyboards type it
    with pytest.raises(PcmdError, match=r"^Đã có người dùng ứng dụng tên 'Xã Ba Đình 1'"):
        appusers.create_app_user(session, decomposed, [], KEY)


def test_create_app_user__revoked_name__still_taken(session: Session) -> None:
    appusers.create_app_user(session, "Xã 1", [], KEY)
    appusers.revoke_app_user(session, "Xã 1")
    with pytest.raises(PcmdError, match=r"already exists; names of revoked app users stay taken"):
        appusers.create_app_user(session, "Xã 1", [], KEY)


@pytest.mark.parametrize("name", ["", "   ", "xa/1", "xa;drop", "a" * 101, "tab\there"])
def test_create_app_user__bad_name__error(session: Session, name: str) -> None:
    with pytest.raises(PcmdError, match=r"không hợp lệ.*\(invalid app user name"):
        appusers.create_app_user(session, name, [], KEY)


@pytest.mark.parametrize("name", ["Xã Tân Lập 1", "cb.nguyen-van_a", "a" * 100, "Đặc khu 7"])
def test_create_app_user__good_name__kept(session: Session, name: str) -> None:
    user, _token = appusers.create_app_user(session, name, [], KEY)
    assert user.name == name


def test_create_app_user__unknown_communes__lists_them_creates_nothing(session: Session) -> None:
    # 00007 is closed and 01 is a province: neither is a commune in force.
    with pytest.raises(PcmdError) as err:
        appusers.create_app_user(session, "Xã 1", ["00004", "99999", "00007", "01"], KEY)
    assert "mã 99999, 00007, 01 (no commune in force with code(s) 99999, 00007, 01)" in str(
        err.value
    )
    assert session.scalar(select(AppUser)) is None


def test_create_app_user__communes__deduplicated_in_order(session: Session) -> None:
    user, _token = appusers.create_app_user(session, "Xã 1", ["00008", " 00004", "00008"], KEY)
    assert user.commune_codes == ["00008", "00004"]


def test_create_app_user__audit_row__names_communes_not_token(session: Session) -> None:
    appusers.create_app_user(session, "Xã 1", ["00004"], KEY)
    row = session.scalars(select(AuditLog)).one()
    assert (row.actor, row.action, row.target, row.details) == (
        "cli",
        "appuser.create",
        "Xã 1",
        {"communes": ["00004"]},
    )


def test_get_app_user__unknown__says_so_and_suggests_list(session: Session) -> None:
    with pytest.raises(PcmdError, match=r"no app user named 'Xã 9'\)\. See `pcmd appuser list`"):
        appusers.get_app_user(session, "Xã 9")


def test_revoke_app_user__twice__keeps_first_date_one_audit_row(session: Session) -> None:
    appusers.create_app_user(session, "Xã 1", [], KEY)
    first = appusers.revoke_app_user(session, "Xã 1").revoked_at
    session.expire_all()  # read the second date back from the database
    second = appusers.revoke_app_user(session, "Xã 1").revoked_at
    assert first is not None
    assert second is not None
    # SQLite gives back naive UTC, PostgreSQL an aware time.
    assert second.replace(tzinfo=second.tzinfo or dt.UTC) == first
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["appuser.create", "appuser.revoke"]


def test_list_app_users__by_name(session: Session) -> None:
    for name in ["Xã B", "Xã A", "Xã C"]:
        appusers.create_app_user(session, name, [], KEY)
    assert [u.name for u in appusers.list_app_users(session)] == ["Xã A", "Xã B", "Xã C"]


# --- Collect configuration -------------------------------------------------------------------


def test_server_url__central_layout() -> None:
    assert appusers.server_url("https://pcmd.example.vn", "T" * 43) == (
        "https://pcmd.example.vn/v1/key/TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT/projects/1"
    )
    assert appusers.server_url("http://10.0.0.5:8000", "tok", 3).endswith("/v1/key/tok/projects/3")


def test_qr_payload__decodes_to_collect_settings() -> None:
    url = appusers.server_url(
        "http://192.168.1.10:8000", "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg"
    )
    payload = appusers.qr_payload(appusers.collect_settings(url, "Phòng, chống mại dâm"))
    # As Collect reads it: base64 (standard alphabet) → zlib inflate → UTF-8 JSON.
    decoded = json.loads(zlib.decompress(base64.b64decode(payload, validate=True)))
    assert decoded == {
        "general": {
            "server_url": "http://192.168.1.10:8000/v1/key/"
            "2qnaH_Ao_nHxsyrVMESXDiyOj9QoPhZeFIUXkNc6tGg/projects/1",
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "project": {"name": "Phòng, chống mại dâm"},
        "admin": {},
    }


def _png_pixels(png: bytes) -> list[list[int]]:
    """Rows of 0/1 of a 1-bit greyscale PNG without interlacing (what segno writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, colour, interlace) == (1, 0, 0)
    raw = zlib.decompress(idat)
    stride = (width + 7) // 8 + 1
    rows = []
    prev = bytes(stride - 1)
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        filter_type, row = line[0], bytearray(line[1:])
        if filter_type == 2:  # "up": each byte is stored as the difference from the one above
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
        else:
            assert filter_type == 0
        prev = bytes(row)
        rows.append([(row[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    return rows


def test_qr_png__png_of_the_payload_code() -> None:
    payload = appusers.qr_payload(
        appusers.collect_settings("http://127.0.0.1:8000/v1/key/" + "A" * 43 + "/projects/1", "P")
    )
    png = appusers.qr_png(payload)
    pixels = _png_pixels(png)
    code = segno.make(payload, error="L", micro=False)
    modules = [[int(bool(v)) for v in row] for row in code.matrix]
    size = len(modules)
    assert len(pixels) == len(pixels[0]) == (size + 2 * 4) * 8  # 8 px per module, border 4
    # Sample each module's centre: dark modules are black (0) in the PNG.
    for y in range(size):
        for x in range(size):
            assert pixels[(y + 4) * 8 + 4][(x + 4) * 8 + 4] == 1 - modules[y][x]
    assert all(v == 1 for v in pixels[0])  # the quiet zone is white


def test_qr_svg__an_svg_document() -> None:
    svg = appusers.qr_svg(appusers.qr_payload(appusers.collect_settings("http://h/x", "P")))
    assert svg.startswith("<svg")
    assert svg.rstrip().endswith("</svg>")
