"""Form registry: where the workbooks are, storing built versions, refreshing media files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pcmd.db.models import Establishment, Form, FormMedia, FormVersion, OrgUnit, Project, utcnow
from pcmd.errors import FormBuildError
from pcmd.forms import contract, media
from pcmd.forms.convert import FormBuild

DEFAULT_PROJECT_ID = 1
DEFAULT_PROJECT_NAME = "Phòng, chống mại dâm"
WORKBOOK_SUFFIXES = (".xlsx", ".xls")


def shipped_workbooks_dir() -> Path:
    """The workbooks shipped with pcmd: inside the wheel, or forms/ of a source checkout."""
    packaged = Path(str(resources.files("pcmd.forms"))) / "workbooks"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "forms"


def workbook_paths(forms_dir: Path | None) -> list[Path]:
    folder = forms_dir or shipped_workbooks_dir()
    if not folder.is_dir():
        raise FormBuildError(
            f"Không tìm thấy thư mục biểu mẫu {folder} (forms folder not found). "
            "Fix: set forms_dir (PCMD_FORMS_DIR) to the folder holding the .xlsx workbooks."
        )
    paths = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith(("~$", "."))
    )
    if not paths:
        raise FormBuildError(
            f"Thư mục {folder} không có tệp .xlsx nào (no XLSForm workbooks in {folder})."
        )
    return paths


def ensure_default_project(session: Session) -> Project:
    project = session.get(Project, DEFAULT_PROJECT_ID)
    if project is None:
        project = Project(id=DEFAULT_PROJECT_ID, name=DEFAULT_PROJECT_NAME)
        session.add(project)
        session.flush()
    return project


def get_form(session: Session, form_id: str, project_id: int = DEFAULT_PROJECT_ID) -> Form | None:
    return session.scalar(
        select(Form).where(Form.project_id == project_id, Form.form_id == form_id)
    )


def stored_workbook_sha(session: Session, form_id: str) -> str | None:
    """sha256 of the workbook behind a form's current version, to skip rebuilding it."""
    form = get_form(session, form_id)
    if form is None or form.current_version_id is None:
        return None
    version = session.get(FormVersion, form.current_version_id)
    return version.xlsform_sha256 if version else None


def stored_fields(build: FormBuild) -> dict[str, dict[str, object]]:
    """The fields pcmd keeps values of, by path: the form's, except the support log's four UIC
    answers, which ingest replaces by `uic/key` (DESIGN §6b) in their place."""
    out: dict[str, dict[str, object]] = {}
    for path, info in build.info.fields.items():
        if path not in contract.UIC_ANSWERS:
            out[path] = info.as_dict()
        elif contract.UIC_KEY not in out:
            out[contract.UIC_KEY] = {
                "type": "string",
                "control": None,
                "calculate": False,
                "required": False,
                "choices": None,
            }
    return out


@dataclass(frozen=True)
class StoreResult:
    form_id: str
    version: str
    status: str  # new_form | new_version | unchanged


def store_build(
    session: Session, build: FormBuild, project_id: int = DEFAULT_PROJECT_ID
) -> StoreResult:
    """Record a built form as the current version of its form (creating the form if needed).

    A version string is immutable once stored, as on Central and Kobo: phones compare versions,
    so changed content under an old version would never reach them.
    """
    if project_id == DEFAULT_PROJECT_ID:
        ensure_default_project(session)
    form = get_form(session, build.form_id, project_id)
    status = "new_version"
    if form is None:
        form = Form(project_id=project_id, form_id=build.form_id, title=build.info.title)
        session.add(form)
        session.flush()
        status = "new_form"
    existing = session.scalar(
        select(FormVersion).where(
            FormVersion.form_pk == form.id, FormVersion.version == build.version
        )
    )
    if existing is not None:
        if existing.xform_md5 != build.xform_md5:
            raise FormBuildError(
                f"{build.workbook_name}: phiên bản {build.version!r} của {build.form_id} đã có với "
                f"nội dung khác (version {build.version!r} of {build.form_id} already exists with "
                "different content). Fix: raise `version` on the settings sheet, e.g. to "
                "today's date as YYYYMMDDNN.",
                workbook=build.workbook_name,
            )
        form.current_version_id = existing.id
        return StoreResult(build.form_id, build.version, "unchanged")
    version = FormVersion(
        form_pk=form.id,
        version=build.version,
        xform=build.xform,
        xform_md5=build.xform_md5,
        fields=stored_fields(build),
        media_files=list(build.info.media_files),
        xlsform=build.workbook,
        xlsform_filename=build.workbook_name,
        xlsform_sha256=build.workbook_sha256,
    )
    session.add(version)
    session.flush()
    form.current_version_id = version.id
    form.title = build.info.title
    return StoreResult(build.form_id, build.version, status)


def generated_media(session: Session) -> dict[str, media.MediaFile]:
    """The full (unscoped) CSV media built from org units in force and the register."""
    units = session.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_code).where(
            OrgUnit.valid_to.is_(None), OrgUnit.level.in_(("province", "commune"))
        )
    ).all()
    provinces = [(c, n) for c, n, level, _p in units if level == "province"]
    communes = [(c, n, p or "") for c, n, level, p in units if level == "commune"]
    establishments = session.execute(
        select(
            Establishment.id,
            Establishment.name,
            Establishment.address,
            Establishment.commune_code,
            Establishment.type,
        ).where(Establishment.status == "active")
    ).all()
    files = (
        media.provinces_csv(provinces),
        media.communes_csv(communes),
        media.establishments_csv([(a, b, c, d, e) for a, b, c, d, e in establishments]),
    )
    return {f.filename: f for f in files}


def refresh_media(session: Session, project_id: int = DEFAULT_PROJECT_ID) -> list[FormMedia]:
    """Store, for each form, the generated media files its current version uses."""
    files = generated_media(session)
    stored: list[FormMedia] = []
    forms = session.scalars(select(Form).where(Form.project_id == project_id)).all()
    for form in forms:
        if form.current_version_id is None:
            continue
        version = session.get(FormVersion, form.current_version_id)
        wanted: Sequence[str] = version.media_files if version else []
        for name in wanted:
            if name not in files:
                continue  # a user-supplied media file, uploaded separately
            item = files[name]
            row = session.scalar(
                select(FormMedia).where(FormMedia.form_pk == form.id, FormMedia.filename == name)
            )
            if row is None:
                row = FormMedia(form_pk=form.id, filename=name)
                session.add(row)
            if row.md5 != item.md5:
                row.content, row.md5 = item.content, item.md5
                row.content_type = item.content_type
                row.updated_at = utcnow()
            stored.append(row)
    session.flush()
    return stored
