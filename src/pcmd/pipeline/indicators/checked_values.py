"""The plain values of a TOML file checked one by one — a table, its keys, a text, texts, a
number — each mistake an error (Vietnamese and English) that names the file and the key. The
programme file's own vocabulary (forms, fields, parts, indicators) is reader.py's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from pcmd.pipeline.indicators.model import ProgrammeError


class CheckedValues:
    """Checks the values of one file and raises its errors (ProgrammeError), each naming the
    file and the key (`indicators[3].numerator.where`)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, vi: str, en: str) -> ProgrammeError:
        return ProgrammeError(self.source, where, vi, en)

    def table(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "cần một bảng { … }", "must be a table { … }")
        return cast(dict[str, Any], value)

    def keys(self, table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        allowed = set(allowed)
        for key in table:
            if key not in allowed:
                raise self.fail(
                    f"{where}.{key}" if where else key,
                    f"khoá không dùng được; dùng {', '.join(sorted(allowed))}",
                    f"unknown key; use {', '.join(sorted(allowed))}",
                )

    def text(self, table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
        value = table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                f"{where}.{key}" if where else key,
                "thiếu hoặc không phải chuỗi",
                "missing or not a string",
            )
        return value.strip()

    def texts(self, table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.fail(
                f"{where}.{key}",
                "cần một chuỗi hoặc danh sách chuỗi",
                "must be a string or a list of strings",
            )
        return tuple(v.strip() for v in value)

    def number(self, value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(where, "cần một số ≥ 0", "must be a number ≥ 0")
        return float(value)
