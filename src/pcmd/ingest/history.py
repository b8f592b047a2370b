"""Earlier versions of a pulled submission, kept as its history.

A pull sees only a record's current version; ODK Central keeps every version's XML. The ones
pcmd never received are added here as versions of the same submission *without* becoming
current (the current one is what the server says now), each linked to the version it replaced
by its own `deprecatedID` — also filling the link of versions pcmd rebuilt from OData, which
does not carry it. Everything happens in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, insert, select, update

from pcmd.db.models import utcnow
from pcmd.db.tables import SUB, VER
from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.instance import binary_names, parse_instance, typed_values
from pcmd.ingest.submit import vietnam_today
from pcmd.ingest.uic import protect_xml


def add_history(
    conn: Connection,
    forms: FormLookup,
    submission_id: int,
    xml: bytes,
    *,
    source: str,
    source_ref: str | None = None,
    project_id: int = 1,
    uic_key_file: Path | None = None,
) -> bool:
    """Keep one earlier version of a submission (or link one already held); True when a
    version row was added or linked. IngestError for XML that is not a version of it.

    A support record's UIC answers are replaced by their key (ingest/uic.py) under the secret
    at `uic_key_file`; without one such a version is refused, never kept as it came."""
    inst = parse_instance(xml)
    if any(path in inst.values for path in contract.UIC_ANSWERS):
        if uic_key_file is None:
            raise IngestError(
                "Phiên bản có mã nhận diện chưa mã hoá (a version holds raw identifier answers "
                "and no UIC secret was given).",
                status=500,
            )
        xml = protect_xml(xml, inst, uic_key_file, vietnam_today())
        inst = parse_instance(xml)
    held = conn.execute(
        select(VER.c.id, VER.c.submission_id, VER.c.deprecated_id).where(
            VER.c.instance_id == inst.instance_id
        )
    ).first()
    if held is not None:
        if held.submission_id != submission_id:
            raise IngestError(
                f"Phiên bản {inst.instance_id} thuộc phiếu khác (version {inst.instance_id} "
                "belongs to another submission).",
                status=409,
            )
        if held.deprecated_id is None and inst.deprecated_id:
            conn.execute(
                update(VER).where(VER.c.id == held.id).values(deprecated_id=inst.deprecated_id)
            )
            return True
        return False
    form = forms.get(conn, project_id, inst)
    form_pk: int = conn.execute(select(SUB.c.form_pk).where(SUB.c.id == submission_id)).scalar_one()
    if form.form_pk != form_pk:
        raise IngestError(
            "Phiên bản thuộc biểu mẫu khác với phiếu (the version belongs to another form).",
            status=409,
        )
    conn.execute(
        insert(VER).values(
            submission_id=submission_id,
            instance_id=inst.instance_id,
            deprecated_id=inst.deprecated_id,
            form_version=inst.version,
            xml=xml.decode("utf-8"),
            xml_sha256=hashlib.sha256(xml).hexdigest(),
            data=typed_values(inst.values, form.fields),
            attachments_expected=binary_names(inst.values, form.fields),
            source=source,
            source_ref=source_ref,
            received_at=utcnow(),
        )
    )
    return True


def chain_order(versions: Sequence[tuple[str, str | None]]) -> list[str]:
    """The instanceIDs of a submission's versions, oldest first, by their links: each version
    after the one its `deprecatedID` names. Given as (instanceID, deprecatedID) in the order
    pcmd stored them, which that order keeps where the links say nothing (a version added as
    history arrives after the current one)."""
    known = {iid for iid, _dep in versions}
    after: dict[str, list[str]] = {}
    starts: list[str] = []
    for iid, dep in versions:
        if dep and dep in known and dep != iid:
            after.setdefault(dep, []).append(iid)
        else:
            starts.append(iid)
    out: list[str] = []
    placed: set[str] = set()
    stack = list(reversed(starts))
    while stack:
        iid = stack.pop()
        if iid in placed:
            continue
        placed.add(iid)
        out.append(iid)
        stack.extend(reversed(after.get(iid, [])))
    out.extend(iid for iid, _dep in versions if iid not in placed)  # a loop of links
    return out
