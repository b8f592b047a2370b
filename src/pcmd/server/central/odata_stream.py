"""A whole OData table (no `$top`) sent as it is read, as Central streams it: the rows are
written out in batches while the next ones are read, so neither the server nor a long table
holds every row in memory at once. The body is what JSONResponse would have written, with the
footer keys (`@odata.count`) after `value`, as Central puts them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

BATCH = 100  # rows a write


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_body(
    context: str, rows: Iterable[dict[str, Any]], footer: Callable[[], dict[str, Any]]
) -> Iterator[bytes]:
    """`{"@odata.context": …, "value": [rows…], footer…}` in pieces; `footer` is called once
    the rows are out (a count made while they were read). A failure part-way is logged and
    ends the body there: the status line has gone, and a client sees JSON cut short, never a
    page that looks whole."""
    yield f'{{"@odata.context":{_dumps(context)},"value":['.encode()
    batch: list[str] = []
    sep = ""
    try:
        for row in rows:
            batch.append(_dumps(row))
            if len(batch) == BATCH:
                yield (sep + ",".join(batch)).encode()
                batch, sep = [], ","
        if batch:
            yield (sep + ",".join(batch)).encode()
        tail = "".join(f",{_dumps(k)}:{_dumps(v)}" for k, v in footer().items())
    except Exception:
        log.exception("streaming an OData table failed part-way")
        return
    yield f"]{tail}}}".encode()
