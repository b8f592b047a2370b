"""One submission as a row of Central's OData `Submissions` table: `__id`, `__system`, then
every field of the form, groups nested, absent answers `null`, numbers as numbers,
select_multiple space-separated, geo as GeoJSON (lon, lat, alt) or WKT, each repeat as a
navigation link. Also `$select` and the mapping of pcmd's review states to Central's. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pcmd.server.central.problems import Problem
from pcmd.server.central.schema import Field, sanitize

# pcmd's review state → Central's (`received` has none: null)
REVIEW_STATES: dict[str, str | None] = {
    "received": None,
    "has_issues": "hasIssues",
    "approved": "approved",
    "rejected": "rejected",
    "edited": "edited",
}
CENTRAL_STATES = {v: k for k, v in REVIEW_STATES.items() if v is not None}


def central_time(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as Central writes timestamps."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class System:
    """What Central puts under `__system` for one submission."""

    submission_date: dt.datetime
    updated_at: dt.datetime | None
    submitter_id: int
    submitter_name: str | None
    attachments_present: int
    attachments_expected: int
    review_state: str
    device_id: str | None
    edits: int
    form_version: str

    def as_json(self) -> dict[str, Any]:
        return {
            "submissionDate": central_time(self.submission_date),
            "updatedAt": central_time(self.updated_at),
            "deletedAt": None,
            "submitterId": str(self.submitter_id),
            "submitterName": self.submitter_name,
            "attachmentsPresent": self.attachments_present,
            "attachmentsExpected": self.attachments_expected,
            "status": None,
            "reviewState": REVIEW_STATES.get(self.review_state),
            "deviceId": self.device_id,
            "edits": self.edits,
            "formVersion": self.form_version,
        }


def _coordinates(value: Any) -> list[list[float]] | None:
    """Points of a geo answer as [lat, lon, alt?, acc?] lists; None if it is not one."""
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return [[float(v) for v in value]] if len(value) >= 2 else None
    if isinstance(value, str):
        points = []
        for part in value.split(";"):
            try:
                numbers = [float(n) for n in part.split()]
            except ValueError:
                return None
            if len(numbers) < 2:
                return None
            points.append(numbers)
        return points or None
    return None


def _wkt_point(p: list[float]) -> str:
    return " ".join(f"{n:g}" for n in [p[1], p[0], *p[2:3]])


def _geo(kind: str, value: Any, wkt: bool) -> Any:
    points = _coordinates(value)
    if points is None:
        return None
    coords = [[p[1], p[0], *p[2:3]] for p in points]
    accuracies = [p[3] if len(p) > 3 else None for p in points]
    if kind == "geopoint":
        if wkt:
            return f"POINT ({_wkt_point(points[0])})"
        out: dict[str, Any] = {"type": "Point", "coordinates": coords[0]}
        if accuracies[0] is not None:
            out["properties"] = {"accuracy": accuracies[0]}
        return out
    if kind == "geotrace":
        if wkt:
            return f"LINESTRING ({', '.join(_wkt_point(p) for p in points)})"
        line = {"type": "LineString", "coordinates": coords}
        return {**line, "properties": {"accuracies": accuracies}}
    if wkt:
        return f"POLYGON (({', '.join(_wkt_point(p) for p in points)}))"
    return {"type": "Polygon", "coordinates": [coords], "properties": {"accuracies": accuracies}}


def odata_value(kind: str, value: Any, wkt: bool) -> Any:
    """One answer as Central writes it in JSON."""
    if value is None or value == "":
        return None
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "decimal":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if number else None
    if kind in ("geopoint", "geotrace", "geoshape"):
        return _geo(kind, value, wkt)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def submission_row(
    instance_id: str,
    system: System,
    fields: tuple[Field, ...],
    data: dict[str, Any],
    *,
    wkt: bool = False,
) -> dict[str, Any]:
    """The OData row of one submission (data: field path → typed value)."""
    row: dict[str, Any] = {"__id": instance_id, "__system": system.as_json()}
    nests: dict[str, dict[str, Any]] = {"": row}
    skip: str | None = None
    for f in fields:
        if skip is not None and f.path.startswith(skip):
            continue  # inside a repeat: its own table
        parent_path = f.path.rsplit("/", 1)[0] if "/" in f.path else ""
        parent = nests.get(parent_path, row)
        name = sanitize(f.name)
        if f.kind == "repeat":
            table = "/".join(map(sanitize, f.path.split("/")))
            link = f"Submissions('{quote(instance_id, safe='')}')/{table}"
            parent[f"{name}@odata.navigationLink"] = link
            skip = f.path + "/"
        elif f.kind == "structure":
            nests[f.path] = parent[name] = {}
        else:
            parent[name] = odata_value(f.kind, data.get(f.path), wkt)
    return row


def check_select(text: str, fields: tuple[Field, ...]) -> list[str]:
    """The paths `$select` names (`__id`, `__system`, `__system/x`, fields and groups);
    a Problem (400.23) naming the first one the form does not have."""
    system = System(dt.datetime.now(dt.UTC), None, 0, None, 0, 0, "received", None, 0, "")
    known = {"__id", "__system"} | {f"__system/{k}" for k in system.as_json()}
    known |= {"/".join(map(sanitize, f.path.split("/"))) for f in fields}
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    for path in wanted:
        if path not in known and path != "*":
            raise Problem(
                400.23,
                f"Trường {path!r} trong $select không có trong biểu mẫu (the field {path!r} "
                "in $select is not in the form): name fields by their path, e.g. "
                "reach/n_students, or __id, __system.",
                {"select": text},
            )
    return wanted


def select_row(row: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """Only the selected paths of a row (a group brings its children); `*` keeps all."""
    if not wanted or "*" in wanted:
        return row
    out: dict[str, Any] = {}
    for path in wanted:
        parts = path.split("/")
        source: Any = row
        target = out
        for part in parts[:-1]:
            source = source.get(part) if isinstance(source, dict) else None
            target = target.setdefault(part, {})
        if isinstance(source, dict) and parts[-1] in source:
            target[parts[-1]] = source[parts[-1]]
    return out
