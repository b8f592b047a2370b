"""`ingest_new`: many plainly new pulled submissions written at once, the same rows as `ingest`.

The rows go to the database driver directly (`insert_rows`, `select_in`): one executemany a
table a page, each value already converted by its column's own bind processor, so the rows
stored are the ones SQLAlchemy would store, without building and compiling statements or
walking parameters per row (a pull writes thousands of rows a second).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Column, Connection, Table

from pcmd.db.chunks import IN_LIMIT, chunks
from pcmd.db.models import utcnow
from pcmd.db.tables import SUB, VER
from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.ingest.fast_typed import fast_typed
from pcmd.ingest.form_lookup import FormLookup, FormVersionInfo
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import Instance, binary_names, parse_instance
from pcmd.ingest.submit import COMMUNE_FIELD, activity_date

NO_FILES: list[str] = []  # attachments_expected of every row here (never changed)


def ingest_new(
    conn: Connection, incomings: Sequence[Incoming], forms: FormLookup
) -> list[IngestResult | None]:
    """`ingest` for many at once, for the one case a pull meets most: a brand-new submission.

    An incoming is taken here only when `ingest` would create a submission and nothing else:
    its XML and form are fine, no stored version has its instanceID, no submission has its
    root, its deprecatedID (if any) names no stored version, it names no attachment, and
    where the sender is limited to some communes, its commune is one of them. Then the rows
    written are the ones `ingest` writes (tests compare them), in a few multi-row statements.
    Every other incoming gets None and goes to `ingest` (which refuses, with its message, what
    must be refused). Pulls use it a page at a time, the OpenRosa group commit a group.
    """
    candidates = plainly_new(conn, incomings, forms)
    if not candidates:
        return [None] * len(incomings)
    ids = {c[2].instance_id for c in candidates} | {
        c[2].deprecated_id for c in candidates if c[2].deprecated_id
    }
    roots = {c[1].root_instance_id or c[2].instance_id for c in candidates}
    known_versions, known_roots = _known(conn, sorted(ids), sorted(roots))
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
    # New ids by their unique keys: SQLite does not promise the order of a multi-row RETURNING.
    by_root = dict(
        insert_returning(
            conn,
            SUB,
            (
                "instance_id",
                "form_pk",
                "source",
                "review_state",
                "deleted",
                "submitted_at",
                "updated_at",
                "commune_code",
                "activity_date",
            ),
            [
                (
                    root,
                    form.form_pk,
                    incoming.source,
                    "received",
                    False,
                    incoming.submitted_at or now,
                    now,
                    commune_of(data),
                    activity_date(data, inst.form_id),
                )
                for _at, incoming, inst, form, data, root in taken
            ],
            ("instance_id", "id"),
        )
    )
    submission_ids = [by_root[t[5]] for t in taken]
    insert_rows(
        conn,
        VER,
        (
            "submission_id",
            "instance_id",
            "deprecated_id",
            "form_version",
            "xml",
            "xml_sha256",
            "data",
            "attachments_expected",
            "source",
            "source_ref",
            "submitter",
            "device_id",
            "received_at",
        ),
        [
            (sid, *version_values(incoming, inst, data, now))
            for sid, (_at, incoming, inst, _form, data, _root) in zip(
                submission_ids, taken, strict=True
            )
        ],
    )
    # each of these submissions has exactly the one version just written: point at it
    point = (
        "UPDATE submissions SET current_version_id = (SELECT v.id FROM submission_versions v"
        " WHERE v.submission_id = submissions.id) WHERE id IN "
    )
    for chunk in chunks(submission_ids):
        conn.exec_driver_sql(point + f"({_marks(conn, len(chunk))})", tuple(chunk))
    for sid, (at, _incoming, inst, _form, _data, root) in zip(submission_ids, taken, strict=True):
        results[at] = IngestResult(
            status="created",
            submission_id=sid,
            instance_id=root,
            version_instance_id=inst.instance_id,
            form_id=inst.form_id,
        )
    return results


Candidate = tuple[int, Incoming, Instance, FormVersionInfo, dict[str, Any]]


def version_values(
    incoming: Incoming, inst: Instance, data: dict[str, Any], now: dt.datetime
) -> tuple[Any, ...]:
    """A new version's values after its submission id, as `ingest` writes them: instance_id,
    deprecated_id, form_version, xml, xml_sha256, data, attachments_expected, source,
    source_ref, submitter, device_id, received_at."""
    return (
        inst.instance_id,
        inst.deprecated_id,
        inst.version,
        incoming.xml.decode("utf-8"),
        hashlib.sha256(incoming.xml).hexdigest(),
        data,
        NO_FILES,
        incoming.source,
        incoming.source_ref,
        incoming.submitter,
        incoming.device_id,
        now,
    )


def plainly_new(
    conn: Connection, incomings: Sequence[Incoming], forms: FormLookup
) -> list[Candidate]:
    """(position, incoming, instance, form version, typed values) of each incoming that
    `ingest` would create and do nothing else with, as far as its content tells: its XML and
    form are fine, its form is open, it names no attachment and sends no file, its form keeps
    no UIC or case, it is not Collect's edit, and a sender limited to some communes sends for
    one of them. Whether the database already holds it is for the caller to ask."""
    candidates: list[Candidate] = []
    for at, incoming in enumerate(incomings):
        if incoming.files:
            continue
        try:
            inst = incoming.parsed or parse_instance(incoming.xml)
            if inst.form_id in (contract.SUPPORT, contract.CASE, contract.CASE_UPDATE):
                # `ingest` replaces UIC answers (ingest/uic.py) and keeps cases (ingest/cases.py)
                continue
            if inst.deprecated_id and incoming.root_instance_id is None:
                continue  # Collect's edit: of a stored version, or refused 404, never new
            form = forms.get(conn, incoming.project_id, inst)
            data = fast_typed(inst.values, form.fields)
        except IngestError:
            continue  # `ingest` raises it with its message
        if form.state == "closed":
            continue
        if binary_names(inst.values, form.fields):
            continue
        if incoming.communes and commune_of(data) not in incoming.communes:
            continue  # `ingest` answers 403, naming the commune
        candidates.append((at, incoming, inst, form, data))
    return candidates


Processor = Callable[[Any], Any]
_PROCESSORS: dict[tuple[str, int], Processor | None] = {}


def _processor(conn: Connection, column: Column[Any]) -> Processor | None:
    """The column type's bind processor for this dialect (what SQLAlchemy applies to every
    value it sends: a datetime as SQLite's text, a dict as JSON …), looked up once."""
    dialect = conn.dialect
    key = (dialect.name, id(column))
    if key not in _PROCESSORS:
        _PROCESSORS[key] = column.type.dialect_impl(dialect).bind_processor(dialect)
    return _PROCESSORS[key]


def _marks(conn: Connection, n: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` (values in `columns`' order) through the driver in one executemany,
    each value converted by its column's bind processor, as SQLAlchemy would."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    params = converted(conn, table, columns, rows)
    conn.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 - schema names
        f"VALUES ({_marks(conn, len(columns))})",
        params,
    )


def converted(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """`rows` with each value converted by its column's bind processor, as SQLAlchemy would."""
    convert = [
        (i, proc)
        for i, name in enumerate(columns)
        if (proc := _processor(conn, table.c[name])) is not None
    ]
    if not convert:
        return [tuple(row) for row in rows]
    # the same object in every row (the page's clock, NO_FILES, False) converted once
    last: dict[int, tuple[Any, Any]] = {}
    out = []
    for row in rows:
        values = list(row)
        for i, proc in convert:
            value = values[i]
            seen = last.get(i)
            if seen is not None and seen[0] is value:
                values[i] = seen[1]
            else:
                values[i] = proc(value)
                last[i] = (value, values[i])
        out.append(tuple(values))
    return out


# rows in one multi-row INSERT … RETURNING: well under both databases' parameter limits
RETURNING_ROWS = 200


def insert_returning(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """INSERT `rows` in multi-row statements, returning `returning` of each inserted row (in
    no promised order). One round trip per RETURNING_ROWS rows instead of an INSERT and a
    SELECT of the new keys."""
    quote = conn.dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608 - schema names
    tail = f" RETURNING {', '.join(quote(c) for c in returning)}"
    one = f"({_marks(conn, len(columns))})"
    out: list[tuple[Any, ...]] = []
    for part in chunks(converted(conn, table, columns, rows), RETURNING_ROWS):
        flat = tuple(chain.from_iterable(part))
        result = conn.exec_driver_sql(head + ", ".join([one] * len(part)) + tail, flat)
        out.extend(tuple(row) for row in result)
    return out


def _known(
    conn: Connection, version_ids: Sequence[str], roots: Sequence[str]
) -> tuple[set[str], set[str]]:
    """Which of `version_ids` a stored version has, and which of `roots` a submission has:
    one round trip (both lookups in one statement) for a group's usual handful."""
    versions: set[str] = set()
    found: set[str] = set()
    if not version_ids or not roots or len(version_ids) + len(roots) > IN_LIMIT:
        versions.update(select_in(conn, VER, ("instance_id",), "instance_id", version_ids))
        found.update(select_in(conn, SUB, ("instance_id",), "instance_id", roots))
        return versions, found
    query = (
        "SELECT 1, instance_id FROM submission_versions WHERE instance_id IN "  # noqa: S608 - marks only
        f"({_marks(conn, len(version_ids))}) UNION ALL SELECT 2, instance_id FROM submissions "
        f"WHERE instance_id IN ({_marks(conn, len(roots))})"
    )
    for kind, instance_id in conn.exec_driver_sql(query, (*version_ids, *roots)):
        (versions if kind == 1 else found).add(str(instance_id))
    return versions, found


def select_in(
    conn: Connection, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]
) -> Iterable[Any]:
    """Rows (one value when one column, else tuples) of `table` whose `key` is among
    `values`, in chunks, through the driver. `key` must be a column needing no conversion."""
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(c) for c in columns)
    for part in chunks(values):
        chunk = tuple(part)
        rows = conn.exec_driver_sql(
            f"SELECT {listed} FROM {quote(table.name)} "  # noqa: S608 - schema names
            f"WHERE {quote(key)} IN ({_marks(conn, len(chunk))})",
            chunk,
        )
        if len(columns) == 1:
            yield from (row[0] for row in rows)
        else:
            yield from (tuple(row) for row in rows)


def commune_of(data: dict[str, Any]) -> str | None:
    commune = data.get(COMMUNE_FIELD)
    return commune if isinstance(commune, str) else None
