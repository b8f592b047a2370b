"""The query options of a Central OData request, checked: `$top $skip $count $wkt $filter
$select $orderby $expand $skiptoken $format`, each refused with Central's problem code and a
message saying what is wrong and how to write it. Pure: a query string's pairs in, options out.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass

from pcmd.server.central.problems import Problem

KNOWN = (
    "$format", "$count", "$skip", "$top", "$filter", "$wkt",
    "$expand", "$select", "$skiptoken", "$orderby", "$search",
)  # fmt: skip
MAX_NUMBER = 10**12


@dataclass(frozen=True)
class Options:
    top: int | None
    skip: int
    count: bool
    wkt: bool
    expand: bool
    filter: str | None
    select: str | None
    orderby: list[tuple[str, bool]]  # (field, descending)
    skiptoken: str | None  # the instanceId a page starts after (a repeat table: at)
    repeat_id: str | None = None  # a repeat table: the row a page starts after


def _whole(name: str, text: str) -> int:
    if not text.strip().isdigit() or int(text) > MAX_NUMBER:
        raise Problem(
            400.8,
            f"Giá trị {name}={text!r} không hợp lệ: cần một số nguyên không âm (unexpected "
            f"value {text!r} for {name}: give a whole number of 0 or more, e.g. {name}=250).",
            {"field": name, "value": text},
        )
    return int(text)


def _flag(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise Problem(
        400.8,
        f"Giá trị {name}={text!r} không hợp lệ: dùng true hoặc false (unexpected value "
        f"{text!r} for {name}: use true or false).",
        {"field": name, "value": text},
    )


def skiptoken_for(instance_id: str, repeat_id: str | None = None) -> str:
    """Central's cursor: `01` then base64 of `{"instanceId": …}`, or for a repeat table
    `{"repeatId": …}` — to which pcmd adds the row's submission, so that the next page is
    found by an index rather than by reading every submission before it."""
    cursor = {"instanceId": instance_id}
    if repeat_id is not None:
        cursor = {"repeatId": repeat_id, **cursor}
    return "01" + base64.b64encode(json.dumps(cursor).encode()).decode()


def _read_skiptoken(text: str) -> tuple[str | None, str | None]:
    """(instanceId, repeatId) of a cursor; a repeat's may lack the instanceId (Central's)."""
    try:
        if not text.startswith("01"):
            raise ValueError(text)
        found = json.loads(base64.b64decode(text[2:], validate=True))
        instance_id, repeat_id = found.get("instanceId"), found.get("repeatId")
        if not isinstance(instance_id, str | None) or not isinstance(repeat_id, str | None):
            raise ValueError(text)
        if instance_id is None and repeat_id is None:
            raise ValueError(text)
        return instance_id, repeat_id
    except (ValueError, AttributeError, TypeError, binascii.Error):
        raise Problem(
            400.35,
            "Giá trị $skiptoken không hợp lệ (the $skiptoken is not valid): follow the "
            "@odata.nextLink of the previous page as it is.",
        ) from None


def _orderby(text: str, fields: tuple[str, ...]) -> list[tuple[str, bool]]:
    out = []
    for part in text.split(","):
        words = part.split()
        direction = words[1].lower() if len(words) == 2 else "asc"
        if not words or len(words) > 2 or direction not in ("asc", "desc"):
            raise Problem(
                400.18,
                f"Không đọc được $orderby {text!r} (could not parse $orderby): write fields "
                "with asc or desc, e.g. __system/submissionDate desc.",
            )
        if words[0] not in fields:
            raise Problem(
                501.5,
                f"Không sắp xếp được theo {words[0]!r} (cannot order by {words[0]!r}): use "
                f"{', '.join(fields)}.",
            )
        out.append((words[0], direction == "desc"))
    return out


def read_options(query: Mapping[str, str], orderable: tuple[str, ...]) -> Options:
    """The checked options of a request's query string."""
    for key in query:
        if key not in KNOWN:
            raise Problem(
                501.1,
                f"Tham số {key!r} không được hỗ trợ (the query parameter {key!r} is not "
                f"supported): use {', '.join(KNOWN[:-1])}.",
            )
    if query.get("$format", "json").lower() not in ("json", "application/json"):
        raise Problem(406.1, "Chỉ có định dạng JSON (only JSON is offered): drop $format.")
    if "$search" in query:
        raise Problem(501.1, "Không hỗ trợ $search cho phiếu (no $search on submissions).")
    expand = query.get("$expand")
    if expand is not None and expand != "*":
        raise Problem(
            501.6, "Chỉ hỗ trợ $expand=* (only $expand=* is supported, expanding every repeat)."
        )
    if expand is not None and "$select" in query:
        raise Problem(
            501.11, "Không dùng được $expand cùng $select (cannot use $expand with $select)."
        )
    orderby = _orderby(query["$orderby"], orderable) if query.get("$orderby") else []
    token = query.get("$skiptoken")
    instance_id, repeat_id = _read_skiptoken(token) if token is not None else (None, None)
    if token is not None and orderby:
        raise Problem(
            501.1,
            "Không dùng được $skiptoken cùng $orderby (cannot use $skiptoken with $orderby): "
            "page with $top and $skip instead.",
        )
    return Options(
        top=_whole("$top", query["$top"]) if "$top" in query else None,
        skip=_whole("$skip", query["$skip"]) if "$skip" in query else 0,
        count=_flag("$count", query.get("$count")),
        wkt=_flag("$wkt", query.get("$wkt")),
        expand=expand == "*",
        filter=query.get("$filter") or None,
        select=query.get("$select") or None,
        orderby=orderby,
        skiptoken=instance_id,
        repeat_id=repeat_id,
    )
