"""The rows of a repeat table (`Submissions.grp.people`), read from a submission's stored XML
as Central makes them: one row per repetition, `__id` a stable SHA-1 of the submission, the
repeat's path and the repetition numbers, a link to the parent row (`__Submissions-id`, or
`__Submissions-<outer repeat>-id` inside another repeat), the repeat's own fields typed as in
the root table, and a navigation link per nested repeat. Pure: XML text in, rows out.
"""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from pcmd.ingest.instance import type_value
from pcmd.server.central.odata_rows import odata_value
from pcmd.server.central.schema import Field, sanitize


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element if _local(c.tag) == name]


def row_id(instance_id: str, path: str, numbers: tuple[int, ...]) -> str:
    text = f"{instance_id}|{path}|{'.'.join(map(str, numbers))}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _outer(fields: tuple[Field, ...], path: str) -> str | None:
    """The path of the innermost repeat around `path`, if any."""
    found = None
    for f in fields:
        if f.kind == "repeat" and path.startswith(f.path + "/"):
            found = f.path
    return found


def _value(kind: str, text: str, wkt: bool) -> Any:
    return odata_value(kind, type_value(text, kind, None), wkt)


def _fill(
    element: Element,
    repeat: str,
    fields: tuple[Field, ...],
    row: dict[str, Any],
    link: str,
    wkt: bool,
) -> None:
    """The repeat's own fields (groups nested, inner repeats as links) from one repetition."""
    nests: dict[str, dict[str, Any]] = {repeat: row}
    skip: str | None = None
    for f in fields:
        if not f.path.startswith(repeat + "/") or (skip and f.path.startswith(skip)):
            continue
        parent_path = f.path.rsplit("/", 1)[0]
        parent = nests.get(parent_path, row)
        name = sanitize(f.name)
        if f.kind == "repeat":
            parent[f"{name}@odata.navigationLink"] = (
                f"{link}/{'/'.join(map(sanitize, f.path.split('/')))}"
            )
            skip = f.path + "/"
            continue
        node: Element | None = element
        for part in f.path[len(repeat) + 1 :].split("/"):
            found = _children(node, part) if node is not None else []
            node = found[0] if found else None
        if f.kind == "structure":
            nests[f.path] = parent[name] = {}
        else:
            parent[name] = (
                _value(f.kind, (node.text or "").strip(), wkt) if node is not None else None
            )


def repeat_rows(
    xml: str, instance_id: str, fields: tuple[Field, ...], repeat: str, *, wkt: bool = False
) -> list[dict[str, Any]]:
    """Every repetition of `repeat` in one submission, in document order."""
    root = SafeET.fromstring(xml.encode())
    outer = _outer(fields, repeat)
    key = (
        "__Submissions" + ("-" + "-".join(map(sanitize, outer.split("/"))) if outer else "") + "-id"
    )
    rows: list[dict[str, Any]] = []

    def walk(
        element: Element, parts: list[str], path: str, numbers: tuple[int, ...], parent: str
    ) -> None:
        if not parts:
            return
        part, rest = parts[0], parts[1:]
        here = f"{path}/{part}" if path else part
        for number, child in enumerate(_children(element, part), start=1):
            is_repeat = any(f.kind == "repeat" and f.path == here for f in fields)
            inner = (*numbers, number) if is_repeat else numbers
            if here == repeat:
                this = row_id(instance_id, repeat, inner)
                row: dict[str, Any] = {"__id": this, key: parent}
                _fill(child, repeat, fields, row, f"Submissions('{instance_id}')", wkt)
                rows.append(row)
            else:
                walk(
                    child,
                    rest,
                    here,
                    inner,
                    row_id(instance_id, here, inner) if is_repeat else parent,
                )

    walk(root, repeat.split("/"), "", (), instance_id)
    return rows


def repetition_count(xml: str, repeat: str) -> int:
    """How many rows repeat_rows gives for `repeat`, without making them (for `$count`)."""
    nodes = [SafeET.fromstring(xml.encode())]
    for part in repeat.split("/"):
        nodes = [child for node in nodes for child in _children(node, part)]
    return len(nodes)
