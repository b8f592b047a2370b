"""What ODK Collect sends: instance XML of the shipped forms, and its multipart uploads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import httpx
from sqlalchemy import Engine

from pcmd.db.engine import transaction
from pcmd.forms.convert import FormBuild, convert_workbook
from pcmd.forms.registry import refresh_media, shipped_workbooks_dir, store_build
from pcmd.masterdata.orgunits import load_shipped
from pcmd.server.app import create_app
from pcmd.server.keys import secret_key
from pcmd.server.openrosa.appusers import create_app_user, revoke_app_user
from pcmd.settings import Settings
from tests.live_server import bound_socket, serve_in_thread
from tests.server.loaded_copy import copy_loaded

VERSION = "2026112301"
# Quảng Ngãi (51): Phường Cẩm Thành 21025, Phường Nghĩa Lộ 21028.
PROVINCE, COMMUNE, OTHER_COMMUNE = "51", "21025", "21028"
# A 1×1 JPEG is enough: pcmd stores bytes, it does not decode images.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b"
    "080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b510"
    "0002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1"
    "f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a6364656667"
    "68696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2"
    "c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00"
    "fbd0ffd9"
)


def new_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def outreach_xml(
    instance_id: str,
    *,
    commune: str = COMMUNE,
    students: int = 40,
    photo: str = "",
    deprecated_id: str | None = None,
    form_id: str = "pcmd_outreach",
    version: str = VERSION,
) -> bytes:
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0"?><{form_id} xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
        "<start>2026-11-20T08:00:00.000+07:00</start><end>2026-11-20T08:20:00.000+07:00</end>"
        "<today>2026-11-20</today><deviceid>collect:AbCdEfGh12345678</deviceid>"
        "<username>can_bo_xa</username>"
        f"<where><province>{PROVINCE}</province><commune>{commune}</commune></where>"
        "<reporter_org>phu_nu</reporter_org><activity_date>2026-11-20</activity_date>"
        "<channel>hoi_nghi</channel><setting>truong_hoc</setting>"
        "<topics>phap_luat hiv_sti</topics><integrated>khong</integrated>"
        "<reach><n_establishment_workers>0</n_establishment_workers>"
        f"<n_industrial_workers>0</n_industrial_workers><n_students>{students}</n_students>"
        f"<n_general>5</n_general><n_female>20</n_female><n_total>{students + 5}</n_total>"
        "</reach><media_items/><materials>30</materials>"
        f"<photo>{photo}</photo><location>15.12 108.8 12.0 5.0</location><notes/>"
        f"<meta><instanceID>{instance_id}</instanceID>{deprecated}"
        "<instanceName>2026-11-20 - Phường Cẩm Thành</instanceName></meta>"
        f"</{form_id}>"
    ).encode()


def multipart(
    xml: bytes, files: dict[str, bytes] | None = None, *, incomplete: bool = False
) -> dict[str, object]:
    """httpx arguments for the POST Collect makes: the XML part first, then each file."""
    parts: list[tuple[str, tuple[str, bytes, str]]] = [
        ("xml_submission_file", ("instance.xml", xml, "text/xml"))
    ]
    for name, content in (files or {}).items():
        parts.append((name, (name, content, "image/jpeg")))
    data = {"*isIncomplete*": "yes"} if incomplete else {}
    return {"files": parts, "data": data}


@cache
def shipped_builds() -> tuple[FormBuild, ...]:
    """The three shipped forms (ODK Validate runs in tests/forms; here only the XForm matters)."""
    return tuple(
        convert_workbook(p.read_bytes(), p.name, validate=False)
        for p in sorted(shipped_workbooks_dir().glob("*.xlsx"))
    )


@dataclass
class Server:
    url: str
    engine: Engine
    settings: Settings
    token: str  # unscoped
    scoped_token: str  # limited to COMMUNE
    revoked_token: str

    def key_url(self, token: str | None = None) -> str:
        return f"{self.url}/v1/key/{token or self.token}/projects/1"


def load_forms(engine: Engine) -> None:
    """The official org units and the shipped forms with their media (into an empty database:
    a copy of what this loading put into one once in this process, see loaded_copy)."""
    if not copy_loaded(engine, _load_forms):
        _load_forms(engine)


def _load_forms(engine: Engine) -> None:
    with transaction(engine) as session:
        load_shipped(session)
        for build in shipped_builds():
            store_build(session, build)
        refresh_media(session)


def prepare(settings: Settings, engine: Engine) -> tuple[str, str, str]:
    """Org units, the three forms with media, and three app users; returns their tokens."""
    secret = secret_key(settings)
    load_forms(engine)
    with transaction(engine) as session:
        _u, token = create_app_user(session, "xa-cam-thanh-all", [], secret)
        _s, scoped = create_app_user(session, "xa-cam-thanh", [COMMUNE], secret)
        _r, revoked = create_app_user(session, "may-cu", [], secret)
    with transaction(engine) as session:
        revoke_app_user(session, "may-cu")
    return token, scoped, revoked


@contextmanager
def running_server(settings: Settings, engine: Engine) -> Iterator[Server]:
    token, scoped, revoked = prepare(settings, engine)
    sock = bound_socket()  # held until uvicorn listens: no other worker takes the port
    port = sock.getsockname()[1]
    # Phones reach the server at base_url, which every URL in a form list is built from.
    settings = replace(settings, base_url=f"http://127.0.0.1:{port}")
    with serve_in_thread(create_app(settings), sock=sock) as url:
        yield Server(url, engine, settings, token, scoped, revoked)


def attachments_dir(settings: Settings) -> Path:
    return settings.data_dir / "attachments"


def post(client: httpx.Client, server: Server, xml: bytes, **kwargs: object) -> httpx.Response:
    files = kwargs.pop("files", None)
    incomplete = bool(kwargs.pop("incomplete", False))
    token = kwargs.pop("token", None)
    return client.post(
        f"{server.key_url(token if isinstance(token, str) else None)}/submission",
        params={"deviceID": "collect:AbCdEfGh12345678"},
        **multipart(xml, files if isinstance(files, dict) else None, incomplete=incomplete),  # type: ignore[arg-type]
    )


TWO_PHOTOS_FORM = """
| survey |
| | type | name | label |
| | begin_group | where | Địa bàn |
| | select_one_from_file communes.csv | commune | Xã |
| | end_group | | |
| | image | before | Ảnh trước |
| | image | after | Ảnh sau |
| settings |
| | form_id | version |
| | two_photos | 2026112301 |
"""


def add_two_photos_form(engine: Engine) -> None:
    """A form with two image fields, so one instance can name two attachments."""
    build = convert_workbook(TWO_PHOTOS_FORM.encode(), "two_photos.md", validate=False)
    with transaction(engine) as session:
        store_build(session, build)
        refresh_media(session)


def two_photos_xml(instance_id: str, before: str, after: str) -> bytes:
    return (
        '<?xml version="1.0"?><two_photos id="two_photos" version="2026112301">'
        f"<where><commune>{COMMUNE}</commune></where><before>{before}</before>"
        f"<after>{after}</after><meta><instanceID>{instance_id}</instanceID></meta></two_photos>"
    ).encode()
