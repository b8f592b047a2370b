"""Cases as ODK entities, played as ODK Collect plays them (DESIGN §6b).

A live pcmd; two app users of two communes. A case is registered, updated, updated again by
a phone that was offline (its step is dated before the last one but arrives after it), then
handled; after every step the test reads `cases.csv` through the manifest as each phone does
and compares it with the rows worked out by hand, then runs the pipeline and reads TG1–TG3 of
the commune for November 2026 as `pcmd indicators` gives them. The steps are a list of (name,
action, expected rows of each phone, expected TG1–TG3).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from defusedxml import ElementTree as SafeET
from sqlalchemy import Engine, update

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.pipeline.indicators.query import indicator_rows
from pcmd.pipeline.run import run_pipeline
from pcmd.server.keys import secret_key
from pcmd.server.openrosa.appusers import create_app_user
from pcmd.settings import Settings
from tests.server.collect import (
    COMMUNE,
    OTHER_COMMUNE,
    PROVINCE,
    Server,
    new_id,
    post,
    running_server,
)

MAN = "{http://openrosa.org/xforms/xformsManifest}"
VERSION = "2026120701"
HEADER = ["name", "label", "__version", "received_date", "commune", "kind", "deadline",
          "status", "handled_date"]  # fmt: skip
# The day the indicators are judged on: November's reference day R is 2026-11-25.
TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[Server]:
    with running_server(settings, engine) as running:
        yield running


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def head(form_id: str, commune: str) -> str:
    """The opening Collect writes: metadata, the `where` group, the reporting organisation."""
    return (
        f'<?xml version="1.0"?><{form_id} xmlns:jr="http://openrosa.org/javarosa" '
        f'id="{form_id}" version="{VERSION}">'
        "<start>2026-11-20T08:00:00.000+07:00</start><end>2026-11-20T08:10:00.000+07:00</end>"
        "<today>2026-11-20</today><deviceid>collect:AbCdEfGh12345678</deviceid>"
        f"<username>can_bo_xa</username><where><province>{PROVINCE}</province>"
        f"<commune>{commune}</commune></where><reporter_org>cong_an</reporter_org>"
    )


def case_xml(
    instance_id: str,
    phone_id: str,
    *,
    received: str = "2026-11-02",
    kind: str = "to_giac",
    commune: str = COMMUNE,
    deprecated: str | None = None,
) -> bytes:
    """A registration as Collect sends it: the entity block with the id the phone gave it."""
    start = head("pcmd_case", commune)
    dep = f"<deprecatedID>{deprecated}</deprecatedID>" if deprecated else ""
    return (
        f"{start}<received_date>{received}</received_date><kind>{kind}</kind>"
        "<source>duong_day_nong</source><subject>co_so_kd</subject>"
        "<establishment><id>EST-21025-001</id></establishment>"
        "<summary>Phản ánh có hoạt động mua bán dâm tại cơ sở</summary>"
        "<assigned_to>cong_an_xa</assigned_to><deadline>2026-11-22</deadline>"
        "<status>tiep_nhan</status><handled_date/>"
        f'<meta><instanceID>{instance_id}</instanceID>{dep}<entity dataset="cases" create="1" '
        f'id="{phone_id}"><label>{received} · Tố giác · Phường Cẩm Thành</label></entity>'
        "</meta></pcmd_case>"
    ).encode()


def step_xml(
    instance_id: str, case: str, step: str, day: str, *, commune: str = COMMUNE, base: int = 1
) -> bytes:
    """An update: `case` is the `name` picked from cases.csv; baseVersion what the phone had."""
    start = head("pcmd_case_update", commune)
    outcome = "<outcome>xu_phat_hanh_chinh</outcome><fine_vnd>5000000</fine_vnd>"
    return (
        f"{start}<case>{case}</case><step>{step}</step><step_date>{day}</step_date>"
        f"{outcome if step == 'xu_ly_xong' else '<outcome/><fine_vnd/>'}"
        f"<status>{step}</status>"
        f'<meta><instanceID>{instance_id}</instanceID><entity dataset="cases" update="1" '
        f'baseVersion="{base}" trunkVersion="" branchId="" id="{case}"/></meta>'
        "</pcmd_case_update>"
    ).encode()


def entity_list(client: httpx.Client, server: Server, token: str) -> tuple[str, list[list[str]]]:
    """What a phone gets: the manifest's entry for cases.csv (its hash) and the file's rows."""
    base = server.key_url(token)
    manifest = client.get(f"{base}/forms/pcmd_case_update/manifest")
    assert manifest.status_code == 200
    entries = {
        f.findtext(f"{MAN}filename"): f
        for f in SafeET.fromstring(manifest.content).findall(f"{MAN}mediaFile")
    }
    entry = entries["cases.csv"]
    assert entry.get("type") == "entityList"
    got = client.get(entry.findtext(f"{MAN}downloadUrl") or "")
    assert got.status_code == 200
    digest = f"md5:{hashlib.md5(got.content).hexdigest()}"
    assert entry.findtext(f"{MAN}hash") == digest
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == HEADER
    return digest, rows[1:]


def tg(engine: Engine) -> tuple[object, ...]:
    """(TG1 numerator, denominator, value; TG2; TG3) of the commune for 2026-11, after a run."""
    run_pipeline(engine, today=TODAY)
    got = {
        r["indicator"]: r for r in indicator_rows(engine, period="202611", org=COMMUNE, today=TODAY)
    }
    tg1 = got["TG1"]
    return (tg1["numerator"], tg1["denominator"], tg1["value"], got["TG2"]["value"],
            got["TG3"]["value"])  # fmt: skip


def test_case_life__registration_update_late_offline_update_handled(
    server: Server, client: httpx.Client
) -> None:
    with transaction(server.engine) as session:
        _u, other = create_app_user(
            session, "xa-nghia-lo", [OTHER_COMMUNE], secret_key(server.settings)
        )
    mine = server.scoped_token  # limited to COMMUNE
    reg, phone_id = new_id(), "0f6c8d0e-57e4-4b7c-9a3a-3c1e2f4d5b6a"
    name = reg.removeprefix("uuid:")
    label = "2026-11-02 · Tố giác · Phường Cẩm Thành"

    def case(version: str, deadline: str, status: str, handled: str = "") -> list[str]:
        return [name, label, version, "2026-11-02", COMMUNE, "to_giac", deadline, status, handled]

    hashes: list[str] = []

    def send(xml: bytes, token: str = mine, status: int = 201) -> None:
        answer = post(client, server, xml, token=token)
        assert answer.status_code == status, answer.text

    # (what happens, then the list each phone sees: mine, the other commune's; then TG1's
    # numerator, denominator and value, TG2, TG3 — judged on R = 2026-11-25)
    life: list[tuple[str, Callable[[], None], list[list[str]], list[list[str]], Any]] = [
        ("nothing yet", lambda: None, [], [], (0, 0, None, 0, 0)),
        (
            # D = 11-02 + 20 days = 11-22 < R, not handled: due and overdue
            "registration",
            lambda: send(case_xml(reg, phone_id)),
            [case("1", "2026-11-22", "tiep_nhan")],
            [],
            (0, 1, 0.0, 1, 1),
        ),
        (
            "verification on 5 Nov",
            lambda: send(step_xml(new_id(), name, "xac_minh", "2026-11-05")),
            [case("2", "2026-11-22", "xac_minh")],
            [],
            (0, 1, 0.0, 1, 1),
        ),
        (
            # made offline on 4 Nov from the list of version 1, sent after the 5 Nov step:
            # it lands before it — the status stays xac_minh, the deadline moves 2 months
            # — and TG: D = 2027-01-02 is after R, not handled: neither due nor overdue
            "extension of 4 Nov, sent late",
            lambda: send(step_xml(new_id(), name, "gia_han", "2026-11-04", base=1)),
            [case("3", "2027-01-02", "xac_minh")],
            [],
            (0, 0, None, 1, 0),
        ),
        (
            # H = 11-20, by R and by D: due and handled in time
            "handled on 20 Nov",
            lambda: send(step_xml(new_id(), name, "xu_ly_xong", "2026-11-20", base=3)),
            [case("4", "2027-01-02", "xu_ly_xong", "2026-11-20")],
            [],
            (1, 1, 100.0, 1, 0),
        ),
        (
            "a step for the other commune is refused",
            lambda: send(
                step_xml(new_id(), name, "chuyen", "2026-11-21", commune=OTHER_COMMUNE),
                token=server.token,
                status=403,
            ),
            [case("4", "2027-01-02", "xu_ly_xong", "2026-11-20")],
            [],
            (1, 1, 100.0, 1, 0),
        ),
    ]
    for what, action, expected_mine, expected_other, expected_tg in life:
        action()
        digest, rows = entity_list(client, server, mine)
        assert rows == expected_mine, what
        assert entity_list(client, server, other)[1] == expected_other, what
        assert entity_list(client, server, server.token)[1] == expected_mine, what
        assert tg(server.engine) == expected_tg, what
        hashes.append(digest)
    # Collect fetches the list again only when the hash changed: it did at every change
    assert len(set(hashes[:5])) == 5
    assert hashes[5] == hashes[4]


def test_case__step_picked_from_phone_created_case__counts(
    server: Server, client: httpx.Client
) -> None:
    """A phone that registered a case offline picks it by the id it gave it."""
    reg, phone_id = new_id(), "7d3f1a2b-0c4e-4f6a-8b9c-1d2e3f4a5b6c"
    assert post(client, server, case_xml(reg, phone_id)).status_code == 201
    assert (
        post(client, server, step_xml(new_id(), phone_id, "chuyen", "2026-11-03")).status_code
        == 201
    )
    _digest, rows = entity_list(client, server, server.token)
    assert [r[0] for r in rows] == [reg.removeprefix("uuid:")]
    assert rows[0][6:] == ["2026-11-22", "chuyen", "2026-11-03"]
    # and it counts in the indicators: transferred on 11-03, by D = 11-22: handled in time
    assert tg(server.engine) == (1, 1, 100.0, 1, 0)


def test_case__edit_updates__rejected_or_deleted_leaves_the_list(
    server: Server, client: httpx.Client
) -> None:
    reg, later = new_id(), new_id()
    name = reg.removeprefix("uuid:")
    phone_id = "2b9e6a41-3c5d-4e7f-8a9b-0c1d2e3f4a5b"
    assert post(client, server, case_xml(reg, phone_id)).status_code == 201
    edit = case_xml(later, phone_id, received="2026-11-03", kind="tin_bao", deprecated=reg)
    assert post(client, server, edit).status_code == 201
    _digest, rows = entity_list(client, server, server.token)
    assert rows == [
        [name, "2026-11-03 · Tố giác · Phường Cẩm Thành", "2", "2026-11-03", COMMUNE,
         "tin_bao", "2026-11-23", "tiep_nhan", ""]
    ]  # fmt: skip
    for change in ({"review_state": "rejected"}, {"review_state": "received", "deleted": True}):
        with transaction(server.engine, write=True) as session:
            session.execute(
                update(Submission).where(Submission.instance_id == reg).values(**change)
            )
        assert entity_list(client, server, server.token)[1] == [], change
