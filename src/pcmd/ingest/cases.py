"""Cases as ODK entities, kept by the ingest (DESIGN §6b): a `pcmd_case` registers a case, a
`pcmd_case_update` adds a step to one, in the caller's transaction.

A step whose commune is not its case's commune is refused (403), like any out-of-scope record,
before anything is written. Every change moves the case's list version (`__version`), so the
phones' copies are replaced. Status, deadline and handled date are folded from the steps when
the list is read (forms/entities.py, server/openrosa/cases.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import XMLParser

from sqlalchemy import Connection, insert, or_, select, update

from pcmd.db.chunks import chunks
from pcmd.db.models import OrgUnit, utcnow
from pcmd.db.tables import CASE_STEPS, CASES
from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.forms.entities import case_key

FORMS = (contract.CASE, contract.CASE_UPDATE)
MAX_ID = 100  # db/cases.py: entity ids and the `case` answer
KIND_LABELS = {
    "to_giac": "Tố giác",
    "tin_bao": "Tin báo",
    "khieu_nai": "Khiếu nại",
    "kien_nghi": "Kiến nghị",
}


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, dt.date) else None


def _choice(value: Any, names: tuple[str, ...]) -> str | None:
    """A choice of the form's list, or None (validation reports any other value)."""
    return value if value in names else None


def phone_entity_id(xml: bytes) -> str | None:
    """The id Collect gave the entity (`meta/entity/@id`), if the XML carries one."""
    parser = XMLParser(encoding="utf-8")  # noqa: S314 - parse_instance refused DTDs already
    parser.feed(xml)
    root = parser.close()
    for meta in root:
        if meta.tag.rsplit("}", 1)[-1] != "meta":
            continue
        for entity in meta:
            if entity.tag.rsplit("}", 1)[-1] == "entity" and entity.get("id"):
                found = case_key(entity.get("id", ""))
                return found if len(found) <= MAX_ID else None
    return None


def find_case(conn: Connection, ref: str) -> Any:
    """The case a step names (by its entity id or the phone's id), or None."""
    return conn.execute(
        select(CASES.c.id, CASES.c.commune_code, CASES.c.entity_id)
        .where(or_(CASES.c.entity_id == ref, CASES.c.alias == ref))
        .order_by(CASES.c.id)
        .limit(1)
    ).first()


def _name(conn: Connection, code: str | None) -> str:
    name = conn.execute(
        select(OrgUnit.name).where(OrgUnit.code == code, OrgUnit.valid_to.is_(None))
    ).scalar()
    return f"{code} ({name})" if name else repr(code)


def check_step(conn: Connection, form_id: str, data: dict[str, Any]) -> None:
    """403 when a step's commune is not its case's commune; 400 for a case id no list holds;
    nothing is written then."""
    if form_id != contract.CASE_UPDATE:
        return
    ref = data.get(contract.CASE_REF)
    if not isinstance(ref, str) or not ref:
        return
    if len(case_key(ref)) > MAX_ID:
        raise IngestError(
            f"Mã vụ việc ở câu “{contract.CASE_REF}” dài quá {MAX_ID} ký tự, không phải mã trong "
            "danh sách vụ việc (the case id is longer than any id of the case list). Cách sửa: "
            "chọn lại vụ việc trong danh sách rồi gửi lại (fix: pick the case from the list "
            "again and send).",
            status=400,
        )
    case = find_case(conn, case_key(ref))
    commune = data.get(contract.COMMUNE)
    if case is None or case.commune_code is None or case.commune_code == commune:
        return
    raise IngestError(
        f"Vụ việc này thuộc xã {_name(conn, case.commune_code)}, không ghi bước xử lý cho xã "
        f"{_name(conn, commune)} được (this case belongs to commune "
        f"{_name(conn, case.commune_code)}; a step for commune {_name(conn, commune)} is not "
        "accepted). Cách sửa: chọn đúng xã của vụ việc rồi gửi lại (fix: choose the case's "
        "commune and send again).",
        status=403,
    )


def _bump(conn: Connection, case_id: int) -> None:
    conn.execute(
        update(CASES)
        .where(CASES.c.id == case_id)
        .values(version=CASES.c.version + 1, updated_at=utcnow())
    )


def touch(conn: Connection, submission_ids: Sequence[int]) -> None:
    """A review decision, a deletion or its undoing changes whether a case or a step counts:
    the cases concerned (registered by, or stepped by, these submissions) move their list
    version on, so phones replace their copy. It never goes down."""
    for chunk in chunks(submission_ids):
        refs = select(CASE_STEPS.c.entity_ref).where(CASE_STEPS.c.submission_id.in_(chunk))
        conn.execute(
            update(CASES)
            .where(
                or_(
                    CASES.c.submission_id.in_(chunk),
                    CASES.c.entity_id.in_(refs),
                    CASES.c.alias.in_(refs),
                )
            )
            .values(version=CASES.c.version + 1, updated_at=utcnow())
        )


def _label(data: dict[str, Any]) -> str:
    given = data.get("meta/entity/label")
    if isinstance(given, str) and given.strip():
        return given.strip()[:300]
    received = data.get(contract.RECEIVED_DATE) or ""
    kind = data.get(contract.CASE_KIND) or ""
    return f"{received} · {KIND_LABELS.get(str(kind), str(kind))}"


def record(
    conn: Connection,
    form_id: str,
    xml: bytes,
    data: dict[str, Any],
    *,
    submission_id: int,
    version_id: int,
    root: str,
) -> None:
    """Keep what a new current version of a case or a step says."""
    if form_id == contract.CASE:
        _register(conn, xml, data, submission_id, root)
    elif form_id == contract.CASE_UPDATE:
        _step(conn, data, submission_id, version_id)


def _register(
    conn: Connection, xml: bytes, data: dict[str, Any], submission_id: int, root: str
) -> None:
    entity_id = case_key(root)
    alias = phone_entity_id(xml)
    values = {
        "alias": alias if alias != entity_id else None,
        "commune_code": data.get(contract.COMMUNE),
        "label": _label(data),
        "received_date": _date(data.get(contract.RECEIVED_DATE)),
        "kind": _choice(data.get(contract.CASE_KIND), contract.CASE_KINDS),
        "updated_at": utcnow(),
    }
    held = conn.execute(select(CASES.c.id).where(CASES.c.submission_id == submission_id)).scalar()
    if held is None:
        conn.execute(
            insert(CASES).values(
                submission_id=submission_id, entity_id=entity_id, version=1, **values
            )
        )
    else:
        conn.execute(
            update(CASES).where(CASES.c.id == held).values(version=CASES.c.version + 1, **values)
        )


def _step(conn: Connection, data: dict[str, Any], submission_id: int, version_id: int) -> None:
    ref = data.get(contract.CASE_REF)
    if not isinstance(ref, str) or not ref:
        return
    values = {
        "entity_ref": case_key(ref),
        "step": _choice(data.get(contract.STEP), contract.STEPS),
        "step_date": _date(data.get(contract.STEP_DATE)),
        "commune_code": data.get(contract.COMMUNE),
        "seq": version_id,
    }
    before = conn.execute(
        select(CASE_STEPS.c.entity_ref).where(CASE_STEPS.c.submission_id == submission_id)
    ).scalar()
    if before is None:
        conn.execute(insert(CASE_STEPS).values(submission_id=submission_id, **values))
    else:
        conn.execute(
            update(CASE_STEPS).where(CASE_STEPS.c.submission_id == submission_id).values(**values)
        )
    for name in {before, values["entity_ref"]} - {None}:
        case = find_case(conn, str(name))
        if case is not None:
            _bump(conn, case.id)
