"""Validation rules: a catalogue of codes, each a severity, a message and one small function.

A rule is a pure function of a submission's typed data (SubmissionVersion.data) and a
`RuleContext` holding the lookups it needs (the form's binds, org units, the register, the
commune's history …); it yields `Finding`s, which the catalogue renders into `Issue`s with a
message in Vietnamese and English. validate.py does the queries and stores the issues.

Messages follow one grammar (pyxform's): where (`[field path]`), what is wrong and the rule,
then how to fix it (`Cách sửa` / `Fix`).

Severities — the decision
-------------------------
An `error` takes the record out of every indicator until someone fixes it (an edit from ODK
Collect, Kobo or Central) or a reviewer overrides the issue; a `warning` is shown to reviewers
and the record still counts. Province staff report these numbers upward, so both mistakes cost:
counting a wrong record inflates a figure, and dropping a right one deflates it, silently. So:

* **error** only when the record is *surely* wrong in something the indicators read, or cannot be
  placed: a required answer that an indicator or the placement needs is missing (REQ_001); a
  number or date that is not one (TYPE_001) or a choice the form does not have (TYPE_002); a
  negative count (RANGE_001); a fine of 0 with "fine" as the action (RANGE_003); an activity date
  in the future or before the programme (DATE_001, DATE_002); a part larger than its whole
  (PART_001); a commune that is unknown, outside the chosen province, or closed before the
  activity (GEO_001–GEO_003); a register id that does not exist (EST_001). None of these can be
  right as entered; the form's own constraints forbid them, so they reach us only when data comes
  around them (web edits, pulls, older form versions).
* **warning** for everything that is *implausible but possible*, or wrong only in fields no
  indicator reads: a missing answer nothing is computed from (REQ_002); a training outside
  0.5–30 days (long courses exist); fines that look mistyped (FINE_001, FINE_002); a district
  organiser after districts were abolished (DATE_003); a commune not yet created on the date
  (GEO_004: reporting a past activity under today's commune is how a backfill is done); a
  location far from the commune or malformed (GEO_005, GEO_006); a closed or other-commune
  register entry (EST_002, EST_003); a likely duplicate (DUP_001: two teams may really hold the
  same-sized session the same day); an outlier against the commune's history (OUT_001); a media
  activity with no media items (MEDIA_001); a sanction with no violation (CONS_001).

A reviewer who checks a record and finds it right overrides the issue (validate.override_issue);
an overridden issue stays overridden as long as the same rule fires on the same field of the same
version.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import statistics
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, Literal

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, chosen, is_chosen

Severity = Literal["error", "warning"]

EARLIEST_DATE = dt.date(2021, 1, 1)  # Programme 1629 starts in 2021
DISTRICTS_ABOLISHED = dt.date(2025, 7, 1)
DAYS_MIN, DAYS_MAX = 0.5, 30.0
# Fines are whole đồng; the smallest fine in the social-evils decree is hundreds of thousands, so
# 0 < fine < 50,000 is a fine typed in thousands or millions ("15" for 15 million).
FINE_TOO_SMALL = 50_000
# The social-evils maximum is 75 million đồng for a person, 150 million for an organisation;
# above 200 million an inspection's fine most likely has an extra zero.
FINE_TOO_LARGE = 200_000_000
MAX_DISTANCE_KM = 30.0
# Outliers (OUT_001): Iglewicz and Hoaglin's modified z-score, 0.6745·(x − median)/MAD, over the
# commune's earlier counted records of the same form. A value is flagged when z > 3.5, it is at
# least twice the median ("≫"), and at least 10 above it (so 2 → 11 workers is not news), given
# at least 10 earlier records. The history is the last OUTLIER_WINDOW of them: enough for a
# stable median and MAD, recent enough to follow a commune whose activities grow over the years.
OUTLIER_Z = 3.5
OUTLIER_MIN_HISTORY = 10
OUTLIER_WINDOW = 30
OUTLIER_MIN_RATIO = 2.0
OUTLIER_MIN_EXCESS = 10.0
EARTH_RADIUS_KM = 6371.0088


# --- context -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgEra:
    """One era of an org unit code (org_units row): valid_from inclusive, valid_to exclusive."""

    code: str
    level: str
    parent: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    latitude: float | None = None
    longitude: float | None = None

    def in_force_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


@dataclass(frozen=True)
class RegisterEntry:
    status: str  # active | closed
    commune: str


@dataclass(frozen=True)
class Lookups:
    """Reference lookups loaded once per validation run and shared by every record."""

    org_units: Mapping[str, Sequence[OrgEra]]  # code → its eras
    establishments: Mapping[str, RegisterEntry]
    # The earliest day the commune list speaks for: before it, "did not exist yet" is unknowable.
    coverage_start: dt.date | None = None

    @classmethod
    def build(cls, eras: Iterable[OrgEra], establishments: Mapping[str, RegisterEntry]) -> Lookups:
        by_code: dict[str, list[OrgEra]] = {}
        for era in eras:
            by_code.setdefault(era.code, []).append(era)
        starts = [e.valid_from for es in by_code.values() for e in es if e.level == "commune"]
        return cls(by_code, establishments, min(starts) if starts else None)


@dataclass(frozen=True)
class RuleContext:
    """What the rules know besides the data of one submission."""

    form_id: str
    lookups: Lookups
    # The latest possible activity date: today, or the day the version arrived if earlier.
    today: dt.date
    # The form version's binds: path → {"type", "control", "choices", …} (FormVersion.fields).
    fields: Mapping[str, Mapping[str, Any]] = _field(default_factory=dict)
    # Sizes (contract.SIZE) of the commune's earlier counted records of the same form, oldest first.
    history: Sequence[float] = ()
    # instanceID of an earlier submission of the same activity from another device, if any.
    duplicate_of: str | None = None


# --- findings and the catalogue ----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A rule firing on one field (or on the record, field None), with its message's values."""

    field: str | None
    params: Mapping[str, object] = _field(default_factory=dict)


@dataclass(frozen=True)
class Issue:
    rule: str
    severity: Severity
    field_path: str | None
    message_vi: str
    message_en: str

    @property
    def text(self) -> str:
        """Vietnamese first, English in parentheses: how pcmd shows a message on one line."""
        return f"{self.message_vi} ({self.message_en})"


Check = Callable[[Data, RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title_vi: str
    title_en: str
    message_vi: str  # str.format templates; {field} is the field path
    message_en: str
    check: Check
    # Needs other records (history, duplicates): run after every record's own rules.
    cross: bool = False

    def render(self, finding: Finding) -> Issue:
        values = {"field": finding.field or "", **finding.params}
        return Issue(
            self.code,
            self.severity,
            finding.field,
            _format(self.message_vi, values),
            _format(self.message_en, values),
        )


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"  # a template naming a value the rule did not give must not crash a run


def _format(template: str, values: Mapping[str, object]) -> str:
    return string.Formatter().vformat(template, (), _Lenient(values))


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    severity: Severity,
    title: tuple[str, str],
    message: tuple[str, str],
    *,
    cross: bool = False,
) -> Callable[[Check], Check]:
    """Register a rule function in the catalogue under `code`."""

    def register(check: Check) -> Check:
        if code in RULES:
            raise RuntimeError(f"rule {code} registered twice")
        RULES[code] = Rule(code, severity, title[0], title[1], message[0], message[1], check, cross)
        return check

    return register


def check_record(data: Data, ctx: RuleContext, *, cross: bool | None = None) -> list[Issue]:
    """The issues of one submission: every rule, or only the cross-record (True) or the
    record-only (False) ones. One issue per (rule, field) at most."""
    issues: dict[tuple[str, str | None], Issue] = {}
    for item in RULES.values() if cross is None else _by_kind(cross):
        for finding in item.check(data, ctx):
            issues.setdefault((item.code, finding.field), item.render(finding))
    return list(issues.values())


@functools.cache
def _by_kind(cross: bool) -> tuple[Rule, ...]:
    return tuple(r for r in RULES.values() if r.cross == cross)


def rule_rows() -> list[dict[str, str]]:
    """The catalogue as plain rows, in code order of registration (`pcmd rules`, the web UI)."""
    return [
        {
            "code": r.code,
            "severity": r.severity,
            "title_vi": r.title_vi,
            "title_en": r.title_en,
            "message_vi": r.message_vi,
            "message_en": r.message_en,
        }
        for r in RULES.values()
    ]


# --- helpers -----------------------------------------------------------------------------------


def _count(value: object) -> int | None:
    """An integer answer (bool is not one, though Python says so)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def _date(value: object) -> dt.date | None:
    return _iso_date(value) if isinstance(value, str) else None


@functools.lru_cache(maxsize=8192)
def _iso_date(text: str) -> dt.date | None:
    # Cached: a run reads the same few thousand dates for 100,000 records, several times each.
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def activity_date(form_id: str, data: Data) -> dt.date | None:
    name = c.DATE_FIELD.get(form_id)
    return _date(data.get(name)) if name else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _era(eras: Sequence[OrgEra], day: dt.date | None) -> OrgEra | None:
    """The era in force on `day`, else the one in force now, else the latest."""
    if day is not None:
        for era in eras:
            if era.in_force_on(day):
                return era
    current = [e for e in eras if e.valid_to is None]
    if current:
        return current[0]
    return max(eras, key=lambda e: e.valid_from) if eras else None


def _commune(data: Data, ctx: RuleContext) -> tuple[str | None, Sequence[OrgEra]]:
    code = _text(data.get(c.COMMUNE))
    return code, ctx.lookups.org_units.get(code, ()) if code else ()


def size_of(form_id: str, data: Data) -> float | None:
    """The size OUT_001 compares: people reached, participants, workers present."""
    paths = c.SIZE.get(form_id)
    if not paths:
        return None
    values = [_count(data.get(p)) for p in paths]
    if any(v is None or v < 0 for v in values):
        return None
    return float(sum(v for v in values if v is not None))


def duplicate_key(form_id: str, data: Data) -> tuple[object, ...] | None:
    """What makes two records the same activity (DUP_001): form, commune, date and every count;
    for an inspection also the establishment (two visits with the same head counts are common)."""
    commune, day = _text(data.get(c.COMMUNE)), activity_date(form_id, data)
    if commune is None or day is None or form_id not in c.COUNTS:
        return None
    counts = tuple(data.get(p) for p in c.COUNTS[form_id])
    extra: tuple[object, ...] = ()
    if form_id == c.INSPECTION:
        extra = (data.get(c.ESTABLISHMENT_ID), data.get(c.ESTABLISHMENT_NAME))
    elif form_id == c.TRAINING:
        extra = (data.get(c.DAYS),)
    return (form_id, commune, day, *counts, *extra)


def modified_z(value: float, history: Sequence[float]) -> float:
    """0.6745·(x − median)/MAD; with MAD 0, the mean absolute deviation scaled to match (IBM's
    fallback); infinite when the history has no spread at all and x differs from it."""
    median = statistics.median(history)
    mad = statistics.median(abs(h - median) for h in history)
    if mad > 0:
        return 0.6745 * (value - median) / mad
    mean_ad = statistics.fmean(abs(h - median) for h in history)
    if mean_ad > 0:
        return (value - median) / (1.253314 * mean_ad)
    return 0.0 if value == median else math.copysign(math.inf, value - median)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _expected_kind(path: str, ctx: RuleContext) -> str | None:
    """int, decimal or date for a typed field: the form version's bind, else the contract."""
    bind = ctx.fields.get(path)
    if bind is not None:
        kind = bind.get("type")
        # Questions only: metadata (today, start) is written by the phone, not by a person.
        if bind.get("control") is None or kind not in ("int", "decimal", "date"):
            return None
        return str(kind)
    if path in c.COUNTS.get(ctx.form_id, ()):
        return "int"
    if path == c.DATE_FIELD.get(ctx.form_id):
        return "date"
    if ctx.form_id == c.TRAINING and path == c.DAYS:
        return "decimal"
    return None


KIND_VI = {"int": "số nguyên", "decimal": "số", "date": "ngày (YYYY-MM-DD)"}
KIND_EN = {"int": "a whole number", "decimal": "a number", "date": "a date (YYYY-MM-DD)"}

EDIT_VI = "sửa phiếu trong ODK Collect (hoặc trên KoboToolbox/ODK Central) rồi gửi lại"
EDIT_EN = "edit the submission in ODK Collect (or on KoboToolbox/ODK Central) and send it again"
CHECK_VI = "kiểm tra với người nhập phiếu; nếu đúng, người duyệt chấp nhận cảnh báo này"
CHECK_EN = "check with whoever filled it in; if it is right, a reviewer accepts this warning"


# --- required answers, types, ranges -----------------------------------------------------------


def _missing(data: Data, ctx: RuleContext, feeds: bool) -> Iterator[Finding]:
    for req in c.REQUIRED.get(ctx.form_id, ()):
        if req.feeds != feeds or (req.when is not None and not req.when(data)):
            continue
        if data.get(req.path) in (None, "", []):
            yield Finding(req.path)


@rule(
    "REQ_001",
    "error",
    (
        "Thiếu câu trả lời bắt buộc dùng để tính chỉ tiêu",
        "Required answer missing (used by indicators)",
    ),
    (
        "[{field}] Thiếu câu trả lời bắt buộc mà chỉ tiêu hoặc việc xác định địa bàn, kỳ báo cáo "
        "cần; phiếu chưa được tính cho đến khi bổ sung. Cách sửa: " + EDIT_VI + ".",
        "[{field}] A required answer that the indicators or the record's place and period need "
        "is missing; the record is not counted until it is given. Fix: " + EDIT_EN + ".",
    ),
)
def required_for_indicators(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    yield from _missing(data, ctx, feeds=True)


@rule(
    "REQ_002",
    "warning",
    ("Thiếu câu trả lời bắt buộc", "Required answer missing"),
    (
        "[{field}] Thiếu câu trả lời bắt buộc (không dùng để tính chỉ tiêu, phiếu vẫn được tính). "
        "Cách sửa: " + EDIT_VI + ".",
        "[{field}] A required answer is missing (no indicator uses it; the record still counts). "
        "Fix: " + EDIT_EN + ".",
    ),
)
def required_other(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    yield from _missing(data, ctx, feeds=False)


@rule(
    "TYPE_001",
    "error",
    ("Giá trị sai kiểu", "Value of the wrong type"),
    (
        "[{field}] Giá trị {value!r} không phải {kind_vi}. Cách sửa: " + EDIT_VI + ".",
        "[{field}] The value {value!r} is not {kind_en}. Fix: " + EDIT_EN + ".",
    ),
)
def wrong_type(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path, value in data.items():
        # type_value keeps an answer that did not parse as its text; a date is stored as ISO
        # text once it parsed.
        if not isinstance(value, str):
            continue
        kind = _expected_kind(path, ctx)
        if kind is not None and (kind != "date" or _date(value) is None):
            yield Finding(
                path, {"value": value, "kind_vi": KIND_VI[kind], "kind_en": KIND_EN[kind]}
            )


@rule(
    "TYPE_002",
    "error",
    ("Lựa chọn không có trong biểu mẫu", "Choice not in the form"),
    (
        "[{field}] Lựa chọn {value!r} không có trong danh sách của biểu mẫu ({choices}). "
        "Cách sửa: " + EDIT_VI + " và chọn một mục trong danh sách.",
        "[{field}] The choice {value!r} is not in the form's list ({choices}). Fix: "
        + EDIT_EN
        + " with one of the listed choices.",
    ),
)
def unknown_choice(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path, bind in ctx.fields.items():
        names = bind.get("choices")
        if not names or bind.get("control") not in ("select1", "select"):
            continue
        bad = [v for v in chosen(data, path) if v not in names]
        if bad:
            yield Finding(path, {"value": " ".join(bad), "choices": ", ".join(names)})


@rule(
    "RANGE_001",
    "error",
    ("Số lượng âm", "Negative count"),
    (
        "[{field}] Số lượng {value} là số âm. Cách sửa: " + EDIT_VI + ", ghi 0 nếu không có.",
        "[{field}] The count {value} is negative. Fix: " + EDIT_EN + "; enter 0 if none.",
    ),
)
def negative_count(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for path in c.COUNTS.get(ctx.form_id, ()):
        value = _number(data.get(path))
        if value is not None and value < 0:
            yield Finding(path, {"value": data.get(path)})


@rule(
    "RANGE_002",
    "warning",
    ("Số ngày tập huấn ngoài 0,5–30", "Training days outside 0.5–30"),
    (
        "[{field}] Lớp tập huấn {value} ngày, ngoài khoảng 0,5–30 ngày của biểu mẫu. Cách sửa: "
        "nếu nhập nhầm, " + EDIT_VI + "; nếu đúng, người duyệt chấp nhận cảnh báo này.",
        "[{field}] A training of {value} days is outside the form's 0.5–30 days. Fix: if "
        "mistyped, " + EDIT_EN + "; if right, a reviewer accepts this warning.",
    ),
)
def days_out_of_range(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _number(data.get(c.DAYS)) if ctx.form_id == c.TRAINING else None
    if value is not None and not DAYS_MIN <= value <= DAYS_MAX:
        yield Finding(c.DAYS, {"value": data.get(c.DAYS)})


def _fine(data: Data, ctx: RuleContext) -> float | None:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.ACTION, "phat_tien"):
        return None
    return _number(data.get(c.FINE_VND))


@rule(
    "RANGE_003",
    "error",
    ("Phạt tiền nhưng số tiền không lớn hơn 0", "Fine chosen but amount not above 0"),
    (
        "[{field}] Hình thức xử lý là phạt tiền nhưng số tiền là {value} đồng. Cách sửa: "
        + EDIT_VI
        + " và ghi đủ số tiền theo quyết định xử phạt, hoặc chọn đúng hình thức xử lý.",
        "[{field}] The action is a fine but the amount is {value} đồng. Fix: "
        + EDIT_EN
        + " with the full amount of the penalty decision, or choose the action actually taken.",
    ),
)
def fine_not_positive(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and value <= 0:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})


@rule(
    "FINE_001",
    "warning",
    ("Số tiền phạt quá nhỏ, có thể ghi tắt", "Fine too small, likely abbreviated"),
    (
        "[{field}] Số tiền phạt {value} đồng quá nhỏ; có lẽ đã ghi theo nghìn hoặc triệu đồng. "
        "Cách sửa: ghi đủ số đồng (15 triệu đồng ghi 15000000): " + EDIT_VI + ".",
        "[{field}] A fine of {value} đồng is too small; it was probably typed in thousands or "
        "millions. Fix: enter the full amount in đồng (15 million is 15000000): " + EDIT_EN + ".",
    ),
)
def fine_too_small(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and 0 < value < FINE_TOO_SMALL:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})


@rule(
    "FINE_002",
    "warning",
    ("Số tiền phạt rất lớn", "Fine unusually large"),
    (
        "[{field}] Số tiền phạt {value} đồng lớn hơn nhiều so với mức phạt thường gặp; có thể thừa "
        "chữ số 0. Cách sửa: " + CHECK_VI + ".",
        "[{field}] A fine of {value} đồng is far above usual fines; a zero may be extra. Fix: "
        + CHECK_EN
        + ".",
    ),
)
def fine_too_large(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = _fine(data, ctx)
    if value is not None and value > FINE_TOO_LARGE:
        yield Finding(c.FINE_VND, {"value": data.get(c.FINE_VND)})


# --- dates -------------------------------------------------------------------------------------


@rule(
    "DATE_001",
    "error",
    ("Ngày hoạt động trong tương lai", "Activity date in the future"),
    (
        "[{field}] Ngày {value} sau ngày phiếu được gửi hoặc sau hôm nay ({limit}). Cách sửa: "
        + EDIT_VI
        + " với ngày diễn ra hoạt động.",
        "[{field}] The date {value} is after the day the form was sent or after today "
        "({limit}). Fix: " + EDIT_EN + " with the day the activity took place.",
    ),
)
def date_in_future(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if day is not None and day > ctx.today:
        yield Finding(c.DATE_FIELD[ctx.form_id], {"value": day.isoformat(), "limit": ctx.today})


@rule(
    "DATE_002",
    "error",
    ("Ngày hoạt động trước năm 2021", "Activity date before 2021"),
    (
        "[{field}] Ngày {value} trước ngày 01/01/2021, khi Chương trình bắt đầu. Cách sửa: "
        + EDIT_VI
        + " với ngày diễn ra hoạt động (kiểm tra năm).",
        "[{field}] The date {value} is before 1 January 2021, when the programme began. Fix: "
        + EDIT_EN
        + " with the day the activity took place (check the year).",
    ),
)
def date_before_programme(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if day is not None and day < EARLIEST_DATE:
        yield Finding(c.DATE_FIELD[ctx.form_id], {"value": day.isoformat()})


@rule(
    "DATE_003",
    "warning",
    ("Cấp huyện sau khi bỏ cấp huyện", "District level after districts were abolished"),
    (
        "[{field}] Lớp tập huấn ngày {value} ghi cấp huyện, nhưng từ 01/07/2025 không còn cấp "
        "huyện. Cách sửa: " + EDIT_VI + ", chọn cấp tỉnh hoặc cấp xã.",
        "[{field}] A training on {value} is recorded as district level, but districts no longer "
        "exist from 1 July 2025. Fix: " + EDIT_EN + " choosing province or commune level.",
    ),
)
def district_after_reform(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    day = activity_date(ctx.form_id, data)
    if (
        ctx.form_id == c.TRAINING
        and day is not None
        and day >= DISTRICTS_ABOLISHED
        and is_chosen(data, c.ORGANIZER_LEVEL, "huyen")
    ):
        yield Finding(c.ORGANIZER_LEVEL, {"value": day.isoformat()})


# --- parts and wholes --------------------------------------------------------------------------


@rule(
    "PART_001",
    "error",
    ("Số bộ phận lớn hơn tổng", "Part larger than its whole"),
    (
        "[{field}] {field} = {value} lớn hơn {whole} = {total}. Cách sửa: " + EDIT_VI + " và "
        'kiểm tra lại các số; số "trong đó" không được lớn hơn tổng.',
        "[{field}] {field} = {value} is larger than {whole} = {total}. Fix: " + EDIT_EN + " "
        'after checking the numbers; an "of whom" count cannot exceed its total.',
    ),
)
def part_larger_than_whole(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    for part, wholes in c.PARTS.get(ctx.form_id, ()):
        value = _count(data.get(part))
        totals = [_count(data.get(w)) for w in wholes]
        if value is None or any(t is None for t in totals):
            continue  # a missing or mistyped count is REQ_001's or TYPE_001's to report
        total = sum(t for t in totals if t is not None)
        if value > total:
            whole = wholes[0] if len(wholes) == 1 else " + ".join(w.split("/")[-1] for w in wholes)
            yield Finding(part, {"value": value, "whole": whole, "total": total})


# --- place -------------------------------------------------------------------------------------


@rule(
    "GEO_001",
    "error",
    ("Mã xã không có trong danh mục", "Unknown commune code"),
    (
        "[{field}] Mã xã {value} không có trong danh mục đơn vị hành chính. Cách sửa: tải lại "
        "biểu mẫu trống trên ODK Collect (danh sách xã mới), rồi " + EDIT_VI + ".",
        "[{field}] The commune code {value} is not in the org-unit list. Fix: download the "
        "blank form again in ODK Collect (the current commune list), then " + EDIT_EN + ".",
    ),
)
def commune_unknown(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    code, eras = _commune(data, ctx)
    if code is not None and not any(e.level == "commune" for e in eras):
        yield Finding(c.COMMUNE, {"value": code})


@rule(
    "GEO_002",
    "error",
    ("Xã không thuộc tỉnh đã chọn", "Commune not in the chosen province"),
    (
        "[{field}] Xã {value} thuộc tỉnh {parent}, không thuộc tỉnh {province} đã chọn. Cách "
        "sửa: " + EDIT_VI + ", chọn đúng tỉnh rồi đúng xã.",
        "[{field}] Commune {value} belongs to province {parent}, not to the chosen province "
        "{province}. Fix: " + EDIT_EN + " choosing the right province, then the commune.",
    ),
)
def commune_outside_province(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    code, eras = _commune(data, ctx)
    province = _text(data.get(c.PROVINCE))
    era = _era([e for e in eras if e.level == "commune"], activity_date(ctx.form_id, data))
    if code and province and era is not None and era.parent != province:
        yield Finding(c.COMMUNE, {"value": code, "parent": era.parent, "province": province})


def _not_in_force(data: Data, ctx: RuleContext) -> tuple[str, dt.date, list[OrgEra]] | None:
    """(code, date, eras) when the commune exists but no era of it covers the activity date."""
    code, eras = _commune(data, ctx)
    communes = [e for e in eras if e.level == "commune"]
    day = activity_date(ctx.form_id, data)
    if code is None or day is None or not communes or any(e.in_force_on(day) for e in communes):
        return None
    return code, day, communes


@rule(
    "GEO_003",
    "error",
    ("Xã đã giải thể trước ngày hoạt động", "Commune closed before the activity"),
    (
        "[{field}] Xã {value} không còn từ ngày {closed}, trước ngày hoạt động {day}. Cách sửa: "
        "tải lại biểu mẫu trống, rồi " + EDIT_VI + " với xã, phường, đặc khu hiện nay.",
        "[{field}] Commune {value} ceased to exist on {closed}, before the activity on {day}. "
        "Fix: download the blank form again, then " + EDIT_EN + " with today's commune.",
    ),
)
def commune_closed(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _not_in_force(data, ctx)
    if found is None:
        return
    code, day, eras = found
    ended = [e.valid_to for e in eras if e.valid_to is not None and e.valid_to <= day]
    if ended:
        yield Finding(c.COMMUNE, {"value": code, "closed": max(ended), "day": day})


@rule(
    "GEO_004",
    "warning",
    ("Xã chưa thành lập vào ngày hoạt động", "Commune not yet created on the activity date"),
    (
        "[{field}] Xã {value} được thành lập từ ngày {since}, sau ngày hoạt động {day}. Cách "
        "sửa: nếu danh mục có đơn vị cũ cho ngày đó, " + EDIT_VI + " với đơn vị cũ; nếu hoạt "
        "động được ghi cho xã hiện nay là đúng, người duyệt chấp nhận cảnh báo này.",
        "[{field}] Commune {value} exists from {since}, after the activity on {day}. Fix: if "
        "the list holds the unit of that time, " + EDIT_EN + " with it; if recording it under "
        "today's commune is intended, a reviewer accepts this warning.",
    ),
)
def commune_not_yet_created(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _not_in_force(data, ctx)
    start = ctx.lookups.coverage_start
    if found is None or start is None:
        return
    code, day, eras = found
    # Before the list's first day it says nothing about which communes existed.
    if day >= start and all(e.valid_from > day for e in eras):
        since = min(e.valid_from for e in eras)
        yield Finding(c.COMMUNE, {"value": code, "since": since, "day": day})


def _point(value: object) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) < 2:
        return None
    lat, lon = _number(value[0]), _number(value[1])
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:  # what a phone reports when it had no fix
        return None
    return lat, lon


@rule(
    "GEO_005",
    "warning",
    ("Vị trí xa xã", "Location far from the commune"),
    (
        "[{field}] Vị trí ghi nhận cách trung tâm xã {commune} khoảng {km} km (quá {limit} km). "
        "Cách sửa: kiểm tra xã đã chọn; nếu vị trí được lấy ở nơi khác, người duyệt chấp nhận "
        "cảnh báo này.",
        "[{field}] The location is about {km} km from the centre of commune {commune} (more "
        "than {limit} km). Fix: check the commune chosen; if the location was taken elsewhere, "
        "a reviewer accepts this warning.",
    ),
)
def location_far(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    point = _point(data.get(c.LOCATION))
    code, eras = _commune(data, ctx)
    era = _era([e for e in eras if e.level == "commune"], activity_date(ctx.form_id, data))
    if point is None or era is None or era.latitude is None or era.longitude is None:
        return
    km = haversine_km(point[0], point[1], era.latitude, era.longitude)
    if km > MAX_DISTANCE_KM:
        yield Finding(
            c.LOCATION, {"km": round(km), "commune": code, "limit": round(MAX_DISTANCE_KM)}
        )


@rule(
    "GEO_006",
    "warning",
    ("Vị trí không hợp lệ", "Invalid location"),
    (
        "[{field}] Vị trí {value!r} không phải toạ độ hợp lệ (hoặc là 0 0 khi máy chưa bắt được "
        "GPS). Cách sửa: lấy lại vị trí khi " + EDIT_VI + ", hoặc xoá vị trí.",
        "[{field}] The location {value!r} is not a valid coordinate (or is 0 0, taken before the "
        "phone had a GPS fix). Fix: record it again as you " + EDIT_EN + ", or clear it.",
    ),
)
def location_invalid(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = data.get(c.LOCATION)
    if value not in (None, "", []) and _point(value) is None:
        yield Finding(c.LOCATION, {"value": value})


# --- the establishment register ----------------------------------------------------------------


def _register_entry(data: Data, ctx: RuleContext) -> tuple[str, RegisterEntry | None] | None:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.KNOWN, "yes"):
        return None
    est_id = _text(data.get(c.ESTABLISHMENT_ID))
    if est_id is None:
        return None  # REQ_001 reports it
    return est_id, ctx.lookups.establishments.get(est_id)


@rule(
    "EST_001",
    "error",
    ("Mã cơ sở không có trong danh sách quản lý", "Register id unknown"),
    (
        "[{field}] Cơ sở mã {value} không có trong danh sách quản lý. Cách sửa: tải lại biểu mẫu "
        "trống (danh sách cơ sở mới) rồi " + EDIT_VI + "; nếu cơ sở chưa có trong danh sách, trả "
        'lời "Không" ở câu trước và khai báo cơ sở mới.',
        "[{field}] There is no establishment {value} in the register. Fix: download the blank "
        "form again (the current register), then " + EDIT_EN + '; if it is not listed, answer "No" '
        "to the previous question and describe the new establishment.",
    ),
)
def establishment_unknown(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    if found is not None and found[1] is None:
        yield Finding(c.ESTABLISHMENT_ID, {"value": found[0]})


@rule(
    "EST_002",
    "warning",
    ("Cơ sở đã ngừng hoạt động theo danh sách", "Establishment closed in the register"),
    (
        "[{field}] Cơ sở {value} được ghi là đã ngừng hoạt động trong danh sách quản lý. Cách "
        "sửa: nếu cơ sở vẫn hoạt động, cập nhật danh sách (pcmd establishments import); nếu chọn "
        "nhầm cơ sở, " + EDIT_VI + ".",
        "[{field}] Establishment {value} is closed in the register. Fix: if it is operating, "
        "update the register (pcmd establishments import); if the wrong one was chosen, "
        + EDIT_EN
        + ".",
    ),
)
def establishment_closed(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    if found is not None and found[1] is not None and found[1].status == "closed":
        yield Finding(c.ESTABLISHMENT_ID, {"value": found[0]})


@rule(
    "EST_003",
    "warning",
    ("Cơ sở thuộc xã khác", "Establishment registered in another commune"),
    (
        "[{field}] Cơ sở {value} thuộc xã {registered} trong danh sách, nhưng phiếu ghi xã "
        "{commune}. Cách sửa: nếu chọn nhầm xã hay cơ sở, " + EDIT_VI + "; nếu danh sách sai, "
        "cập nhật danh sách.",
        "[{field}] Establishment {value} is registered in commune {registered}, but the "
        "submission says {commune}. Fix: if the commune or establishment is wrong, "
        + EDIT_EN
        + "; if the register is wrong, update it.",
    ),
)
def establishment_elsewhere(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    commune = _text(data.get(c.COMMUNE))
    if found is None or found[1] is None or commune is None:
        return
    if found[1].commune != commune:
        yield Finding(
            c.ESTABLISHMENT_ID,
            {"value": found[0], "registered": found[1].commune, "commune": commune},
        )


# --- plausibility ------------------------------------------------------------------------------


@rule(
    "MEDIA_001",
    "warning",
    ("Hoạt động truyền thông không có tin, bài", "Media activity with no media items"),
    (
        "[{field}] Hình thức {channel} nhưng số tin, bài, lượt phát là 0. Cách sửa: "
        + EDIT_VI
        + " "
        "với số tin, bài đã phát hành, hoặc chọn đúng hình thức tuyên truyền.",
        "[{field}] The channel is {channel} but there are 0 articles, posts or broadcasts. Fix: "
        + EDIT_EN
        + " with the number of items published, or the right channel.",
    ),
)
def media_without_items(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.OUTREACH or not is_chosen(data, c.CHANNEL, *c.MEDIA_CHANNELS):
        return
    if _count(data.get(c.MEDIA_ITEMS)) == 0:
        yield Finding(c.MEDIA_ITEMS, {"channel": " ".join(chosen(data, c.CHANNEL))})


@rule(
    "CONS_001",
    "warning",
    ("Có hình thức xử lý nhưng không có vi phạm", "Sanction with no violation"),
    (
        "[{field}] Hình thức xử lý {value} nhưng phiếu ghi không phát hiện vi phạm. Cách sửa: "
        + EDIT_VI
        + ' — trả lời "Có" ở câu vi phạm, hoặc chọn "Nhắc nhở"/"Không xử lý".',
        "[{field}] The action is {value} but no violation is recorded. Fix: "
        + EDIT_EN
        + ' answering "Yes" to the violation question, or choosing "Reminder"/"No action".',
    ),
)
def sanction_without_violation(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.VIOLATION, "no"):
        return
    if is_chosen(data, c.ACTION, *c.SANCTIONS):
        yield Finding(c.ACTION, {"value": " ".join(chosen(data, c.ACTION))})


# --- across records ----------------------------------------------------------------------------


@rule(
    "DUP_001",
    "warning",
    ("Có thể trùng với phiếu khác", "Likely the same activity reported twice"),
    (
        "Phiếu này trùng biểu mẫu, xã, ngày và mọi số liệu với phiếu {other} gửi trước từ thiết "
        "bị khác. Cách sửa: nếu là cùng một hoạt động, người duyệt từ chối phiếu gửi sau; nếu là "
        "hai hoạt động khác nhau, người duyệt chấp nhận cảnh báo này.",
        "This submission has the same form, commune, date and counts as {other}, sent earlier "
        "from another device. Fix: if it is the same activity, a reviewer rejects the later "
        "submission; if they are two activities, a reviewer accepts this warning.",
    ),
    cross=True,
)
def duplicate_activity(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    if ctx.duplicate_of is not None:
        yield Finding(None, {"other": ctx.duplicate_of})


@rule(
    "OUT_001",
    "warning",
    ("Số liệu bất thường so với các phiếu trước của xã", "Outlier against the commune's history"),
    (
        "[{field}] Tổng {value} lớn bất thường so với {n} phiếu trước của xã (trung vị {median}, "
        "điểm z cải tiến {z}). Cách sửa: " + CHECK_VI + "; nếu nhập nhầm, " + EDIT_VI + ".",
        "[{field}] A total of {value} is unusually large against the commune's {n} earlier "
        "records (median {median}, modified z-score {z}). Fix: "
        + CHECK_EN
        + "; if mistyped, "
        + EDIT_EN
        + ".",
    ),
    cross=True,
)
def outlier(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    value = size_of(ctx.form_id, data)
    history = ctx.history
    if value is None or len(history) < OUTLIER_MIN_HISTORY:
        return
    median = statistics.median(history)
    if value < OUTLIER_MIN_RATIO * median or value - median < OUTLIER_MIN_EXCESS:
        return
    z = modified_z(value, history)
    if z > OUTLIER_Z:
        yield Finding(
            c.SIZE_FIELD[ctx.form_id],
            {
                "value": round(value),
                "n": len(history),
                "median": round(median, 1),
                "z": "∞" if math.isinf(z) else round(z, 1),
            },
        )
