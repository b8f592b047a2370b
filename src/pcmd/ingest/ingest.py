"""The one ingest function: every source (Collect, Kobo, Central, file import) lands here.

Identity and versions follow DESIGN §4:
- the submission key is the root instanceID; an edit carries meta/deprecatedID and becomes the
  current version of the same root, older versions kept;
- the same instanceID with byte-identical XML again is a success that duplicates nothing (Collect
  retries, and repeats the XML in every part of a split upload: new attachments are added);
- the same instanceID with different XML is a 409, unless its typed values are the same: the
  same submission can arrive by two routes (Collect's own XML, and an instance pcmd rebuilt from
  a KoboToolbox or Central record), which never match byte for byte;
- a pull source (Kobo, Central) also names the submission's stable identity (Kobo
  meta/rootUuid, Central __id) as `root_instance_id`. Those servers are the record of what they
  hold, so a new instanceID under a known root replaces the current version even when the
  versions in between were never seen (two edits between syncs), and the first version pcmd sees
  of an already-edited record starts a submission keyed by that root.
Everything happens in the caller's transaction: the caller commits, or nothing is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from pcmd.db.engine import with_retry
from pcmd.db.models import (
    OrgUnit,
    utcnow,
)
from pcmd.db.tables import ATT, FORM, FVER, SUB, VER
from pcmd.errors import IngestError
from pcmd.ingest.files import FileStore
from pcmd.ingest.instance import Instance, binary_names, parse_instance, typed_values

# The field whose date places a record in a period (DESIGN §5), by form.
ACTIVITY_DATE_FIELDS = ("activity_date", "start_date", "inspection_date")
COMMUNE_FIELD = "where/commune"

Status = Literal["created", "edited", "duplicate", "attachments_added"]


@dataclass(frozen=True)
class IncomingFile:
    """An attachment already on disk (streamed there), with its hash and size."""

    filename: str  # checked with db.files.safe_filename
    content_type: str
    sha256: str
    size: int
    temp_path: Path | None = None  # moved into the store on ingest; None = already stored


@dataclass(frozen=True)
class Incoming:
    xml: bytes
    source: str  # openrosa | kobo | central | import
    files: tuple[IncomingFile, ...] = ()
    submitter: str | None = None
    device_id: str | None = None
    source_ref: str | None = None
    project_id: int = 1
    # Communes the sender may report for; None = any (a province user, a pull source).
    communes: frozenset[str] | None = None
    # Pull sources: the remote's stable identity of the submission (see the module docstring),
    # and when the remote first received it (Kobo _submission_time, Central submissionDate).
    root_instance_id: str | None = None
    submitted_at: dt.datetime | None = None
    # parse_instance(xml) when the sender already knows it (a pull builds the XML from the
    # record's values, and tests check the two agree); None = parse the XML here.
    parsed: Instance | None = None


@dataclass
class IngestResult:
    status: Status
    submission_id: int
    instance_id: str  # root instanceID
    version_instance_id: str
    form_id: str
    attachments_added: int = 0
    attachments_missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FormVersionInfo:
    form_pk: int
    version_id: int
    fields: dict[str, Any]
    state: str


# Statements built once, executed with parameters: building .values(...) per call costs more
# than the insert itself on this path.
INSERT_SUBMISSION = insert(SUB).returning(SUB.c.id)
INSERT_VERSION = insert(VER).returning(VER.c.id)
SET_CURRENT = (
    update(SUB)
    .where(SUB.c.id == bindparam("sid"))
    .values(
        current_version_id=bindparam("current_version_id"),
        commune_code=bindparam("commune_code"),
        activity_date=bindparam("activity_date"),
        updated_at=bindparam("updated_at"),
        # an edit marks the submission "edited" (DESIGN §4); a new one keeps "received"
        review_state=func.coalesce(bindparam("edited", type_=String), SUB.c.review_state),
    )
)
FIND_VERSION = select(VER.c.id, VER.c.submission_id, VER.c.xml_sha256).where(
    VER.c.instance_id == bindparam("iid")
)
SUBMISSION_COLUMNS = (
    SUB.c.id,
    SUB.c.instance_id,
    SUB.c.deleted,
    SUB.c.current_version_id,
    SUB.c.form_pk,
)
FIND_SUBMISSION = select(*SUBMISSION_COLUMNS).where(SUB.c.instance_id == bindparam("iid"))


class FormLookup:
    """Form versions by (project, form id, version). Versions never change once stored, so
    they are cached; a form's open/closed state is re-read after `ttl` seconds."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._cache: dict[tuple[int, str, str], tuple[float, FormVersionInfo]] = {}

    def get(self, conn: Connection, project_id: int, inst: Instance) -> FormVersionInfo:
        key = (project_id, inst.form_id, inst.version)
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        info = _load_form_version(conn, project_id, inst)
        self._cache[key] = (time.monotonic(), info)
        return info


def _load_form_version(conn: Connection, project_id: int, inst: Instance) -> FormVersionInfo:
    form = conn.execute(
        select(FORM.c.id, FORM.c.state).where(
            FORM.c.project_id == project_id, FORM.c.form_id == inst.form_id
        )
    ).first()
    if form is None:
        raise IngestError(
            f"Máy chủ không có biểu mẫu {inst.form_id!r} (no form {inst.form_id!r} on this "
            "server): download the forms again from this server.",
            status=404,
        )
    version = conn.execute(
        select(FVER.c.id, FVER.c.fields).where(
            FVER.c.form_pk == form.id, FVER.c.version == inst.version
        )
    ).first()
    if version is None:
        raise IngestError(
            f"Phiên bản {inst.version!r} của biểu mẫu {inst.form_id} không có trên máy chủ "
            f"(unknown version {inst.version!r} of form {inst.form_id}): update the form in "
            "ODK Collect (Get Blank Form) and fill it again.",
            status=404,
        )
    return FormVersionInfo(form.id, version.id, version.fields, form.state)


def _check_scope(conn: Connection, incoming: Incoming, commune: str | None) -> None:
    if not incoming.communes or commune in incoming.communes:
        return
    name = None
    if commune:
        name = conn.execute(
            select(OrgUnit.name).where(OrgUnit.code == commune, OrgUnit.valid_to.is_(None))
        ).scalar()
    shown = f"{commune} ({name})" if name else repr(commune)
    raise IngestError(
        f"Tài khoản này không được gửi phiếu cho xã {shown} (this app user may not submit for "
        f"commune {shown}); allowed: {', '.join(sorted(incoming.communes))}.",
        status=403,
    )


def _activity_date(data: dict[str, Any]) -> dt.date | None:
    for name in ACTIVITY_DATE_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return None
    return None


def _store_files(
    conn: Connection,
    store: FileStore,
    submission_id: int,
    version_id: int,
    files: Iterable[IncomingFile],
    expected: list[str],
) -> int:
    """Add the files the XML names (others are ignored: Collect sends the whole folder)."""
    wanted = {f.filename: f for f in files if f.filename in expected}
    if not wanted:
        return 0
    have = {
        row.filename: row
        for row in conn.execute(
            select(ATT.c.id, ATT.c.filename, ATT.c.sha256).where(ATT.c.version_id == version_id)
        )
    }
    added = 0
    now = utcnow()
    for name, item in wanted.items():
        if item.temp_path is not None:
            store.put_temp(item.temp_path, item.sha256)
        row = have.get(name)
        if row is None:
            conn.execute(
                insert(ATT).values(
                    submission_id=submission_id,
                    version_id=version_id,
                    filename=name,
                    content_type=item.content_type,
                    size=item.size,
                    sha256=item.sha256,
                    received_at=now,
                )
            )
            added += 1
        elif row.sha256 != item.sha256:  # a resend replaces the file, as on Central
            conn.execute(
                update(ATT)
                .where(ATT.c.id == row.id)
                .values(sha256=item.sha256, size=item.size, content_type=item.content_type)
            )
            added += 1
    return added


def _missing(conn: Connection, version_id: int, expected: list[str]) -> list[str]:
    if not expected:
        return []
    names = conn.execute(select(ATT.c.filename).where(ATT.c.version_id == version_id))
    have: set[str] = set(names.scalars())
    return [name for name in expected if name not in have]


def ingest(
    db: Session | Connection,
    store: FileStore,
    incoming: Incoming,
    forms: FormLookup | None = None,
    *,
    look_first: bool = True,
) -> IngestResult:
    """Accept one submission in the caller's transaction, or raise IngestError with a status.

    Written in SQLAlchemy Core: this is the path every phone's upload takes. With
    `look_first=False` the lookup of an existing instanceID is skipped and the unique keys
    catch a resend instead (IntegrityError: roll back and call again with look_first=True);
    `ingest_with_retry` does exactly that, saving a query on the common, new-submission path.
    """
    conn = db.connection() if isinstance(db, Session) else db
    inst = incoming.parsed or parse_instance(incoming.xml)
    form = (forms or FormLookup(ttl=0)).get(conn, incoming.project_id, inst)
    if form.state == "closed":
        raise IngestError(
            f"Biểu mẫu {inst.form_id} đã đóng, không nhận phiếu (form {inst.form_id} is closed "
            "and accepts no submissions).",
            status=409,
        )
    data = typed_values(inst.values, form.fields)
    commune = data.get(COMMUNE_FIELD)
    commune = commune if isinstance(commune, str) else None
    _check_scope(conn, incoming, commune)
    xml_sha = hashlib.sha256(incoming.xml).hexdigest()
    expected = binary_names(inst.values, form.fields)

    if look_first:
        same = conn.execute(FIND_VERSION, {"iid": inst.instance_id}).first()
        if same is not None:
            return _resend(conn, store, incoming, inst, same, xml_sha, expected, data, form)

    now = utcnow()
    status: Status = "created"
    previous_id: int | None = None
    target = _edit_target(conn, inst, form, incoming, look_first=look_first)
    if target is not None:
        submission_id, root, previous_id = target
        status = "edited"
    else:
        root = incoming.root_instance_id or inst.instance_id
        submission_id = conn.execute(
            INSERT_SUBMISSION,
            {
                "instance_id": root,
                "form_pk": form.form_pk,
                "source": incoming.source,
                "review_state": "received",
                "deleted": False,
                "submitted_at": incoming.submitted_at or now,
                "updated_at": now,
            },
        ).scalar_one()
    version_id: int = conn.execute(
        INSERT_VERSION,
        {
            "submission_id": submission_id,
            "instance_id": inst.instance_id,
            "deprecated_id": inst.deprecated_id,
            "form_version": inst.version,
            "xml": incoming.xml.decode("utf-8"),
            "xml_sha256": xml_sha,
            "data": data,
            "attachments_expected": expected,
            "source": incoming.source,
            "source_ref": incoming.source_ref,
            "submitter": incoming.submitter,
            "device_id": incoming.device_id,
            "received_at": now,
        },
    ).scalar_one()
    review_state = None
    if previous_id is not None:
        review_state = "edited"
        _carry_over(conn, submission_id, previous_id, version_id, expected, incoming.files)
    conn.execute(
        SET_CURRENT,
        {
            "sid": submission_id,
            "current_version_id": version_id,
            "commune_code": commune,
            "activity_date": _activity_date(data),
            "updated_at": now,
            "edited": review_state,
        },
    )
    added = _store_files(conn, store, submission_id, version_id, incoming.files, expected)
    return IngestResult(
        status=status,
        submission_id=submission_id,
        instance_id=root,
        version_instance_id=inst.instance_id,
        form_id=inst.form_id,
        attachments_added=added,
        attachments_missing=_missing(conn, version_id, expected),
    )


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
            form = forms.get(conn, incoming.project_id, inst)
        except IngestError:
            continue  # `ingest` raises it with its message
        if form.state == "closed":
            continue
        data = typed_values(inst.values, form.fields)
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
                "activity_date": _activity_date(data),
            }
            for _at, incoming, _inst, form, data, root in taken
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


def same_content(incoming: dict[str, Any], stored: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Do two typed instances say the same thing, by the answers of the form?

    Compared on the form version's fields (meta/ aside), an empty answer equal to an absent one:
    Collect writes every node (`<notes/>`), Kobo leaves unanswered keys out, servers add their
    own nodes (formhub/uuid, __version__, meta/rootUuid), and 40 from a Central number equals
    40 typed from "40".
    """
    for path in fields:
        if path.startswith("meta/"):
            continue
        if incoming.get(path) != stored.get(path):
            return False
    return True


def _resend(
    conn: Connection,
    store: FileStore,
    incoming: Incoming,
    inst: Instance,
    version: Row[Any],
    xml_sha: str,
    expected: list[str],
    data: dict[str, Any],
    form: FormVersionInfo,
) -> IngestResult:
    submission = conn.execute(
        select(SUB.c.id, SUB.c.instance_id, SUB.c.deleted).where(SUB.c.id == version.submission_id)
    ).one()
    if submission.deleted:
        raise IngestError(
            f"Phiếu {inst.instance_id} đã bị xoá, không gửi lại được (this submission was "
            "deleted and cannot be sent again).",
            status=409,
        )
    if version.xml_sha256 != xml_sha and not same_content(
        data,
        conn.execute(select(VER.c.data).where(VER.c.id == version.id)).scalar_one(),
        form.fields,
    ):
        raise IngestError(
            f"Đã có phiếu mã {inst.instance_id} với nội dung khác (a submission with this "
            "instanceID already exists with different content). To change it, edit the sent "
            "form in ODK Collect, which sends a new version.",
            status=409,
        )
    added = _store_files(conn, store, submission.id, version.id, incoming.files, expected)
    if added:
        conn.execute(update(SUB).where(SUB.c.id == submission.id).values(updated_at=utcnow()))
    return IngestResult(
        status="attachments_added" if added else "duplicate",
        submission_id=submission.id,
        instance_id=submission.instance_id,
        version_instance_id=inst.instance_id,
        form_id=inst.form_id,
        attachments_added=added,
        attachments_missing=_missing(conn, version.id, expected),
    )


def _edit_target(
    conn: Connection,
    inst: Instance,
    form: FormVersionInfo,
    incoming: Incoming,
    *,
    look_first: bool,
) -> tuple[int, str, int] | None:
    """(submission id, root instanceID, replaced version id) when this version is an edit of a
    stored submission, after its checks; None for a new submission."""
    pulled = incoming.root_instance_id is not None
    submission: Row[Any] | None = None
    if inst.deprecated_id:
        previous = conn.execute(
            select(VER.c.id, VER.c.submission_id).where(VER.c.instance_id == inst.deprecated_id)
        ).first()
        if previous is not None:
            submission = conn.execute(
                select(*SUBMISSION_COLUMNS).where(SUB.c.id == previous.submission_id)
            ).one()
            # A pull source's server is the record: the version it replaces is whatever pcmd
            # holds as current. Collect must edit the latest version.
            if not pulled and submission.current_version_id != previous.id:
                raise IngestError(
                    f"Phiếu {inst.deprecated_id} đã được sửa trước đó (version "
                    f"{inst.deprecated_id} was already replaced by another edit): edit the latest "
                    "version.",
                    status=409,
                )
        elif not pulled:
            raise IngestError(
                f"Phiếu sửa thay cho {inst.deprecated_id}, nhưng máy chủ không có phiếu đó (this "
                f"edit replaces {inst.deprecated_id}, which this server does not have): send the "
                "original first.",
                status=404,
            )
    if submission is None and (pulled or look_first):
        # Pull: a new instanceID under a known root is an edit (the versions in between may
        # never have been seen). Collect: an instanceID that is already a root whose versions
        # do not include it is an older version of a submission that came in edited.
        submission = conn.execute(
            FIND_SUBMISSION, {"iid": incoming.root_instance_id or inst.instance_id}
        ).first()
        if submission is not None and not pulled:
            raise IngestError(
                f"Máy chủ đã có phiên bản mới hơn của phiếu {inst.instance_id} (a later version "
                "of this submission is already on the server); nothing to send.",
                status=409,
            )
    if submission is None:
        return None
    if submission.deleted:
        raise IngestError(
            f"Phiếu {submission.instance_id} đã bị xoá, không sửa được (the submission was "
            "deleted and cannot be edited).",
            status=409,
        )
    if submission.form_pk != form.form_pk:
        raise IngestError(
            "Phiếu sửa thuộc biểu mẫu khác với phiếu gốc (the edit belongs to another form than "
            "the original).",
            status=409,
        )
    return submission.id, submission.instance_id, submission.current_version_id


def _carry_over(
    conn: Connection,
    submission_id: int,
    previous_id: int,
    version_id: int,
    expected: list[str],
    files: Iterable[IncomingFile],
) -> None:
    """An edit keeps the earlier version's files it still names, unless it sends them anew."""
    sent = {f.filename for f in files}
    old_files = conn.execute(select(ATT).where(ATT.c.version_id == previous_id)).all()
    for old in old_files:
        if old.filename in expected and old.filename not in sent:
            conn.execute(
                insert(ATT).values(
                    submission_id=submission_id,
                    version_id=version_id,
                    filename=old.filename,
                    content_type=old.content_type,
                    size=old.size,
                    sha256=old.sha256,
                    received_at=utcnow(),
                )
            )


def ingest_with_retry(
    engine: Engine, store: FileStore, incoming: Incoming, forms: FormLookup | None = None
) -> IngestResult:
    """`ingest` in its own write transaction: optimistic first, then with the lookup."""
    attempts = iter((False, True))

    def work(conn: Connection) -> IngestResult:
        look_first = next(attempts, True)
        return ingest(conn, store, incoming, forms, look_first=look_first)

    return with_retry(engine, work)
