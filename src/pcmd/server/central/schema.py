"""A form's fields as Central lists them: depth first, groups as `structure`, repeats as
`repeat`, every other field with its XForm bind type — what the OData metadata, the table
names and the rows are built from. Pure: XForm text in, fields out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from pcmd.forms import contract

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"
JR_TEMPLATE = "{http://openrosa.org/javarosa}template"
_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class Field:
    path: str  # relative to the instance root: "reach/n_students"
    name: str
    kind: str  # "structure", "repeat", or the bind type: int, decimal, date, geopoint, …

    @property
    def structural(self) -> bool:
        return self.kind in ("structure", "repeat")


def sanitize(name: str) -> str:
    """Central's OData identifier: a leading non-letter gets `_`, other runs become `_`."""
    clean = _NOT_IDENT.sub("_", name)
    return clean if re.match(r"[A-Za-z_]", clean) else f"_{clean}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@lru_cache(maxsize=64)
def form_fields(xform: str) -> tuple[Field, ...]:
    """The fields of an XForm's main instance, depth first (a group before its children)."""
    root = SafeET.fromstring(xform)
    model = root.find(f"{H}head/{XF}model")
    instance = model.find(f"{XF}instance") if model is not None else None
    if instance is None or len(instance) == 0:
        return ()
    data: Element = instance[0]
    prefix = f"/{_local(data.tag)}/"
    types = {
        b.get("nodeset", "").removeprefix(prefix): b.get("type", "string").split(":")[-1]
        for b in model.iter(f"{XF}bind")
    }
    body = root.find(f"{H}body")
    repeats = (
        {r.get("nodeset", "").removeprefix(prefix) for r in body.iter(f"{XF}repeat")}
        if body is not None
        else set()
    )
    out: list[Field] = []

    def walk(element: Element, base: str) -> None:
        seen: set[str] = set()
        for child in element:
            name = _local(child.tag)
            if name in seen:  # a repeat's template and its first instance
                continue
            seen.add(name)
            path = f"{base}{name}"
            if path in repeats:
                out.append(Field(path, name, "repeat"))
                walk(child, path + "/")
            elif len(child):
                out.append(Field(path, name, "structure"))
                walk(child, path + "/")
            else:
                out.append(Field(path, name, types.get(path, "string")))

    walk(data, "")
    return tuple(_stored(out))


def _stored(fields: list[Field]) -> list[Field]:
    """The fields as records are stored: a support log's four UIC answers never reach storage
    (ingest puts one keyed hash in their place), so readers see `uic/key`, not empty answers."""
    if not any(f.path in contract.UIC_ANSWERS for f in fields):
        return fields
    key = Field(contract.UIC_KEY, contract.UIC_KEY.rsplit("/", 1)[1], "string")
    out: list[Field] = []
    for f in fields:
        if f.path in contract.UIC_ANSWERS:
            if key not in out:
                out.append(key)
        else:
            out.append(f)
    return out


def repeat_tables(fields: tuple[Field, ...]) -> list[tuple[str, str]]:
    """(table name, repeat path) of each repeat: `Submissions.grp.people`."""
    return [
        ("Submissions." + ".".join(sanitize(p) for p in f.path.split("/")), f.path)
        for f in fields
        if f.kind == "repeat"
    ]
