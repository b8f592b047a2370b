"""Valid instances of the three shipped forms, as text answers by path, and their XML.

`answers(form)` is a complete, valid submission (as ODK Collect would send it); tests change a
few paths and build the XML with `instance_xml`, then send it through the real ingest.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from sqlalchemy import Engine

from pcmd.ingest.files import FileStore
from pcmd.ingest.incoming import Incoming, IngestResult
from pcmd.ingest.submit import ingest_with_retry
from tests.server.collect import VERSION, new_id

META = {
    "start": "2026-11-20T08:00:00.000+07:00",
    "end": "2026-11-20T08:20:00.000+07:00",
    "today": "2026-11-20",
    "deviceid": "collect:AAAA000000000001",
    "username": "can_bo_xa",
    "where/province": "51",
    "where/commune": "21025",
    "reporter_org": "phu_nu",
}

OUTREACH = {
    **META,
    "activity_date": "2026-11-20",
    "channel": "hoi_nghi",
    "setting": "truong_hoc",
    "topics": "phap_luat hiv_sti",
    "integrated": "khong",
    "reach/n_establishment_workers": "0",
    "reach/n_industrial_workers": "0",
    "reach/n_students": "40",
    "reach/n_general": "5",
    "reach/n_female": "20",
    "reach/n_total": "45",
    "media_items": "",
    "materials": "30",
    "photo": "",
    "location": "15.12 108.8 12.0 5.0",
    "notes": "",
}

TRAINING = {
    **META,
    "start_date": "2026-11-18",
    "days": "1.5",
    "organizer_level": "xa",
    "topics": "nghiep_vu phap_luat",
    "participants/n_province_staff": "2",
    "participants/n_commune_staff": "20",
    "participants/n_police": "5",
    "participants/n_collaborators": "10",
    "participants/n_other": "3",
    "participants/new_province_staff": "1",
    "participants/new_commune_staff": "12",
    "participants/n_female": "18",
    "participants/n_total": "40",
    "attendance_photo": "",
    "notes": "",
}

INSPECTION = {
    **META,
    "reporter_org": "doi_178",
    "inspection_date": "2026-11-19",
    "team": "doi_178_xa",
    "establishment/known": "yes",
    "establishment/id": "QN-0001",
    "establishment/name": "",
    "establishment/address": "",
    "establishment/license_no": "",
    "establishment/type": "karaoke",
    "findings/n_workers": "6",
    "findings/n_female_workers": "4",
    "findings/license_valid": "yes",
    "findings/violation": "yes",
    "findings/violation_types": "gio_hoat_dong",
    "findings/action": "phat_tien",
    "findings/fine_vnd": "15000000",
    "findings/n_workers_informed": "6",
    "findings/commitment_signed": "yes",
    "photo": "",
    "location": "",
    "notes": "",
}

FORMS = {"pcmd_outreach": OUTREACH, "pcmd_training": TRAINING, "pcmd_inspection": INSPECTION}


def answers(form_id: str, **changes: str) -> dict[str, str]:
    """The valid answers of `form_id` with some changed; keys use __ for / (reach__n_female)."""
    out = dict(FORMS[form_id])
    for key, value in changes.items():
        out[key.replace("__", "/")] = value
    return out


def instance_xml(
    form_id: str,
    values: dict[str, str],
    instance_id: str,
    *,
    deprecated_id: str | None = None,
    version: str = VERSION,
) -> bytes:
    """The instance XML for answers by path (groups nest in the order paths first appear)."""
    tree: dict[str, object] = {}
    for path, value in values.items():
        node = tree
        *groups, leaf = path.split("/")
        for group in groups:
            child = node.setdefault(group, {})
            assert isinstance(child, dict)
            node = child
        node[leaf] = value

    def render(node: dict[str, object]) -> str:
        parts = []
        for name, value in node.items():
            inner = render(value) if isinstance(value, dict) else escape(str(value))
            parts.append(f"<{name}>{inner}</{name}>" if inner else f"<{name}/>")
        return "".join(parts)

    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0"?><{form_id} xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
        f"{render(tree)}<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta>"
        f"</{form_id}>"
    ).encode()


def send(
    engine: Engine,
    store: FileStore,
    form_id: str,
    values: dict[str, str],
    *,
    instance_id: str | None = None,
    deprecated_id: str | None = None,
) -> IngestResult:
    """Ingest one instance the way every source does."""
    xml = instance_xml(form_id, values, instance_id or new_id(), deprecated_id=deprecated_id)
    return ingest_with_retry(
        engine, store, Incoming(xml=xml, source="openrosa", device_id=values.get("deviceid"))
    )
