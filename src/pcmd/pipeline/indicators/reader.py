"""Reading a programme file: the TOML parsed and every key checked, with messages (Vietnamese
and English) that name the file and the key (`indicators[3].numerator.where`), so that a
mistake in a plan is an error when it is added, not a wrong number later.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

from pcmd.db.facts import FACT_FIELDS
from pcmd.masterdata.establishments import ESTABLISHMENT_STATUSES
from pcmd.masterdata.periods import PeriodError, parse_period
from pcmd.masterdata.reference import REFERENCE_KEYS
from pcmd.pipeline.indicators.checked_values import CheckedValues
from pcmd.pipeline.indicators.model import (
    DEADLINE_COUNTS,
    DENOMINATOR_ONLY,
    NUMERATOR_KINDS,
    PERIOD_SHIFTS,
    Condition,
    Indicator,
    Kind,
    Part,
    ProgrammeFile,
    Unit,
)

# Keys each kind accepts (besides `kind`), and those it requires.
KIND_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "records": (frozenset({"forms", "where"}), frozenset({"forms"})),
    "sum": (frozenset({"form", "fields", "where"}), frozenset({"form", "fields"})),
    "communes_with": (frozenset({"forms", "where"}), frozenset({"forms"})),
    "months_with": (frozenset({"forms", "where"}), frozenset({"forms"})),
    "distinct": (
        frozenset({"form", "field", "where", "establishment"}),
        frozenset({"form", "field"}),
    ),
    "reference": (frozenset({"key"}), frozenset({"key"})),
    "communes": (frozenset(), frozenset()),
    "months": (frozenset(), frozenset()),
    "establishments": (frozenset({"status"}), frozenset()),
    "deadline": (frozenset({"form", "count", "where"}), frozenset({"form", "count"})),
    "commune_months": (frozenset({"months", "since"}), frozenset()),
}
# Options some kinds accept besides their own keys (see the header of pcmd_1629.toml).
SHIFTABLE = ("records", "sum", "communes_with", "months_with", "distinct")
WINDOWED = ("records", "commune_months")
# The fact columns a deadline part judges records by.
DEADLINE_FIELDS = ("deadline", "handled_date")
NUMERIC_KINDS = ("int", "bigint", "float")
FILTER_KINDS = ("choice", "choices", "code")
TARGET_KEYS = ("year", "programme")
# Ids end up in file names, URLs and CSV headers: plain ASCII only.
ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")


class Reader(CheckedValues):
    """Checks the values of one programme file and raises its errors (ProgrammeError): the
    forms, fields, parts and indicators it names."""

    def form(self, name: str, where: str) -> str:
        if name not in FACT_FIELDS:
            raise self.fail(
                where,
                f"không có biểu mẫu {name!r}; dùng {', '.join(FACT_FIELDS)}",
                f"no form {name!r}; use {', '.join(FACT_FIELDS)}",
            )
        return name

    def field_kind(self, form: str, path: str, where: str) -> str:
        kinds = dict(FACT_FIELDS[form])
        if path not in kinds:
            raise self.fail(
                where,
                f"biểu mẫu {form} không có trường {path!r} dùng được; có: {', '.join(kinds)}",
                f"form {form} has no usable field {path!r}; it has: {', '.join(kinds)}",
            )
        return kinds[path]

    def conditions(self, forms: Sequence[str], value: object, where: str) -> tuple[Condition, ...]:
        if value is None:
            return ()
        table = self.table(value, where)
        out: list[Condition] = []
        for path in sorted(table):
            kinds = {self.field_kind(f, path, f"{where}.{path}") for f in forms}
            if not kinds <= set(FILTER_KINDS):
                raise self.fail(
                    f"{where}.{path}",
                    "chỉ lọc được theo trường lựa chọn hoặc mã",
                    "only choice and code fields can be filtered on",
                )
            values = self.texts(table, path, where)
            out.append(Condition(path, tuple(sorted(set(values))), "choices" in kinds))
        return tuple(out)

    def part(self, value: object, where: str, *, numerator: bool) -> Part:
        table = self.table(value, where)
        kind = table.get("kind")
        allowed_kinds = NUMERATOR_KINDS if numerator else NUMERATOR_KINDS | DENOMINATOR_ONLY
        if kind not in allowed_kinds:
            raise self.fail(
                f"{where}.kind",
                f"kind phải là một trong {', '.join(sorted(allowed_kinds))}",
                f"kind must be one of {', '.join(sorted(allowed_kinds))}",
            )
        kind = cast(Kind, kind)
        accepted, required = KIND_KEYS[kind]
        options = {"kind"}
        if kind in SHIFTABLE:
            options.add("period")
        if kind in WINDOWED:
            options |= {"months", "since"}
        self.keys(table, accepted | options, where)
        for key in sorted(required):
            if key not in table:
                raise self.fail(f"{where}.{key}", f"thiếu (cần cho {kind})", f"missing ({kind})")
        part = self._part(table, kind, where)
        return replace(part, **self.options(table, where))

    def options(self, table: Mapping[str, Any], where: str) -> dict[str, Any]:
        """`period`, `months` and `since`, checked."""
        out: dict[str, Any] = {}
        if "period" in table:
            if table["period"] not in PERIOD_SHIFTS:
                raise self.fail(
                    f"{where}.period",
                    f"phải là một trong {', '.join(PERIOD_SHIFTS)}",
                    f"must be one of {', '.join(PERIOD_SHIFTS)}",
                )
            out["period"] = table["period"]
        if "since" in table and "months" not in table:
            raise self.fail(f"{where}.since", "chỉ dùng cùng months", "only with months")
        if "months" in table:
            if table["months"] != "ended":
                raise self.fail(f"{where}.months", "phải là ended", "must be ended")
            out["months"] = "ended"
        if "since" in table:
            since = table["since"]
            try:
                start = parse_period(since.replace("-", "")) if isinstance(since, str) else None
            except PeriodError:
                start = None
            if start is None or start.kind != "month":
                raise self.fail(
                    f"{where}.since",
                    "cần một tháng dạng YYYY-MM (2025-07)",
                    "must be a month as YYYY-MM (2025-07)",
                )
            out["since"] = start.start.year * 100 + start.start.month
        return out

    def _part(self, table: Mapping[str, Any], kind: Kind, where: str) -> Part:
        if kind in ("records", "communes_with", "months_with"):
            forms = tuple(self.form(f, f"{where}.forms") for f in self.texts(table, "forms", where))
            return Part(
                kind,
                forms=forms,
                where=self.conditions(forms, table.get("where"), where + ".where"),
            )
        if kind == "sum":
            form = self.form(self.text(table, "form", where), f"{where}.form")
            fields = self.texts(table, "fields", where)
            for path in fields:
                if self.field_kind(form, path, f"{where}.fields") not in NUMERIC_KINDS:
                    raise self.fail(
                        f"{where}.fields", f"{path} không phải số", f"{path} is not a number"
                    )
            return Part(
                kind,
                forms=(form,),
                fields=fields,
                where=self.conditions((form,), table.get("where"), where + ".where"),
            )
        if kind == "distinct":
            form = self.form(self.text(table, "form", where), f"{where}.form")
            path = self.text(table, "field", where)
            self.field_kind(form, path, f"{where}.field")
            status = table.get("establishment")
            if status is not None and (
                status not in ESTABLISHMENT_STATUSES or path != "establishment/id"
            ):
                raise self.fail(
                    f"{where}.establishment",
                    "chỉ dùng với field = establishment/id, giá trị active hoặc closed",
                    "only with field = establishment/id, and active or closed",
                )
            return Part(
                kind,
                forms=(form,),
                field=path,
                where=self.conditions((form,), table.get("where"), where + ".where"),
                status=status,
            )
        if kind == "reference":
            key = self.text(table, "key", where)
            if key not in REFERENCE_KEYS:
                raise self.fail(
                    f"{where}.key",
                    f"khoá số liệu tham chiếu phải là một trong {', '.join(REFERENCE_KEYS)}",
                    f"reference key must be one of {', '.join(REFERENCE_KEYS)}",
                )
            return Part(kind, key=key)
        if kind == "deadline":
            form = self.form(self.text(table, "form", where), f"{where}.form")
            for path in DEADLINE_FIELDS:
                if self.field_kind(form, path, f"{where}.form") != "date":
                    raise self.fail(
                        f"{where}.form", f"{path} không phải ngày", f"{path} not a date"
                    )
            count = table.get("count")
            if count not in DEADLINE_COUNTS:
                raise self.fail(
                    f"{where}.count",
                    f"phải là một trong {', '.join(DEADLINE_COUNTS)}",
                    f"must be one of {', '.join(DEADLINE_COUNTS)}",
                )
            return Part(
                kind,
                forms=(form,),
                where=self.conditions((form,), table.get("where"), where + ".where"),
                count=count,
            )
        if kind == "establishments":
            status = table.get("status", "active")
            if status not in ESTABLISHMENT_STATUSES:
                raise self.fail(
                    f"{where}.status", "phải là active hoặc closed", "must be active or closed"
                )
            return Part(kind, status=status)
        return Part(kind)

    def targets(self, value: object, where: str) -> tuple[float | None, float | None]:
        if value is None:
            return None, None
        table = self.table(value, where)
        self.keys(table, TARGET_KEYS, where)
        year = table.get("year")
        prog = table.get("programme")
        return (
            None if year is None else self.number(year, f"{where}.year"),
            None if prog is None else self.number(prog, f"{where}.programme"),
        )

    def indicator(self, value: object, where: str) -> Indicator:
        table = self.table(value, where)
        self.keys(
            table, ("id", "name", "unit", "numerator", "denominator", "target", "formula"), where
        )
        ind_id = self.text(table, "id", where)
        if not ID_PATTERN.fullmatch(ind_id) or len(ind_id) > 32:
            raise self.fail(
                f"{where}.id",
                "mã chỉ tiêu: tối đa 32 chữ cái không dấu, chữ số, _ . -",
                "an indicator id has at most 32 letters a-z, digits, _ . -",
            )
        name = self.text(table, "name", where)
        unit = table.get("unit")
        if unit not in ("percent", "count"):
            raise self.fail(
                f"{where}.unit", "phải là percent hoặc count", "must be percent or count"
            )
        raw = table.get("numerator")
        if raw is None:
            raise self.fail(f"{where}.numerator", "thiếu tử số", "the numerator is missing")
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise self.fail(f"{where}.numerator", "danh sách rỗng", "the list is empty")
        numerator = tuple(
            self.part(
                item,
                f"{where}.numerator" + (f"[{i}]" if isinstance(raw, list) else ""),
                numerator=True,
            )
            for i, item in enumerate(items)
        )
        if len(numerator) > 1 and any(p.kind not in ("records", "sum") for p in numerator):
            raise self.fail(
                f"{where}.numerator",
                "chỉ cộng được các phần records và sum",
                "only records and sum parts can be added up",
            )
        denominator = None
        if "denominator" in table:
            denominator = self.part(table["denominator"], f"{where}.denominator", numerator=False)
        if unit == "percent" and denominator is None:
            raise self.fail(
                f"{where}.denominator",
                "chỉ tiêu tỷ lệ (percent) cần mẫu số",
                "a percent indicator needs a denominator",
            )
        if unit == "count" and denominator is not None:
            raise self.fail(
                f"{where}.denominator",
                "chỉ tiêu đếm (count) không có mẫu số",
                "a count indicator has no denominator",
            )
        formula = table.get("formula", "ratio")
        if formula not in ("ratio", "change") or (formula == "change" and unit != "percent"):
            raise self.fail(
                f"{where}.formula",
                "phải là ratio hoặc change (change chỉ cho chỉ tiêu percent)",
                "must be ratio or change (change only for a percent indicator)",
            )
        year, prog = self.targets(table.get("target"), f"{where}.target")
        return Indicator(
            ind_id, name, cast(Unit, unit), numerator, denominator, year, prog, formula
        )


def parse_programme_file(text: str, source: str) -> ProgrammeFile:
    """Read and check one programme file (not yet resolved against the one it extends)."""
    reader = Reader(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise reader.fail("", f"không đọc được TOML: {exc}", f"not valid TOML: {exc}") from exc
    reader.keys(doc, ("programme", "indicators", "targets"), "")
    head = reader.table(doc.get("programme"), "programme")
    reader.keys(head, ("id", "name", "period", "org", "extends"), "programme")
    prog_id = reader.text(head, "id", "programme")
    if not ID_PATTERN.fullmatch(prog_id) or len(prog_id) > 64:
        raise reader.fail(
            "programme.id",
            "mã chương trình: tối đa 64 chữ cái không dấu, chữ số, _ . -",
            "a programme id has at most 64 letters a-z, digits, _ . -",
        )
    name = reader.text(head, "name", "programme")
    extends = reader.text(head, "extends", "programme", required=False) or None
    period = reader.text(head, "period", "programme", required=not extends) or None
    if period is not None:
        try:
            period = parse_period(period).code
        except PeriodError as exc:
            raise reader.fail("programme.period", str(exc), str(exc)) from exc
    org = reader.text(head, "org", "programme", required=False) or None
    raw_indicators = doc.get("indicators", [])
    if not isinstance(raw_indicators, list):
        raise reader.fail("indicators", "cần [[indicators]]", "must be [[indicators]] tables")
    if not raw_indicators and not extends:
        raise reader.fail("indicators", "không có chỉ tiêu nào", "no indicators")
    indicators = tuple(
        reader.indicator(item, f"indicators[{i}]") for i, item in enumerate(raw_indicators)
    )
    seen: set[str] = set()
    for i, ind in enumerate(indicators):
        if ind.id in seen:
            raise reader.fail(
                f"indicators[{i}].id", f"mã {ind.id} bị lặp", f"indicator {ind.id} repeats"
            )
        seen.add(ind.id)
    overrides: dict[str, tuple[float | None, float | None]] = {}
    raw_targets = doc.get("targets")
    if raw_targets is not None:
        if not extends:
            raise reader.fail(
                "targets",
                "[targets] chỉ dùng khi extends một chương trình khác; ghi target trong từng chỉ "
                "tiêu",
                "[targets] is for a file that extends another programme; give each indicator "
                "its own target",
            )
        for ind_id, value in reader.table(raw_targets, "targets").items():
            overrides[ind_id] = reader.targets(value, f"targets.{ind_id}")
    return ProgrammeFile(prog_id, name, period, org, extends, indicators, overrides, source)
