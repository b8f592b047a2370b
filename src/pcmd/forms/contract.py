"""The field forms' contract (DESIGN §6, §6b) as data: paths, counts, choices, required fields.

Validation rules and imports read these names instead of repeating string literals, so a typo
is an import error rather than a rule that silently never fires. Paths are relative to the
instance root, as SubmissionVersion.data keys them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OUTREACH = "pcmd_outreach"
TRAINING = "pcmd_training"
INSPECTION = "pcmd_inspection"
CASE = "pcmd_case"
CASE_UPDATE = "pcmd_case_update"
MONTHLY = "pcmd_monthly"
SUPPORT = "pcmd_support"
PLAN = "pcmd_plan"
FORMS = (OUTREACH, TRAINING, INSPECTION, CASE, CASE_UPDATE, MONTHLY, SUPPORT, PLAN)

PROVINCE = "where/province"
COMMUNE = "where/commune"
REPORTER_ORG = "reporter_org"
LOCATION = "location"
DEVICE_ID = "deviceid"

# The field whose date places a record in a period (DESIGN §5).
# pcmd_plan has none: its record belongs to 1 January of its `year` (PLAN_YEAR).
DATE_FIELD = {
    OUTREACH: "activity_date",
    TRAINING: "start_date",
    INSPECTION: "inspection_date",
    CASE: "received_date",
    CASE_UPDATE: "step_date",
    MONTHLY: "month",  # the reported month, stored as its first day
    SUPPORT: "service_date",
}

REACH = (
    "reach/n_establishment_workers",
    "reach/n_industrial_workers",
    "reach/n_students",
    "reach/n_general",
)
REACH_FEMALE = "reach/n_female"
CHANNEL = "channel"
MEDIA_ITEMS = "media_items"
MATERIALS = "materials"
# Channels whose activities put items in the media (TT2) and ask for media_items.
MEDIA_CHANNELS = ("loa_dai", "bao_chi", "mang_xa_hoi")

DAYS = "days"
ORGANIZER_LEVEL = "organizer_level"
PARTICIPANTS = (
    "participants/n_province_staff",
    "participants/n_commune_staff",
    "participants/n_police",
    "participants/n_collaborators",
    "participants/n_other",
)
NEW_PROVINCE_STAFF = "participants/new_province_staff"
NEW_COMMUNE_STAFF = "participants/new_commune_staff"
PARTICIPANTS_FEMALE = "participants/n_female"

KNOWN = "establishment/known"
ESTABLISHMENT_ID = "establishment/id"
ESTABLISHMENT_NAME = "establishment/name"
ESTABLISHMENT_ADDRESS = "establishment/address"
ESTABLISHMENT_TYPE = "establishment/type"
N_WORKERS = "findings/n_workers"
N_FEMALE_WORKERS = "findings/n_female_workers"
N_WORKERS_INFORMED = "findings/n_workers_informed"
VIOLATION = "findings/violation"
VIOLATION_TYPES = "findings/violation_types"
ACTION = "findings/action"
FINE_VND = "findings/fine_vnd"
# Actions that are sanctions: with `violation` = no only a reminder or nothing fits.
SANCTIONS = ("canh_cao", "phat_tien", "dinh_chi", "chuyen_cong_an")

# pcmd_case (DESIGN §6b): a denunciation, crime report or complaint; registers an entity.
RECEIVED_DATE = "received_date"
CASE_KIND = "kind"
CASE_KINDS = ("to_giac", "tin_bao", "khieu_nai", "kien_nghi")
CASE_SOURCE = "source"
CASE_SUBJECT = "subject"
CASE_ESTABLISHMENT = ESTABLISHMENT_ID  # relevant if subject = co_so_kd
CASE_SUMMARY = "summary"
ASSIGNED_TO = "assigned_to"
# The entity list the cases form and the phones' `cases.csv`, and its properties in order.
CASES_LIST = "cases"
CASE_PROPERTIES = ("received_date", "commune", "kind", "deadline", "status", "handled_date")
STATUS_RECEIVED = "tiep_nhan"
ENTITY = "meta/entity"  # the <entity> element of a registration or an update

# pcmd_case_update: a step in handling a case.
CASE_REF = "case"  # the case's entity id (its registration's instance uuid, bare)
STEP = "step"
STEPS = ("xac_minh", "phan_loai", "gia_han", "xu_ly_xong", "chuyen")
STEP_EXTEND = "gia_han"
HANDLED_STEPS = ("xu_ly_xong", "chuyen")  # the first of these sets handled_date
STEP_DATE = "step_date"
OUTCOME = "outcome"
OUTCOMES = ("xu_phat_hanh_chinh", "khoi_to", "khong_vi_pham", "chuyen_co_quan_khac")
STEP_FINE_VND = "fine_vnd"  # relevant if outcome = xu_phat_hanh_chinh

# pcmd_monthly: one report per commune and month.
MONTH = "month"
NOTHING_TO_REPORT = "nothing_to_report"
CASES_DETECTED = "crime/n_cases_detected"
CASES_PROSECUTED = "crime/n_cases_prosecuted"
DEFENDANTS = "crime/n_defendants"
ADMIN_VIOLATIONS = "admin/n_violations"
PERSONS_FINED = "admin/n_persons_fined"
MONTHLY_COUNTS = (CASES_DETECTED, CASES_PROSECUTED, DEFENDANTS, ADMIN_VIOLATIONS, PERSONS_FINED)

# pcmd_support: the four UIC answers never reach storage; ingest replaces them by UIC_KEY.
SERVICE_DATE = "service_date"
UIC_GROUP = "uic"
UIC_MOTHER = "uic/mother_initial"
UIC_FATHER = "uic/father_initial"
UIC_BIRTH_YEAR = "uic/birth_year"
UIC_SEX = "uic/sex"
UIC_ANSWERS = (UIC_MOTHER, UIC_FATHER, UIC_BIRTH_YEAR, UIC_SEX)
UIC_SEXES = ("nu", "nam", "khac")
UIC_KEY = "uic/key"  # lower-case hex HMAC-SHA256 of the normalised code
IN_NEED = "in_need_eligible"
SERVICES = "services"
PROVIDER = "provider"

# pcmd_plan: a commune's annual plan.
PLAN_YEAR = "year"
PLAN_ISSUED = "plan_issued"
PLAN_NUMBER = "plan_number"
PLAN_DATE = "plan_date"
INTEGRATED_WITH = "integrated_with"
NOT_INTEGRATED = "khong"

ESTABLISHMENT_TYPES = (
    "karaoke",
    "massage_xong_hoi",
    "khach_san_nha_nghi",
    "quan_bar_vu_truong",
    "cafe_giai_khat",
    "cat_toc_goi_dau",
    "khac",
)

# Whole-number counts that must be ≥ 0, by form (DESIGN §6 "integer ≥ 0").
COUNTS: dict[str, tuple[str, ...]] = {
    OUTREACH: (*REACH, REACH_FEMALE, MEDIA_ITEMS, MATERIALS),
    TRAINING: (*PARTICIPANTS, NEW_PROVINCE_STAFF, NEW_COMMUNE_STAFF, PARTICIPANTS_FEMALE),
    INSPECTION: (N_WORKERS, N_FEMALE_WORKERS, N_WORKERS_INFORMED),
    MONTHLY: MONTHLY_COUNTS,
}

# Part ≤ whole: (part, the fields whose sum is the whole).
PARTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    OUTREACH: ((REACH_FEMALE, REACH),),
    TRAINING: (
        (PARTICIPANTS_FEMALE, PARTICIPANTS),
        (NEW_PROVINCE_STAFF, ("participants/n_province_staff",)),
        (NEW_COMMUNE_STAFF, ("participants/n_commune_staff",)),
    ),
    INSPECTION: ((N_FEMALE_WORKERS, (N_WORKERS,)), (N_WORKERS_INFORMED, (N_WORKERS,))),
    MONTHLY: ((CASES_PROSECUTED, (CASES_DETECTED,)),),
}

# The size of one record that the outlier rule compares with the commune's history.
SIZE: dict[str, tuple[str, ...]] = {
    OUTREACH: REACH,
    TRAINING: PARTICIPANTS,
    INSPECTION: (N_WORKERS,),
}

# Where an issue about that size points: the form's own total, or the count itself.
SIZE_FIELD = {OUTREACH: "reach/n_total", TRAINING: "participants/n_total", INSPECTION: N_WORKERS}

Data = Mapping[str, Any]


def chosen(data: Data, path: str) -> list[str]:
    """The choice(s) of a select as a list: select_multiple is stored as a list, select_one as
    its text."""
    value = data.get(path)
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value:
        return value.split()
    return []


def is_chosen(data: Data, path: str, *names: str) -> bool:
    return any(name in chosen(data, path) for name in names)


@dataclass(frozen=True)
class Required:
    """A field the form requires. `when` is its `relevant` (None = always asked); `feeds` says
    whether a record without it cannot be placed or counted (an error) or only is incomplete."""

    path: str
    feeds: bool
    when: Callable[[Data], bool] | None = None


def _media(data: Data) -> bool:
    return is_chosen(data, CHANNEL, *MEDIA_CHANNELS)


def _known(data: Data) -> bool:
    return is_chosen(data, KNOWN, "yes")


def _unknown(data: Data) -> bool:
    return is_chosen(data, KNOWN, "no")


def _violation(data: Data) -> bool:
    return is_chosen(data, VIOLATION, "yes")


def _fined(data: Data) -> bool:
    return is_chosen(data, ACTION, "phat_tien")


def _at_establishment(data: Data) -> bool:
    return is_chosen(data, CASE_SUBJECT, "co_so_kd")


def _done(data: Data) -> bool:
    return is_chosen(data, STEP, "xu_ly_xong")


def _fined_step(data: Data) -> bool:
    return is_chosen(data, OUTCOME, "xu_phat_hanh_chinh")


def _something_to_report(data: Data) -> bool:
    return is_chosen(data, NOTHING_TO_REPORT, "no")


def _issued(data: Data) -> bool:
    return is_chosen(data, PLAN_ISSUED, "yes")


_WHERE = (Required(PROVINCE, True), Required(COMMUNE, True), Required(REPORTER_ORG, False))

REQUIRED: dict[str, tuple[Required, ...]] = {
    OUTREACH: (
        *_WHERE,
        Required(DATE_FIELD[OUTREACH], True),
        Required(CHANNEL, True),  # TT2 counts media channels
        Required("setting", False),
        Required("topics", False),
        Required("integrated", False),
        *(Required(p, True) for p in REACH),
        Required(REACH_FEMALE, False),
        Required(MEDIA_ITEMS, False, _media),
        Required(MATERIALS, False),
    ),
    TRAINING: (
        *_WHERE,
        Required(DATE_FIELD[TRAINING], True),
        Required(DAYS, False),
        Required(ORGANIZER_LEVEL, False),
        Required("topics", False),
        *(Required(p, True) for p in PARTICIPANTS),
        Required(NEW_PROVINCE_STAFF, True),
        Required(NEW_COMMUNE_STAFF, True),
        Required(PARTICIPANTS_FEMALE, False),
    ),
    INSPECTION: (
        *_WHERE,
        Required(DATE_FIELD[INSPECTION], True),
        Required("team", False),
        Required(KNOWN, True),  # KT1 counts known register ids
        Required(ESTABLISHMENT_ID, True, _known),
        Required(ESTABLISHMENT_NAME, False, _unknown),
        Required(ESTABLISHMENT_ADDRESS, False, _unknown),
        Required(ESTABLISHMENT_TYPE, False),
        Required(N_WORKERS, True),
        Required(N_FEMALE_WORKERS, False),
        Required("findings/license_valid", False),
        Required(VIOLATION, True),  # KT2
        Required(VIOLATION_TYPES, False, _violation),
        Required(ACTION, True),
        Required(FINE_VND, True, _fined),  # HD5
        Required(N_WORKERS_INFORMED, True),  # TT3A
        Required("findings/commitment_signed", False),
    ),
    CASE: (
        *_WHERE,
        Required(RECEIVED_DATE, True),
        Required(CASE_KIND, True),
        Required(CASE_SOURCE, False),
        Required(CASE_SUBJECT, False),
        Required(CASE_ESTABLISHMENT, False, _at_establishment),
        Required(CASE_SUMMARY, False),
        Required(ASSIGNED_TO, False),
    ),
    CASE_UPDATE: (
        *_WHERE,
        Required(CASE_REF, True),
        Required(STEP, True),
        Required(STEP_DATE, True),
        Required(OUTCOME, False, _done),
        Required(STEP_FINE_VND, False, _fined_step),
    ),
    MONTHLY: (
        *_WHERE,
        Required(MONTH, True),
        Required(NOTHING_TO_REPORT, True),
        *(Required(p, True, _something_to_report) for p in MONTHLY_COUNTS),
    ),
    SUPPORT: (
        *_WHERE,
        Required(SERVICE_DATE, True),
        Required(UIC_KEY, True),  # the answers themselves are never stored
        Required(IN_NEED, True),
        Required(SERVICES, False),
        Required(PROVIDER, False),
    ),
    PLAN: (
        *_WHERE,
        Required(PLAN_YEAR, True),
        Required(PLAN_ISSUED, True),
        Required(PLAN_NUMBER, False, _issued),
        Required(PLAN_DATE, False, _issued),
        Required(INTEGRATED_WITH, True, _issued),
    ),
}
