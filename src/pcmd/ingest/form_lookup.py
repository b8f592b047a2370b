"""The stored form version a submission names (its binds, its form's open/closed state), cached."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from pcmd.db.tables import FORM, FVER
from pcmd.errors import IngestError
from pcmd.ingest.instance import Instance


@dataclass(frozen=True)
class FormVersionInfo:
    form_pk: int
    version_id: int
    fields: dict[str, Any]
    state: str


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
