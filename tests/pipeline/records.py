"""Instance XML of the shipped forms (DESIGN §6, §6b), as ODK Collect sends it, for pipeline tests.

`xml(form, iid, commune=…, day=…, **values)` fills every contract field (DESIGN §6) with a
harmless default and overrides the ones given, by path with "/" written as "__"
(`reach__n_students=40`). Totals (`calculate`) are written as Collect computes them.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Any
from xml.sax.saxutils import escape

import openpyxl

from pcmd.forms.registry import shipped_workbooks_dir

VERSION = "2026112301"  # of the three forms of DESIGN §6
DATE_FIELD = {
    "pcmd_outreach": "activity_date",
    "pcmd_training": "start_date",
    "pcmd_inspection": "inspection_date",
    "pcmd_case": "received_date",
    "pcmd_case_update": "step_date",
    "pcmd_monthly": "month",  # the month's first day
    "pcmd_support": "service_date",
    "pcmd_plan": "year",  # the year ("2026")
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "pcmd_outreach": {
        "reporter_org": "phu_nu",
        "activity_date": "",
        "channel": "hoi_nghi",
        "setting": "cong_dong",
        "topics": "phap_luat",
        "integrated": "khong",
        "reach/n_establishment_workers": 0,
        "reach/n_industrial_workers": 0,
        "reach/n_students": 0,
        "reach/n_general": 0,
        "reach/n_female": 0,
        "reach/n_total": None,  # calculated
        "media_items": "",
        "materials": 0,
        "photo": "",
        "location": "",
        "notes": "",
    },
    "pcmd_training": {
        "reporter_org": "y_te",
        "start_date": "",
        "days": 1,
        "organizer_level": "xa",
        "topics": "nghiep_vu",
        "participants/n_province_staff": 0,
        "participants/n_commune_staff": 0,
        "participants/n_police": 0,
        "participants/n_collaborators": 0,
        "participants/n_other": 0,
        "participants/new_province_staff": 0,
        "participants/new_commune_staff": 0,
        "participants/n_female": 0,
        "participants/n_total": None,  # calculated
        "attendance_photo": "",
        "notes": "",
    },
    "pcmd_inspection": {
        "reporter_org": "doi_178",
        "inspection_date": "",
        "team": "doi_178_xa",
        "establishment/known": "yes",
        "establishment/id": "",
        "establishment/name": "",
        "establishment/address": "",
        "establishment/license_no": "",
        "establishment/type": "karaoke",
        "findings/n_workers": 0,
        "findings/n_female_workers": 0,
        "findings/license_valid": "yes",
        "findings/violation": "no",
        "findings/violation_types": "",
        "findings/action": "khong",
        "findings/fine_vnd": "",
        "findings/n_workers_informed": 0,
        "findings/commitment_signed": "yes",
        "photo": "",
        "location": "",
        "notes": "",
    },
    "pcmd_case": {
        "reporter_org": "cong_an",
        "received_date": "",
        "kind": "to_giac",
        "source": "duong_day_nong",
        "subject": "truc_tuyen",
        "establishment/id": "",
        "summary": "Phản ánh có hoạt động môi giới trên mạng xã hội",
        "assigned_to": "cong_an_xa",
    },
    "pcmd_case_update": {
        "reporter_org": "cong_an",
        "case": "",  # the case's entity id: its registration's uuid, bare
        "step": "xac_minh",
        "step_date": "",
        "outcome": "",
        "fine_vnd": "",
    },
    "pcmd_monthly": {
        "reporter_org": "van_hoa_xa_hoi",
        "month": "",
        "nothing_to_report": "no",
        "crime/n_cases_detected": 0,
        "crime/n_cases_prosecuted": 0,
        "crime/n_defendants": 0,
        "admin/n_violations": 0,
        "admin/n_persons_fined": 0,
    },
    "pcmd_support": {
        "reporter_org": "phu_nu",
        "service_date": "",
        "uic/mother_initial": "",
        "uic/father_initial": "",
        "uic/birth_year": "",
        "uic/sex": "nu",
        "in_need_eligible": "yes",
        "services": "y_te",
        "provider": "nhom_dong_dang",
    },
    "pcmd_plan": {
        "reporter_org": "van_hoa_xa_hoi",
        "year": "",
        "plan_issued": "yes",
        "plan_number": "",
        "plan_date": "",
        "integrated_with": "khong",
    },
}
TOTALS = {
    "pcmd_outreach": (
        "reach/n_total",
        (
            "reach/n_establishment_workers",
            "reach/n_industrial_workers",
            "reach/n_students",
            "reach/n_general",
        ),
    ),
    "pcmd_training": (
        "participants/n_total",
        (
            "participants/n_province_staff",
            "participants/n_commune_staff",
            "participants/n_police",
            "participants/n_collaborators",
            "participants/n_other",
        ),
    ),
}


@functools.cache
def form_version(form: str) -> str:
    """The version of the shipped workbook (the forms of §6b change while they are young)."""
    if form in ("pcmd_outreach", "pcmd_training", "pcmd_inspection"):
        return VERSION
    book = openpyxl.load_workbook(shipped_workbooks_dir() / f"{form}.xlsx", read_only=True)
    rows = list(book["settings"].iter_rows(values_only=True))
    return str(rows[1][rows[0].index("version")])


def new_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def values(form: str, day: dt.date | str, **given: Any) -> dict[str, Any]:
    out = dict(DEFAULTS[form])
    out[DATE_FIELD[form]] = day if isinstance(day, str) else day.isoformat()
    for key, value in given.items():
        path = key.replace("__", "/")
        if path not in out:
            raise KeyError(f"{form} has no field {path}")
        out[path] = value
    if form in TOTALS:
        total, parts = TOTALS[form]
        if given.get(total.replace("/", "__")) is None:
            out[total] = sum(int(out[p] or 0) for p in parts)
    return out


def _nest(paths: dict[str, Any]) -> str:
    """Elements for `group/name` paths, groups in first-seen order."""
    tree: dict[str, Any] = {}
    for path, value in paths.items():
        node = tree
        *groups, name = path.split("/")
        for g in groups:
            node = node.setdefault(g, {})
        node[name] = value

    def render(node: dict[str, Any]) -> str:
        out = []
        for name, value in node.items():
            if isinstance(value, dict):
                out.append(f"<{name}>{render(value)}</{name}>")
            elif value is None or value == "":
                out.append(f"<{name}/>")
            else:
                out.append(f"<{name}>{escape(str(value))}</{name}>")
        return "".join(out)

    return render(tree)


def xml(
    form: str,
    instance_id: str,
    *,
    commune: str,
    province: str,
    day: dt.date | str,
    deprecated_id: str | None = None,
    device: str = "collect:pcmdtest00000001",
    **given: Any,
) -> bytes:
    body = {
        "start": "2026-11-20T08:00:00.000+07:00",
        "end": "2026-11-20T08:20:00.000+07:00",
        "today": "2026-11-20",
        "deviceid": device,
        "username": "can_bo",
        "where/province": province,
        "where/commune": commune,
        **values(form, day, **given),
    }
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0"?><{form} xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form}" version="{form_version(form)}">'
        f"{_nest(body)}<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></{form}>"
    ).encode()
