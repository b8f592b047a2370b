"""The programmes in use: Programme 1629, always on, and the programme files switched on with
`pcmd programmes add` (a province plan, the next programme), stored in the database."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from pcmd.db.models import ProgrammeFile, utcnow
from pcmd.db.tables import IV, PFILES
from pcmd.errors import PipelineError
from pcmd.masterdata.tree import load_tree
from pcmd.pipeline.indicators import cube
from pcmd.pipeline.indicators.model import Programme
from pcmd.pipeline.indicators.programme import DEFAULT_PROGRAMME, resolve_all
from pcmd.pipeline.indicators.reader import parse_programme_file
from pcmd.pipeline.state import forget_programme


def active_programmes(conn: Connection) -> dict[str, Programme]:
    """Programme 1629 and every file added with `pcmd programmes add`."""
    rows = conn.execute(select(PFILES.c.filename, PFILES.c.content).order_by(PFILES.c.programme))
    return resolve_all((r.filename, r.content) for r in rows)


def add_programme(conn: Connection, text: str, filename: str) -> Programme:
    """Check a programme file against the active ones and the org units, and switch it on
    (replacing the file of the same programme id). The next pipeline run computes it."""
    existing = {
        r.programme: (r.filename, r.content)
        for r in conn.execute(select(PFILES.c.programme, PFILES.c.filename, PFILES.c.content))
    }
    parsed = parse_programme_file(text, filename)
    existing.pop(parsed.id, None)
    programmes = resolve_all([*existing.values(), (filename, text)])
    programme = programmes[parsed.id]
    tree = load_tree(conn)
    if programme.org not in tree.level or tree.level[programme.org] == "commune":
        raise PipelineError(
            f"{filename}: programme.org = {programme.org!r} không phải cả nước hay một tỉnh đang "
            f"hiệu lực (is not the country or a province in force)."
        )
    cube.assign_slots(m for p in programmes.values() for m in p.measures())
    digest = hashlib.sha256(text.encode()).hexdigest()
    conn.execute(delete(PFILES).where(PFILES.c.programme == programme.id))
    conn.execute(
        PFILES.insert().values(
            programme=programme.id,
            filename=filename,
            content=text,
            sha256=digest,
            added_at=utcnow(),
        )
    )
    return programme


def remove_programme(conn: Connection, programme_id: str) -> None:
    if programme_id == DEFAULT_PROGRAMME:
        raise PipelineError(
            f"Không gỡ được chương trình mặc định {DEFAULT_PROGRAMME} (the default programme "
            "cannot be removed)."
        )
    files = {
        r.programme: (r.filename, r.content)
        for r in conn.execute(select(PFILES.c.programme, PFILES.c.filename, PFILES.c.content))
    }
    if programme_id not in files:
        raise PipelineError(
            f"Không có chương trình {programme_id!r} (no programme {programme_id!r}); "
            f"added: {', '.join(sorted(files)) or '—'}."
        )
    rest = [v for k, v in files.items() if k != programme_id]
    resolve_all(rest)  # another plan extending this one would be left without its base
    conn.execute(delete(PFILES).where(PFILES.c.programme == programme_id))
    conn.execute(delete(IV).where(IV.c.programme == programme_id))
    forget_programme(conn, programme_id)


def programme_indicators(conn: Connection | Session) -> set[str]:
    """The indicator ids of Programme 1629 and of every programme file switched on."""
    files = conn.execute(select(ProgrammeFile.filename, ProgrammeFile.content)).all()
    programmes = resolve_all((filename, content) for filename, content in files)
    return {ind.id for programme in programmes.values() for ind in programme.indicators}
