"""Importing instance folders as Collect and Briefcase store them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from pcmd.db.engine import transaction
from pcmd.db.models import Attachment, Submission
from pcmd.ingest.files import FileStore
from pcmd.settings import Settings
from pcmd.sync.folder import import_folder
from tests.server.collect import JPEG, load_forms, new_id, outreach_xml


def _collect_folder(root: Path, name: str, xml: bytes, files: dict[str, bytes]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / f"{name}.xml").write_bytes(xml)
    for filename, content in files.items():
        (folder / filename).write_bytes(content)


def test_import_folder__collect_and_briefcase_layouts(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    load_forms(engine)
    root = tmp_path / "instances"
    a, b, c = new_id(), new_id(), new_id()
    _collect_folder(
        root,
        "pcmd_outreach_2026-11-20_08-00-00",
        outreach_xml(a, photo="1.jpg"),
        {"1.jpg": JPEG, "ghi-chu.txt": b"not named by the XML"},
    )
    briefcase = root / "briefcase" / "instances" / c.replace(":", "")
    briefcase.mkdir(parents=True)
    (briefcase / "submission.xml").write_bytes(outreach_xml(c))
    _collect_folder(root, "hong", b"<pcmd_outreach><broken>", {})
    _collect_folder(root, "ban-sua", outreach_xml(b, deprecated_id=a, photo="1.jpg"), {})
    store = FileStore(settings.data_dir / "attachments")

    results = {r.folder.name: r for r in import_folder(engine, store, root)}

    assert {name: r.status for name, r in results.items()} == {
        "pcmd_outreach_2026-11-20_08-00-00": "created",
        c.replace(":", ""): "created",
        "hong": "error",
        # folders are read in name order: the edit comes before its original here
        "ban-sua": "error",
    }
    assert "malformed" in results["hong"].detail
    assert "does not have" in results["ban-sua"].detail
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 2
        assert s.scalars(select(Attachment.filename)).all() == ["1.jpg"]

    # running it again duplicates nothing; the edit now finds its original
    again = {r.folder.name: r.status for r in import_folder(engine, store, root)}
    assert again["pcmd_outreach_2026-11-20_08-00-00"] == "duplicate"
    assert again["ban-sua"] == "edited"
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 2


def test_audit_folder_import__one_entry_the_audit_page_words_it(engine: Engine) -> None:
    from pcmd.db.models import AuditLog
    from pcmd.server.audit_read import Filters, read
    from pcmd.sync.folder import audit_folder_import

    audit_folder_import(engine, Path("/srv/nhap/xa-tinh-son"), {"created": 3, "error": 1})
    with transaction(engine) as s:
        entry = s.scalar(select(AuditLog))
        assert entry is not None
        assert (entry.actor, entry.action, entry.target) == (
            "cli",
            "submissions.import",
            "xa-tinh-son",
        )
        shown = read(s, None, Filters()).entries
    assert [(e.what_vi, e.target, e.details_vi) for e in shown] == [
        ("Nhập thư mục phiếu", "xa-tinh-son", "phiếu mới 3; lỗi 1")
    ]
