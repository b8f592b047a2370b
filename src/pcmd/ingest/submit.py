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
from typing import Any

from sqlalchemy import Connection, Engine, String, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from pcmd.db.engine import with_retry
from pcmd.db.models import OrgUnit, utcnow
from pcmd.db.tables import SUB, VER
from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.ingest import cases
from pcmd.ingest.attachments import carry_over, missing_files, store_files
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormLookup
from pcmd.ingest.incoming import Incoming, IngestResult, Status
from pcmd.ingest.instance import binary_names, parse_instance, typed_values
from pcmd.ingest.uic import key_file_for, protect
from pcmd.ingest.versions import edit_target, resend

# The field whose date places a record in a period (DESIGN §5, §6b), by form.
ACTIVITY_DATE_FIELDS = tuple(dict.fromkeys(contract.DATE_FIELD.values()))
COMMUNE_FIELD = "where/commune"


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


def _check_scope(
    conn: Connection, incoming: Incoming, commune: str | None, *, stored: bool = False
) -> None:
    """403 unless an app user limited to some communes may write for this one: the commune of
    a new record's content, or (`stored`) of the stored record an edit or resend touches."""
    if not incoming.communes or commune in incoming.communes:
        return
    name = None
    if commune:
        name = conn.execute(
            select(OrgUnit.name).where(OrgUnit.code == commune, OrgUnit.valid_to.is_(None))
        ).scalar()
    shown = f"{commune} ({name})" if name else repr(commune)
    allowed = ", ".join(sorted(incoming.communes))
    if stored:
        raise IngestError(
            f"Tài khoản này không được sửa phiếu của xã {shown} (this app user may not change "
            f"a submission of commune {shown}); allowed: {allowed}.",
            status=403,
        )
    raise IngestError(
        f"Tài khoản này không được gửi phiếu cho xã {shown} (this app user may not submit for "
        f"commune {shown}); allowed: {allowed}.",
        status=403,
    )


def _check_stored_scope(conn: Connection, incoming: Incoming, submission_id: int) -> None:
    """An edit or a resend must be allowed on the record it touches as well as on its content:
    otherwise a phone of one commune could replace, or add files to, another commune's record."""
    if incoming.communes:
        stored = conn.execute(select(SUB.c.commune_code).where(SUB.c.id == submission_id)).scalar()
        _check_scope(conn, incoming, stored, stored=True)


def vietnam_today() -> dt.date:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()


def activity_date(data: dict[str, Any], form_id: str | None = None) -> dt.date | None:
    """The record's activity date: its form's date field; a plan's is 1 January of its year."""
    if form_id == contract.PLAN:
        year = data.get(contract.PLAN_YEAR)
        return dt.date(year, 1, 1) if isinstance(year, int) and 1 <= year <= 9999 else None
    if form_id in contract.DATE_FIELD:
        names: tuple[str, ...] = (contract.DATE_FIELD[form_id],)
    else:
        names = ACTIVITY_DATE_FIELDS
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return None
    return None


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
    # The support log's UIC answers are replaced by their key before anything is kept.
    incoming, inst = protect(incoming, inst, key_file_for(store.root), vietnam_today())
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
    cases.check_step(conn, inst.form_id, data)
    xml_sha = hashlib.sha256(incoming.xml).hexdigest()
    expected = binary_names(inst.values, form.fields)

    # An edit sent again (Collect resends when a reply is lost) must be found as a resend
    # before edit_target sees its deprecatedID already replaced: edits are rare, so look.
    if look_first or inst.deprecated_id:
        same = conn.execute(FIND_VERSION, {"iid": inst.instance_id}).first()
        if same is not None:
            _check_stored_scope(conn, incoming, same.submission_id)
            return resend(conn, store, incoming, inst, same, xml_sha, expected, data, form)

    now = utcnow()
    status: Status = "created"
    previous_id: int | None = None
    target = edit_target(conn, inst, form, incoming, look_first=look_first)
    if target is not None:
        submission_id, root, previous_id = target
        _check_stored_scope(conn, incoming, submission_id)
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
        if incoming.root_instance_id is None:
            # Collect sends only what changed. A pull's server holds every file of the new
            # version (Central carries unchanged ones over itself, Kobo keeps them): a file
            # it could not give yet stays missing, never the old version's bytes.
            carry_over(conn, submission_id, previous_id, version_id, expected, incoming.files)
    conn.execute(
        SET_CURRENT,
        {
            "sid": submission_id,
            "current_version_id": version_id,
            "commune_code": commune,
            "activity_date": activity_date(data, inst.form_id),
            "updated_at": now,
            "edited": review_state,
        },
    )
    cases.record(
        conn,
        inst.form_id,
        incoming.xml,
        data,
        submission_id=submission_id,
        version_id=version_id,
        root=root,
    )
    added = store_files(conn, store, submission_id, version_id, incoming.files, expected)
    return IngestResult(
        status=status,
        submission_id=submission_id,
        instance_id=root,
        version_instance_id=inst.instance_id,
        form_id=inst.form_id,
        attachments_added=added,
        attachments_missing=missing_files(conn, version_id, expected),
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
