"""The three field forms' contract (DESIGN §6) as data: paths, counts, choices, required fields.

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
FORMS = (OUTREACH, TRAINING, INSPECTION)

PROVINCE = "where/province"
COMMUNE = "where/commune"
REPORTER_ORG = "reporter_org"
LOCATION = "location"
DEVICE_ID = "deviceid"

# The field whose date places a record in a period (DESIGN §5).
DATE_FIELD = {OUTREACH: "activity_date", TRAINING: "start_date", INSPECTION: "inspection_date"}

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
}
