"""`ingest_new` on PostgreSQL in one round trip: a group's plainly new submissions written by a
single statement, run on its own (autocommit), so the statement is the transaction and its
commit is durable (synchronous_commit=on) when it returns.

At concurrency 8 most groups on PostgreSQL hold one or two submissions, and each round trip
(BEGIN, the lookup, three writes, COMMIT) costs pcmd's process and the database's backend
about as much CPU as the submission's own work. Here the lookups are the statement's own
guards: a submission whose root is stored already is skipped by `ON CONFLICT DO NOTHING`, one
whose instanceID or deprecatedID names a stored version by `NOT EXISTS`, and the submission row
points at its version from the start (the version's id drawn from its sequence first; the
foreign keys are checked at the end of the statement, when both rows exist). The rows are the
ones `ingest` writes (tests compare them). Whatever the statement skipped, and whatever
`plainly_new` does not take, is left (None) for the careful path, which runs after this
statement has committed and so sees what it wrote (a resend, an edit behind its original).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from pcmd.db.models import utcnow
from pcmd.db.tables import SUB, VER
from pcmd.ingest.bulk import commune_of, converted, plainly_new, version_values
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.submit import activity_date

# (name, column) of each value a row sends, in order: the submission's, then its version's
_ROW = (
    ("root", SUB.c.instance_id),
    ("form_pk", SUB.c.form_pk),
    ("sub_source", SUB.c.source),
    ("submitted_at", SUB.c.submitted_at),
    ("updated_at", SUB.c.updated_at),
    ("commune_code", SUB.c.commune_code),
    ("activity_date", SUB.c.activity_date),
    ("instance_id", VER.c.instance_id),
    ("deprecated_id", VER.c.deprecated_id),
    ("form_version", VER.c.form_version),
    ("xml", VER.c.xml),
    ("xml_sha256", VER.c.xml_sha256),
    ("data", VER.c.data),
    ("attachments_expected", VER.c.attachments_expected),
    ("source", VER.c.source),
    ("source_ref", VER.c.source_ref),
    ("submitter", VER.c.submitter),
    ("device_id", VER.c.device_id),
    ("received_at", VER.c.received_at),
)
_NAMES = tuple(name for name, _column in _ROW)
_SUB_COLUMNS = tuple(column.name for _name, column in _ROW[:7])
_VERSION_COLUMNS = _NAMES[7:]

_STATEMENTS: dict[int, str] = {}


def _statement(conn: Connection, rows: int) -> str:
    """The statement for `rows` submissions (one text a size, so the driver prepares each)."""
    text = _STATEMENTS.get(rows)
    if text is not None:
        return text
    casts = [f"%s::{column.type.compile(conn.dialect)}" for _name, column in _ROW]
    one = f"({', '.join(casts)})"
    versions = ", ".join(_VERSION_COLUMNS)
    text = (
        f"WITH r ({', '.join(_NAMES)}) AS (VALUES {', '.join([one] * rows)}), "  # noqa: S608 - names and marks only
        "s AS (INSERT INTO submissions (instance_id, form_pk, current_version_id, source, "
        "review_state, deleted, submitted_at, updated_at, commune_code, activity_date) "
        "SELECT r.root, r.form_pk, nextval(pg_get_serial_sequence('submission_versions', "
        "'id')), r.sub_source, 'received', false, r.submitted_at, r.updated_at, "
        "r.commune_code, r.activity_date FROM r WHERE NOT EXISTS (SELECT 1 FROM "
        "submission_versions v WHERE v.instance_id = r.instance_id OR v.instance_id = "
        "r.deprecated_id) ON CONFLICT (instance_id) DO NOTHING "
        "RETURNING id, instance_id, current_version_id) "
        f"INSERT INTO submission_versions (id, submission_id, {versions}) "
        f"SELECT s.current_version_id, s.id, {', '.join('r.' + c for c in _VERSION_COLUMNS)} "
        "FROM s JOIN r ON r.root = s.instance_id RETURNING instance_id, submission_id"
    )
    _STATEMENTS[rows] = text
    return text


def ingest_new_one_trip(
    conn: Connection, incomings: Sequence[Incoming], forms: FormLookup
) -> list[IngestResult | None]:
    """The plainly new among `incomings` written by one statement on `conn`, which must be in
    autocommit (`db.engine.autocommit_engine`): each result is committed when this returns;
    None for every incoming left to `ingest`. Raises what the database raises (then nothing
    is kept)."""
    results: list[IngestResult | None] = [None] * len(incomings)
    now = utcnow()
    taken: dict[str, tuple[int, str, str]] = {}  # instanceID → (position, root, form id)
    seen_roots: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    for at, incoming, inst, form, data in plainly_new(conn, incomings, forms):
        root = incoming.root_instance_id or inst.instance_id
        if (
            inst.instance_id in taken
            or root in seen_roots
            or (inst.deprecated_id and inst.deprecated_id in taken)
        ):
            continue  # a second copy, or an edit behind its original: after, carefully
        taken[inst.instance_id] = (at, root, inst.form_id)
        seen_roots.add(root)
        rows.append(
            (
                root,
                form.form_pk,
                incoming.source,
                incoming.submitted_at or now,
                now,
                commune_of(data),
                activity_date(data, inst.form_id),
                *version_values(incoming, inst, data, now),
            )
        )
    if not rows:
        return results
    subs = converted(conn, SUB, _SUB_COLUMNS, [row[:7] for row in rows])
    versions = converted(conn, VER, _VERSION_COLUMNS, [row[7:] for row in rows])
    params = tuple(v for sub, ver in zip(subs, versions, strict=True) for v in (*sub, *ver))
    found = conn.exec_driver_sql(_statement(conn, len(rows)), params)
    for row in found:
        instance_id, submission_id = str(row[0]), int(row[1])
        at, root, form_id = taken[instance_id]
        results[at] = IngestResult(
            status="created",
            submission_id=submission_id,
            instance_id=root,
            version_instance_id=instance_id,
            form_id=form_id,
        )
    return results
