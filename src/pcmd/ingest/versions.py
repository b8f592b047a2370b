"""Identity and versions: a resent instanceID (duplicate or conflict), and the stored submission
an edit or a pulled new version replaces (see the docstring of pcmd.ingest.submit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, bindparam, select, update

from pcmd.db.models import utcnow
from pcmd.db.tables import SUB, VER
from pcmd.errors import IngestError
from pcmd.ingest.attachments import missing_files, store_files
from pcmd.ingest.files import FileStore
from pcmd.ingest.form_lookup import FormVersionInfo
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.instance import Instance

SUBMISSION_COLUMNS = (
    SUB.c.id,
    SUB.c.instance_id,
    SUB.c.deleted,
    SUB.c.current_version_id,
    SUB.c.form_pk,
    SUB.c.source,
)
FIND_SUBMISSION = select(*SUBMISSION_COLUMNS).where(SUB.c.instance_id == bindparam("iid"))


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


def resend(
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
    added = store_files(conn, store, submission.id, version.id, incoming.files, expected)
    if added:
        conn.execute(update(SUB).where(SUB.c.id == submission.id).values(updated_at=utcnow()))
    return IngestResult(
        status="attachments_added" if added else "duplicate",
        submission_id=submission.id,
        instance_id=submission.instance_id,
        version_instance_id=inst.instance_id,
        form_id=inst.form_id,
        attachments_added=added,
        attachments_missing=missing_files(conn, version.id, expected),
    )


def edit_target(
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
    if pulled and not incoming.linked and submission.source != incoming.source:
        # A record this source never brought names another route's submission as its root
        # (Kobo meta/rootUuid is whatever the record says): it may not take it over.
        raise IngestError(
            f"Bản ghi {inst.instance_id} nhận là bản sửa của phiếu {submission.instance_id} "
            f"nhận qua đường khác ({submission.source}) (this record claims to edit a "
            f"submission that arrived by another route, {submission.source}); refused. "
            "Check the record on the server it came from.",
            status=409,
        )
    if submission.form_pk != form.form_pk:
        raise IngestError(
            "Phiếu sửa thuộc biểu mẫu khác với phiếu gốc (the edit belongs to another form than "
            "the original).",
            status=409,
        )
    return submission.id, submission.instance_id, submission.current_version_id
