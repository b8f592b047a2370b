"""The shipped XLSForms against the contract of DESIGN §6.

The workbooks are converted by pyxform with ODK Validate on (it must really run: Java is required),
and the XForm's binds and body controls are parsed; expectations below are copied by hand from
DESIGN §6, not derived from the forms.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeET

from pcmd.forms.convert import FormBuild, convert_workbook
from pcmd.forms.registry import shipped_workbooks_dir

# (bind type, body control). select_one/select_one_from_file → string + select1;
# select_multiple → string + select; image → binary + upload; calculate → string, no control.
INT = ("int", "input")
DATE = ("date", "input")
TEXT = ("string", "input")
ONE = ("string", "select1")
MANY = ("string", "select")
IMAGE = ("binary", "upload")
GEO = ("geopoint", "input")
CALC = ("string", "calculate")  # a calculate has no body control, only a bind

COMMON = {
    "where/province": ONE,
    "where/commune": ONE,
    "reporter_org": ONE,
    "start": ("dateTime", None),
    "end": ("dateTime", None),
    "today": ("date", None),
    "deviceid": ("string", None),
    "username": ("string", None),
    "meta/instanceID": ("string", None),
}

CONTRACT: dict[str, dict[str, tuple[str, str | None]]] = {
    "pcmd_outreach": {
        **COMMON,
        "activity_date": DATE,
        "channel": ONE,
        "setting": ONE,
        "topics": MANY,
        "integrated": MANY,
        "reach/n_establishment_workers": INT,
        "reach/n_industrial_workers": INT,
        "reach/n_students": INT,
        "reach/n_general": INT,
        "reach/n_female": INT,
        "reach/n_total": CALC,
        "media_items": INT,
        "materials": INT,
        "photo": IMAGE,
        "location": GEO,
        "notes": TEXT,
    },
    "pcmd_training": {
        **COMMON,
        "start_date": DATE,
        "days": ("decimal", "input"),
        "organizer_level": ONE,
        "topics": MANY,
        "participants/n_province_staff": INT,
        "participants/n_commune_staff": INT,
        "participants/n_police": INT,
        "participants/n_collaborators": INT,
        "participants/n_other": INT,
        "participants/new_province_staff": INT,
        "participants/new_commune_staff": INT,
        "participants/n_female": INT,
        "participants/n_total": CALC,
        "attendance_photo": IMAGE,
        "notes": TEXT,
    },
    "pcmd_inspection": {
        **COMMON,
        "inspection_date": DATE,
        "team": ONE,
        "establishment/known": ONE,
        "establishment/id": ONE,
        "establishment/name": TEXT,
        "establishment/address": TEXT,
        "establishment/license_no": TEXT,
        "establishment/type": ONE,
        "findings/n_workers": INT,
        "findings/n_female_workers": INT,
        "findings/license_valid": ONE,
        "findings/violation": ONE,
        "findings/violation_types": MANY,
        "findings/action": ONE,
        "findings/fine_vnd": INT,
        "findings/n_workers_informed": INT,
        "findings/commitment_signed": ONE,
        "photo": IMAGE,
        "location": GEO,
        "notes": TEXT,
    },
}

REPORTER_ORG = {
    "mttq",
    "phu_nu",
    "thanh_nien",
    "cong_an",
    "van_hoa_xa_hoi",
    "y_te",
    "giao_duc",
    "doi_178",
    "khac",
}
YES_NO = {"yes", "no"}
CHOICES: dict[str, dict[str, set[str]]] = {
    "pcmd_outreach": {
        "reporter_org": REPORTER_ORG,
        "channel": {
            "hoi_nghi",
            "truc_tiep",
            "loa_dai",
            "bao_chi",
            "mang_xa_hoi",
            "pano_to_roi",
            "van_nghe",
            "tu_van",
            "khac",
        },
        "setting": {"cong_dong", "co_so_kd", "kcn", "truong_hoc", "truc_tuyen", "khac"},
        "topics": {
            "phap_luat",
            "tac_hai",
            "hiv_sti",
            "giam_ky_thi",
            "mua_ban_nguoi",
            "ma_tuy",
            "tinh_duc_an_toan",
            "ho_tro_hoa_nhap",
        },
        "integrated": {
            "cuoc_van_dong",
            "an_ninh_to_quoc",
            "ma_tuy",
            "hiv",
            "mua_ban_nguoi",
            "an_sinh",
            "khong",
        },
    },
    "pcmd_training": {
        "reporter_org": REPORTER_ORG,
        "organizer_level": {"tinh", "xa", "huyen"},
        "topics": {
            "nghiep_vu",
            "truyen_thong",
            "giam_hai",
            "bao_luc_gioi",
            "hoa_nhap",
            "phap_luat",
        },
    },
    "pcmd_inspection": {
        "reporter_org": REPORTER_ORG,
        "team": {"doi_178_tinh", "doi_178_xa", "cong_an", "lien_nganh_khac"},
        "establishment/known": YES_NO,
        "establishment/type": {
            "karaoke",
            "massage_xong_hoi",
            "khach_san_nha_nghi",
            "quan_bar_vu_truong",
            "cafe_giai_khat",
            "cat_toc_goi_dau",
            "khac",
        },
        "findings/license_valid": YES_NO,
        "findings/violation": YES_NO,
        "findings/violation_types": {
            "khong_phep",
            "dieu_kien_antt",
            "mai_dam",
            "chua_chap",
            "tam_tru",
            "gio_hoat_dong",
            "khac",
        },
        "findings/action": {
            "nhac_nho",
            "canh_cao",
            "phat_tien",
            "dinh_chi",
            "chuyen_cong_an",
            "khong",
        },
        "findings/commitment_signed": YES_NO,
    },
}

# path → (media file its choices come from, the field its choice_filter depends on)
FROM_FILE = {
    "where/province": ("provinces.csv", None),
    "where/commune": ("communes.csv", "province"),
    "establishment/id": ("establishments.csv", "commune"),
}

# path → a field its `relevant` expression must refer to (DESIGN §6 "relevant if …")
RELEVANT = {
    "pcmd_outreach": {"media_items": "channel"},
    "pcmd_training": {},
    "pcmd_inspection": {
        "establishment/id": "known",
        "establishment/name": "known",
        "establishment/address": "known",
        "establishment/license_no": "known",
        "findings/violation_types": "violation",
        "findings/fine_vnd": "action",
    },
}


@pytest.fixture(scope="module")
def builds() -> dict[str, FormBuild]:
    """All shipped workbooks, converted once with ODK Validate."""
    assert shutil.which("java"), "ODK Validate needs Java: `make test` installs it"
    out = {}
    for path in sorted(shipped_workbooks_dir().glob("*.xlsx")):
        build = convert_workbook(path.read_bytes(), path.name, validate=True)
        out[build.form_id] = build
    return out


def test_workbooks__three_forms_shipped(builds: dict[str, FormBuild]) -> None:
    """The §6 forms; the §6b ones are checked in test_contract_cases.py."""
    assert set(CONTRACT) <= set(builds)
    for form_id, build in builds.items():
        assert build.workbook_name == f"{form_id}.xlsx"
        assert re.fullmatch(r"\d{10}", build.version), build.version


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__every_contract_path_with_its_type(
    builds: dict[str, FormBuild], form_id: str
) -> None:
    fields = builds[form_id].info.fields
    for path, (bind_type, control) in CONTRACT[form_id].items():
        assert path in fields, f"{form_id}: {path} missing"
        field = fields[path]
        if (bind_type, control) == CALC:
            assert (field.type, field.control, field.calculate) == ("string", None, True), path
        else:
            assert (field.type, field.control) == (bind_type, control), path


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__choice_names(builds: dict[str, FormBuild], form_id: str) -> None:
    fields = builds[form_id].info.fields
    for path, names in CHOICES[form_id].items():
        assert set(fields[path].choices or ()) == names, path


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__select_from_file_and_filters(builds: dict[str, FormBuild], form_id: str) -> None:
    xml = builds[form_id].xform
    root = SafeET.fromstring(xml)
    body = root.find("{http://www.w3.org/1999/xhtml}body")
    assert body is not None
    itemsets = {
        el.get("ref", "").split("/", 2)[-1]: el.find("{http://www.w3.org/2002/xforms}itemset")
        for el in body.iter()
        if el.get("ref") and el.find("{http://www.w3.org/2002/xforms}itemset") is not None
    }
    media = set(builds[form_id].info.media_files)
    for path, (filename, filter_on) in FROM_FILE.items():
        if path not in CONTRACT[form_id]:
            continue
        assert filename in media, f"{form_id}: {filename} not referenced"
        itemset = itemsets[path]
        nodeset = itemset.get("nodeset", "")
        assert nodeset.startswith(f"instance('{filename.removesuffix('.csv')}')"), nodeset
        if filter_on:
            assert f"/{filter_on}" in nodeset, f"{path} must filter on {filter_on}: {nodeset}"


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__relevance(builds: dict[str, FormBuild], form_id: str) -> None:
    fields = builds[form_id].info.fields
    for path, depends_on in RELEVANT[form_id].items():
        relevant = fields[path].relevant or ""
        assert f"/{depends_on}" in relevant, f"{path}: relevant={relevant!r}"


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__vietnamese_default_and_english(builds: dict[str, FormBuild], form_id: str) -> None:
    root = SafeET.fromstring(builds[form_id].xform)
    langs = {
        t.get("lang"): t.get("default")
        for t in root.iter("{http://www.w3.org/2002/xforms}translation")
    }
    assert langs == {"Vietnamese (vi)": "true()", "English (en)": None}


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__no_question_about_a_person(builds: dict[str, FormBuild], form_id: str) -> None:
    """Privacy: counts only; the only free-text names are an establishment's."""
    person = re.compile(r"(^|_)(name|ho_ten|ten|full_name|phone|sdt|cccd|cmnd|dob)($|_)")
    for path in builds[form_id].info.fields:
        leaf = path.rsplit("/", 1)[-1]
        if path == "establishment/name":
            continue
        assert not person.search(leaf), f"{form_id}: {path} looks like personal data"


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__dates_constrained(builds: dict[str, FormBuild], form_id: str) -> None:
    date_field = {
        "pcmd_outreach": "activity_date",
        "pcmd_training": "start_date",
        "pcmd_inspection": "inspection_date",
    }[form_id]
    constraint = builds[form_id].info.fields[date_field].constraint or ""
    assert "today()" in constraint
    assert "2021-01-01" in constraint


def test_workbooks_dir__is_repository_forms_folder() -> None:
    assert shipped_workbooks_dir() == Path(__file__).resolve().parents[2] / "forms"
