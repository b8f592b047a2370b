"""One submission's page: its answers with the form's labels, issues in words with what to do,
who sent it, versions, photos (and those expected but not received), its comment thread and
reviews, and an establishment it proposes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.db.models import (
    Attachment,
    AuditLog,
    Establishment,
    Form,
    FormVersion,
    OrgUnit,
    SubmissionVersion,
    ValidationIssue,
)
from pcmd.db.review import SubmissionComment
from pcmd.forms.xform import Labels
from pcmd.ingest.history import chain_order
from pcmd.server.accounts import Scope
from pcmd.server.web import i18n
from pcmd.server.web.base import Web
from pcmd.server.web.issue_words import family_name, family_of, issue_text

# Form fields shown elsewhere on the page (the sender, the phone) or of no use to a reviewer.
HIDDEN_FIELDS = frozenset({"start", "end", "today", "deviceid", "username", "phonenumber"})
# Fields the form computes, which have no label of their own: (Vietnamese, English).
CALCULATED: dict[str, tuple[str, str]] = {
    "n_total": ("Tổng số người (tự tính)", "Total people (calculated)"),
}


class SubmissionPage:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def submission(self, request: Request, user: Scope) -> Response:
        sid = int(request.path_params["sid"])
        lang = self.web.lang(request)

        def load() -> dict[str, Any]:
            with transaction(self.web.engine) as session:
                return self._detail(session, user, sid, lang)

        data = await run_in_threadpool(load)
        return self.web.render(
            request, "submission.html", {"user": user, "nav": "submissions", **data}
        )

    def _detail(self, session: Session, user: Scope, sid: int, lang: str) -> dict[str, Any]:
        sub = self.web.visible_submission(session, user, sid)
        version = session.get(SubmissionVersion, sub.current_version_id)
        assert version is not None
        form = session.get(Form, sub.form_pk)
        form_version_id = session.scalar(
            select(FormVersion.id).where(
                FormVersion.form_pk == sub.form_pk, FormVersion.version == version.form_version
            )
        )
        labels = self.web.labels(session, form_version_id) if form_version_id else None
        answers = []
        for path, value in version.data.items():
            if path.startswith("meta/") or path in HIDDEN_FIELDS:
                continue  # who sent it and from which phone are said above the answers
            answers.append(
                {
                    "label": self._label(labels, path, lang),
                    "value": self._show(labels, path, value, lang),
                }
            )
        issues = session.scalars(
            select(ValidationIssue)
            .where(ValidationIssue.version_id == version.id)
            .order_by(ValidationIssue.severity, ValidationIssue.rule)
        ).all()
        stored = session.scalars(
            select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == sub.id)
            .order_by(SubmissionVersion.id)
        ).all()
        # oldest first by their links: earlier versions pulled later are stored after
        by_iid = {v.instance_id: v for v in stored}
        versions = [
            by_iid[iid] for iid in chain_order([(v.instance_id, v.deprecated_id) for v in stored])
        ]
        history = []
        previous: dict[str, Any] | None = None
        for v in versions:
            changes = ""
            if previous is not None:
                changed = [
                    p
                    for p in v.data
                    if v.data.get(p) != previous.get(p)
                    and not p.startswith("meta/")
                    and p not in ("start", "end")
                ]
                shown = [self._label(labels, p, lang) for p in changed[:6]]
                changes = ", ".join(shown)
            history.append(
                {
                    "id": v.id,
                    "instance_id": v.instance_id,
                    "received_at": v.received_at,
                    "changes": changes,
                }
            )
            previous = v.data
        photos = session.scalars(
            select(Attachment)
            .where(Attachment.version_id == version.id)
            .order_by(Attachment.filename)
        ).all()
        reviews = session.scalars(
            select(AuditLog)
            .where(AuditLog.action == "submission.review", AuditLog.target == str(sub.id))
            .order_by(AuditLog.at)
        ).all()
        thread = session.scalars(
            select(SubmissionComment)
            .where(SubmissionComment.submission_id == sub.id)
            .order_by(SubmissionComment.at, SubmissionComment.id)
        ).all()
        received = {p.filename for p in photos}
        missing = [str(f) for f in (version.attachments_expected or []) if f not in received]
        worded = [
            {
                "issue": i,
                "family": family_name(family_of(i.rule), lang),
                "text": issue_text(
                    i.message_vi if lang == "vi" else i.message_en,
                    labels.question(i.field_path, lang) if labels and i.field_path else None,
                ),
            }
            for i in issues
        ]
        location = version.data.get("location")
        commune_name = session.scalar(
            select(OrgUnit.name).where(OrgUnit.code == sub.commune_code, OrgUnit.valid_to.is_(None))
        )
        proposed = None
        if version.data.get("establishment/known") == "no" and version.data.get(
            "establishment/name"
        ):
            exists = session.scalar(
                select(Establishment.id).where(Establishment.proposed_by_submission_id == sub.id)
            )
            if exists is None:
                proposed = version.data["establishment/name"]
        return {
            "sub": sub,
            "form_title": form.title if form else "",
            "answers": answers,
            "issues": worded,
            "thread": thread,
            "missing": missing,
            "submitter": version.submitter,
            "device_id": version.device_id,
            "versions": history,
            "photos": photos,
            "reviews": reviews,
            "location": (
                f"{location[0]:.5f}, {location[1]:.5f}"
                if isinstance(location, list) and len(location) >= 2
                else None
            ),
            "commune_name": commune_name,
            "proposed_establishment": proposed,
        }

    @staticmethod
    def _label(labels: Labels | None, path: str, lang: str) -> str:
        """The question's label; a field the form computes (no label) by what it holds."""
        label = labels.question(path, lang) if labels else path
        if label == path:
            vi, en = CALCULATED.get(path.rsplit("/", 1)[-1], ("Số liệu tự tính", "Calculated"))
            return vi if lang == "vi" else en
        return label

    @staticmethod
    def _show(labels: Labels | None, path: str, value: Any, lang: str) -> str:
        if value is None:
            return "—"
        if labels and path in labels.choices:
            names = value if isinstance(value, list) else [value]
            return ", ".join(labels.choice(path, str(n), lang) for n in names)
        if isinstance(value, list):
            return " ".join(str(v) for v in value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return i18n.number(value, lang)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return i18n.date(value)
        return str(value)

    def routes(self) -> list[BaseRoute]:
        return [Route("/submissions/{sid:int}", self.web.guarded(self.submission))]
