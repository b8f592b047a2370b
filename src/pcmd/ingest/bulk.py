"""`ingest_new`: many plainly new pulled submissions written at once, the same rows as `ingest`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from pcmd.db.models import utcnow
from pcmd.db.tables import SUB, VER
from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.ingest.form_lookup import FormLookup, FormVersionInfo
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import Instance, binary_names, parse_instance, typed_values
from pcmd.ingest.submit import COMMUNE_FIELD, activity_date


def ingest_new(
    conn: Connection, incomings: Sequence[Incoming], forms: FormLookup
) -> list[IngestResult | None]:
    """`ingest` for many at once, for the one case a pull meets most: a brand-new submission.

    An incoming is taken here only when `ingest` would create a submission and nothing else:
    its XML and form are fine, no stored version has its instanceID, no submission has its
    root, its deprecatedID (if any) names no stored version, it names no attachment and it
    has no commune scope. Then the rows written are the ones `ingest` writes (tests compare
    them), in a few multi-row statements. Every other incoming gets None and goes to `ingest`.
    """
    candidates: list[tuple[int, Incoming, Instance, FormVersionInfo, dict[str, Any]]] = []
    for at, incoming in enumerate(incomings):
        if incoming.files or incoming.communes is not None:
            continue
        try:
            inst = incoming.parsed or parse_instance(incoming.xml)
            if inst.form_id in (contract.SUPPORT, contract.CASE, contract.CASE_UPDATE):
                # `ingest` replaces UIC answers (ingest/uic.py) and keeps cases (ingest/cases.py)
                continue
            form = forms.get(conn, incoming.project_id, inst)
            data = typed_values(inst.values, form.fields)
        except IngestError:
            continue  # `ingest` raises it with its message
        if form.state == "closed":
            continue
        if binary_names(inst.values, form.fields):
            continue
        candidates.append((at, incoming, inst, form, data))
    if not candidates:
        return [None] * len(incomings)
    ids = {c[2].instance_id for c in candidates} | {
        c[2].deprecated_id for c in candidates if c[2].deprecated_id
    }
    roots = {c[1].root_instance_id or c[2].instance_id for c in candidates}
    known_versions: set[str] = set()
    known_roots: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        known_versions.update(
            conn.execute(select(VER.c.instance_id).where(VER.c.instance_id.in_(chunk))).scalars()
        )
    for chunk in _chunks(sorted(roots)):
        known_roots.update(
            conn.execute(select(SUB.c.instance_id).where(SUB.c.instance_id.in_(chunk))).scalars()
        )
    now = utcnow()
    taken: list[tuple[int, Incoming, Instance, FormVersionInfo, dict[str, Any], str]] = []
    for at, incoming, inst, form, data in candidates:
        root = incoming.root_instance_id or inst.instance_id
        if (
            inst.instance_id in known_versions
            or root in known_roots
            or (inst.deprecated_id and inst.deprecated_id in known_versions)
        ):
            continue
        known_versions.add(inst.instance_id)  # a second copy in the same batch goes to ingest
        known_roots.add(root)
        taken.append((at, incoming, inst, form, data, root))
    results: list[IngestResult | None] = [None] * len(incomings)
    if not taken:
        return results
    # Plain executemany, then the new ids by their unique keys: SQLite cannot promise the
    # order of a multi-row RETURNING, and SQLAlchemy then sends one INSERT per row.
    conn.execute(
        insert(SUB),
        [
            {
                "instance_id": root,
                "form_pk": form.form_pk,
                "source": incoming.source,
                "review_state": "received",
                "deleted": False,
                "submitted_at": incoming.submitted_at or now,
                "updated_at": now,
                "commune_code": _commune(data),
                "activity_date": activity_date(data, inst.form_id),
            }
            for _at, incoming, inst, form, data, root in taken
        ],
    )
    by_root = _ids(conn, SUB, [t[5] for t in taken])
    submission_ids = [by_root[t[5]] for t in taken]
    conn.execute(
        insert(VER),
        [
            {
                "submission_id": sid,
                "instance_id": inst.instance_id,
                "deprecated_id": inst.deprecated_id,
                "form_version": inst.version,
                "xml": incoming.xml.decode("utf-8"),
                "xml_sha256": hashlib.sha256(incoming.xml).hexdigest(),
                "data": data,
                "attachments_expected": [],
                "source": incoming.source,
                "source_ref": incoming.source_ref,
                "submitter": incoming.submitter,
                "device_id": incoming.device_id,
                "received_at": now,
            }
            for sid, (_at, incoming, inst, _form, data, _root) in zip(
                submission_ids, taken, strict=True
            )
        ],
    )
    # each of these submissions has exactly the one version just written: point at it
    only_version = select(VER.c.id).where(VER.c.submission_id == SUB.c.id).scalar_subquery()
    for at in range(0, len(submission_ids), 500):
        conn.execute(
            update(SUB)
            .where(SUB.c.id.in_(submission_ids[at : at + 500]))
            .values(current_version_id=only_version)
        )
    for sid, (at, _incoming, inst, _form, _data, root) in zip(submission_ids, taken, strict=True):
        results[at] = IngestResult(
            status="created",
            submission_id=sid,
            instance_id=root,
            version_instance_id=inst.instance_id,
            form_id=inst.form_id,
        )
    return results


def _ids(conn: Connection, table: Table, instance_ids: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for chunk in _chunks(instance_ids):
        rows = conn.execute(
            select(table.c.instance_id, table.c.id).where(table.c.instance_id.in_(chunk))
        )
        out.update({row.instance_id: row.id for row in rows})
    return out


def _commune(data: dict[str, Any]) -> str | None:
    commune = data.get(COMMUNE_FIELD)
    return commune if isinstance(commune, str) else None


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for at in range(0, len(items), size):
        yield items[at : at + size]
