"""The five DESIGN §6b workbooks (case, case update, monthly, support, plan) against the contract.

Converted by pyxform with ODK Validate on (Java must be installed); expectations are copied by
hand from DESIGN §6b, not derived from the forms or from pcmd.forms.contract. The last test
checks that contract.py (what the pipeline reads) names the same paths.
"""

from __future__ import annotations

import re
import shutil

import pytest
from defusedxml import ElementTree as SafeET

from pcmd.forms import contract
from pcmd.forms.convert import FormBuild, convert_workbook
from pcmd.forms.registry import shipped_workbooks_dir
from tests.forms.test_contract import COMMON  # the where group and meta, as in DESIGN §6

INT = ("int", "input")
DATE = ("date", "input")
TEXT = ("string", "input")
ONE = ("string", "select1")
MANY = ("string", "select")
CALC = ("string", None)
CONTRACT: dict[str, dict[str, tuple[str, str | None]]] = {
    "pcmd_case": {
        **COMMON,
        "received_date": DATE,
        "kind": ONE,
        "source": ONE,
        "subject": ONE,
        "establishment/id": ONE,
        "summary": TEXT,
        "assigned_to": ONE,
    },
    "pcmd_case_update": {
        **COMMON,
        "case": ONE,
        "step": ONE,
        "step_date": DATE,
        "outcome": ONE,
        "fine_vnd": INT,
    },
    "pcmd_monthly": {
        **COMMON,
        "month": DATE,
        "nothing_to_report": ONE,
        "crime/n_cases_detected": INT,
        "crime/n_cases_prosecuted": INT,
        "crime/n_defendants": INT,
        "admin/n_violations": INT,
        "admin/n_persons_fined": INT,
    },
    "pcmd_support": {
        **COMMON,
        "service_date": DATE,
        "uic/mother_initial": TEXT,
        "uic/father_initial": TEXT,
        "uic/birth_year": INT,
        "uic/sex": ONE,
        "in_need_eligible": ONE,
        "services": MANY,
        "provider": ONE,
    },
    "pcmd_plan": {
        **COMMON,
        "year": INT,
        "plan_issued": ONE,
        "plan_number": TEXT,
        "plan_date": DATE,
        "integrated_with": MANY,
    },
}
YES_NO = {"yes", "no"}
CHOICES: dict[str, dict[str, set[str]]] = {
    "pcmd_case": {
        "kind": {"to_giac", "tin_bao", "khieu_nai", "kien_nghi"},
        "source": {"nguoi_dan", "co_quan", "duong_day_nong", "bao_chi", "mang_xa_hoi", "khac"},
        "subject": {"co_so_kd", "truc_tuyen", "dia_diem_khac"},
        "assigned_to": {"cong_an_xa", "doi_178", "thanh_tra", "khac"},
    },
    "pcmd_case_update": {
        "step": {"xac_minh", "phan_loai", "gia_han", "xu_ly_xong", "chuyen"},
        "outcome": {"xu_phat_hanh_chinh", "khoi_to", "khong_vi_pham", "chuyen_co_quan_khac"},
    },
    "pcmd_monthly": {"nothing_to_report": YES_NO},
    "pcmd_support": {
        "uic/sex": {"nu", "nam", "khac"},
        "in_need_eligible": YES_NO,
        "services": {
            "y_te",
            "xet_nghiem",
            "tam_ly",
            "phap_ly",
            "hoc_nghe",
            "viec_lam",
            "vay_von",
            "tro_cap",
            "nha_o",
            "khac",
        },
        "provider": {"co_so_tro_giup", "nhom_dong_dang", "y_te", "to_chuc_xa_hoi", "khac"},
    },
    "pcmd_plan": {
        "plan_issued": YES_NO,
        "integrated_with": {"kt_xh", "an_sinh", "ma_tuy", "hiv", "khong"},
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
# path → a field its `relevant` must refer to ("relevant if …" in §6b)
RELEVANT = {
    "pcmd_case": {"establishment/id": "subject"},
    "pcmd_case_update": {"outcome": "step", "fine_vnd": "outcome"},
    "pcmd_monthly": dict.fromkeys(
        (
            "crime/n_cases_detected",
            "crime/n_cases_prosecuted",
            "crime/n_defendants",
            "admin/n_violations",
            "admin/n_persons_fined",
        ),
        "nothing_to_report",
    ),
    "pcmd_support": {},
    "pcmd_plan": {
        "plan_number": "plan_issued",
        "plan_date": "plan_issued",
        "integrated_with": "plan_issued",
    },
}
# path → words its constraint must contain
CONSTRAINTS: dict[str, dict[str, tuple[str, ...]]] = {
    "pcmd_case": {"received_date": ("today()", "2021-01-01")},
    "pcmd_case_update": {"step_date": ("today()", "/case_received"), "fine_vnd": ("> 0",)},
    "pcmd_monthly": {
        "month": ("today()",),
        "crime/n_cases_prosecuted": (">= 0", "/n_cases_detected"),
        "admin/n_persons_fined": (">= 0",),
    },
    "pcmd_support": {
        "service_date": ("today()", "2021-01-01"),
        "uic/birth_year": ("1940", "today()", "- 15"),
        "uic/mother_initial": ("string-length(.) = 1",),
        "uic/father_initial": ("string-length(.) = 1",),
    },
    "pcmd_plan": {"year": ("2021", "today()", "+ 1")},
}
FROM_FILE = {
    "pcmd_case": {"establishment/id": ("establishments", "commune")},
    "pcmd_case_update": {"case": ("cases", "commune")},
}
ENT = "{http://www.opendatakit.org/xforms/entities}"
XF = "{http://www.w3.org/2002/xforms}"


@pytest.fixture(scope="module")
def builds() -> dict[str, FormBuild]:
    assert shutil.which("java"), "ODK Validate needs Java: `make test` installs it"
    out = {}
    for form_id in CONTRACT:
        path = shipped_workbooks_dir() / f"{form_id}.xlsx"
        out[form_id] = convert_workbook(path.read_bytes(), path.name, validate=True)
    return out


def test_workbooks__eight_forms_shipped() -> None:
    names = sorted(p.stem for p in shipped_workbooks_dir().glob("*.xlsx"))
    assert names == sorted(["pcmd_outreach", "pcmd_training", "pcmd_inspection", *CONTRACT])


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__every_path_with_its_type(builds: dict[str, FormBuild], form_id: str) -> None:
    build = builds[form_id]
    assert build.form_id == form_id
    assert re.fullmatch(r"\d{10}", build.version)
    fields = build.info.fields
    for path, (bind_type, control) in CONTRACT[form_id].items():
        assert path in fields, f"{form_id}: {path} missing"
        assert (fields[path].type, fields[path].control) == (bind_type, control), path


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__choices(builds: dict[str, FormBuild], form_id: str) -> None:
    fields = builds[form_id].info.fields
    assert set(fields["reporter_org"].choices or ()) == REPORTER_ORG
    for path, names in CHOICES[form_id].items():
        assert set(fields[path].choices or ()) == names, path


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__relevance_and_constraints(builds: dict[str, FormBuild], form_id: str) -> None:
    fields = builds[form_id].info.fields
    for path, depends_on in RELEVANT[form_id].items():
        assert f"/{depends_on}" in (fields[path].relevant or ""), path
    for path, words in CONSTRAINTS[form_id].items():
        constraint = fields[path].constraint or ""
        for word in words:
            assert word in constraint, f"{path}: {word!r} not in {constraint!r}"


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__select_from_file_filtered(builds: dict[str, FormBuild], form_id: str) -> None:
    root = SafeET.fromstring(builds[form_id].xform)
    for path, (instance, filter_on) in FROM_FILE.get(form_id, {}).items():
        control = next(
            el
            for el in root.iter()
            if el.get("ref") == f"/{form_id}/{path}" and el.tag != f"{XF}bind"
        )
        itemset = control.find(f"{XF}itemset")
        assert itemset is not None
        nodeset = itemset.get("nodeset", "")
        assert nodeset.startswith(f"instance('{instance}')")
        assert f"/{filter_on}" in nodeset
        assert f"{instance}.csv" in builds[form_id].info.media_files


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__vietnamese_default_and_english(builds: dict[str, FormBuild], form_id: str) -> None:
    root = SafeET.fromstring(builds[form_id].xform)
    langs = {t.get("lang"): t.get("default") for t in root.iter(f"{XF}translation")}
    assert langs == {"Vietnamese (vi)": "true()", "English (en)": None}


@pytest.mark.parametrize("form_id", sorted(CONTRACT))
def test_xform__no_question_about_a_person(builds: dict[str, FormBuild], form_id: str) -> None:
    person = re.compile(r"(^|_)(name|ho_ten|ten|full_name|phone|sdt|cccd|cmnd|dob)($|_)")
    for path in builds[form_id].info.fields:
        assert not person.search(path.rsplit("/", 1)[-1]), f"{form_id}: {path}"


def _binds(xml: str) -> dict[str, dict[str, str]]:
    root = SafeET.fromstring(xml)
    return {b.get("nodeset", ""): dict(b.attrib) for b in root.iter(f"{XF}bind")}


def test_case__registers_an_entity_in_cases(builds: dict[str, FormBuild]) -> None:
    xml = builds["pcmd_case"].xform
    root = SafeET.fromstring(xml)
    model = root.find(f".//{XF}model")
    assert model is not None
    assert model.get(f"{ENT}entities-version") == "2024.1.0"
    entity = root.find(f".//{XF}instance/{XF}pcmd_case/{XF}meta/{XF}entity")
    assert entity is not None
    assert (entity.get("dataset"), entity.get("create"), entity.get("update")) == (
        "cases",
        "1",
        None,
    )
    binds = _binds(xml)
    assert "received_date" in binds["/pcmd_case/meta/entity/label"]["calculate"]
    saved = {
        b[f"{ENT}saveto"]: path.removeprefix("/pcmd_case/")
        for path, b in binds.items()
        if f"{ENT}saveto" in b
    }
    assert saved == {
        "received_date": "received_date",
        "commune": "where/commune",
        "kind": "kind",
        "deadline": "deadline",
        "status": "status",
        "handled_date": "handled_date",
    }
    assert binds["/pcmd_case/status"]["calculate"] == "'tiep_nhan'"
    assert "+ 20" in binds["/pcmd_case/deadline"]["calculate"]


def test_case_update__updates_the_chosen_case(builds: dict[str, FormBuild]) -> None:
    xml = builds["pcmd_case_update"].xform
    root = SafeET.fromstring(xml)
    entity = root.find(f".//{XF}instance/{XF}pcmd_case_update/{XF}meta/{XF}entity")
    assert entity is not None
    assert (entity.get("dataset"), entity.get("update"), entity.get("create")) == (
        "cases",
        "1",
        None,
    )
    binds = _binds(xml)
    assert (
        binds["/pcmd_case_update/meta/entity/@id"]["calculate"].strip() == "/pcmd_case_update/case"
    )
    assert "__version" in binds["/pcmd_case_update/meta/entity/@baseVersion"]["calculate"]
    saved = {b[f"{ENT}saveto"] for b in binds.values() if f"{ENT}saveto" in b}
    assert saved == {"status", "deadline", "handled_date"}
    assert "gia_han" in binds["/pcmd_case_update/deadline"]["calculate"]
    handled = binds["/pcmd_case_update/handled_date"]["calculate"]
    assert "xu_ly_xong" in handled
    assert "chuyen" in handled


def test_contract_module__names_the_same_paths() -> None:
    """pcmd.forms.contract (read by validation and the indicators) agrees with §6b."""
    assert set(contract.FORMS) >= set(CONTRACT)
    named = {
        "pcmd_case": [
            contract.RECEIVED_DATE,
            contract.CASE_KIND,
            contract.CASE_SOURCE,
            contract.CASE_SUBJECT,
            contract.CASE_ESTABLISHMENT,
            contract.CASE_SUMMARY,
            contract.ASSIGNED_TO,
        ],
        "pcmd_case_update": [
            contract.CASE_REF,
            contract.STEP,
            contract.STEP_DATE,
            contract.OUTCOME,
            contract.STEP_FINE_VND,
        ],
        "pcmd_monthly": [contract.MONTH, contract.NOTHING_TO_REPORT, *contract.MONTHLY_COUNTS],
        "pcmd_support": [
            contract.SERVICE_DATE,
            *contract.UIC_ANSWERS,
            contract.IN_NEED,
            contract.SERVICES,
            contract.PROVIDER,
        ],
        "pcmd_plan": [
            contract.PLAN_YEAR,
            contract.PLAN_ISSUED,
            contract.PLAN_NUMBER,
            contract.PLAN_DATE,
            contract.INTEGRATED_WITH,
        ],
    }
    for form_id, paths in named.items():
        assert set(paths) == set(CONTRACT[form_id]) - set(COMMON), form_id
    assert set(contract.CASE_KINDS) == CHOICES["pcmd_case"]["kind"]
    assert set(contract.STEPS) == CHOICES["pcmd_case_update"]["step"]
    assert contract.UIC_KEY == "uic/key"
    assert contract.CASE_PROPERTIES == (
        "received_date",
        "commune",
        "kind",
        "deadline",
        "status",
        "handled_date",
    )
