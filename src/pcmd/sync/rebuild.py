"""A remote record rebuilt as the instance XML a phone would have sent.

KoboToolbox and ODK Central serve JSON (flat group paths on Kobo, nested objects on Central),
not the XML a phone sent. pcmd rebuilds the instance XML from the record along the form
version's field paths (root element = the form id with id/version attributes, groups nested,
every field of the form present, empty when unanswered, as Collect writes it), so the pulled
record goes through exactly the parse, typing and ingest that a Collect upload does. The
server's own nodes that are not pcmd fields (formhub/uuid, __version__, meta/rootUuid …) are
kept after the form's fields: the XML holds everything the record said.

Everything here is pure: values in, XML out. The clients and the runner do the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from pcmd.ingest.instance import UUID_RE, Instance

# An XML element name pcmd will write: a key that is not one (spaces, colons, a leading digit)
# cannot have come from an instance, so it is left out rather than producing broken XML.
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

Tree = dict[str, "str | Tree | list[Tree]"]


@dataclass(frozen=True)
class FormSpec:
    """The pcmd form version a source's records are rebuilt against."""

    form_id: str
    version: str
    fields: dict[str, Any]

    @cached_property
    def binary_paths(self) -> tuple[str, ...]:
        return tuple(p for p, info in self.fields.items() if info.get("type") == "binary")

    @cached_property
    def layouts(self) -> dict[tuple[str, ...], _Compiled]:
        """Compiled element layouts by the record's non-field keys (see rebuild_xml)."""
        return {}

    @cached_property
    def shapes(self) -> dict[tuple[str, ...], tuple[str, ...] | None]:
        """A client's notes on record shapes (see kobo.to_remote), by the record's keys."""
        return {}

    @cached_property
    def skeleton(self) -> Tree:
        """The element tree of the form's fields, each leaf a _Field naming its path: built
        once, so rebuilding a record only looks values up (a pull rebuilds thousands)."""
        tree: Tree = {}
        for path in self.fields:
            parts = _parts(path)
            if parts is not None:
                _insert(tree, parts, _Field(path))
        return tree


def _insert(tree: Tree, parts: tuple[str, ...], value: str | list[Tree]) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # a leaf already holds this name: keep the first
            return
        node = child
    leaf = parts[-1]
    # A form field is seeded empty first, then given its answer; otherwise the first wins.
    if leaf not in node or (node[leaf] == "" and value != ""):
        node[leaf] = value


def build_tree(ordered_paths: Iterable[str], values: Mapping[str, Any], prefix: str = "") -> Tree:
    """A nested tree of element names from flat `group/question` keys.

    `ordered_paths` (the form's fields) come first, empty when unanswered; then every other key
    of `values` in its own order. A list value is a repeat: a list of dicts keyed by full path.
    """
    tree: Tree = {}
    for path in ordered_paths:
        if path.startswith(prefix):
            _place(tree, path[len(prefix) :], values.get(path, ""))
    for path, value in values.items():
        if path.startswith(prefix):
            _place(tree, path[len(prefix) :], value)
    return tree


_PARTS: dict[str, tuple[str, ...] | None] = {}


def _parts(relative: str) -> tuple[str, ...] | None:
    """A path's element names, None if one is not an XML name; cached (the same few dozen
    paths come in every record of a form)."""
    parts = _PARTS.get(relative, ())
    if parts == ():
        if len(_PARTS) > 50_000:  # keys are the remote's: bound what it can make us keep
            _PARTS.clear()
        split = tuple(relative.split("/"))
        parts = _PARTS[relative] = split if all(NAME_RE.match(p) for p in split) else None
    return parts


def _place(tree: Tree, relative: str, value: Any) -> None:
    parts = _parts(relative)
    if parts is None:
        return
    if isinstance(value, list):
        full = relative  # items carry full paths; strip through this repeat's own path
        items = [
            build_tree((), item, prefix=_item_prefix(item, full))
            for item in value
            if isinstance(item, Mapping)
        ]
        _insert(tree, parts, items)
        return
    if value is None or isinstance(value, Mapping):
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    _insert(tree, parts, text)


def _item_prefix(item: Mapping[str, Any], relative: str) -> str:
    """The prefix of a repeat item's keys: everything up to and including the repeat's name
    (`grp/` for `grp/q`; `a/b/` for a repeat `b` nested in repeat `a`, keyed `a/b/q`)."""
    marker = relative.rsplit("/", 1)[-1] + "/"
    for key in item:
        if key.startswith(marker):
            return marker
        at = key.find("/" + marker)
        if at >= 0:
            return key[: at + 1 + len(marker)]
    return marker


def _serialise(tree: Tree, out: list[str]) -> None:
    for name, value in tree.items():
        if isinstance(value, list):
            for item in value:
                out.append(f"<{name}>")
                _serialise(item, out)
                out.append(f"</{name}>")
        elif isinstance(value, dict):
            out.append(f"<{name}>")
            _serialise(value, out)
            out.append(f"</{name}>")
        elif value == "":
            out.append(f"<{name}/>")
        else:
            out.append(f"<{name}>{escape(value)}</{name}>")


class _Field(str):
    """A leaf of FormSpec.skeleton: the path of a form field, filled in per record."""

    __slots__ = ()


def _with_record(
    form: FormSpec,
    values: Mapping[str, Any],
    leaf: Callable[[tuple[str, ...], str, Any], Any] | None = None,
) -> Tree:
    """The form's skeleton with the record's values: exactly build_tree(form.fields, values),
    without walking the form's paths again. Dicts are copied only where a key that is not a
    form field (formhub/uuid, meta/rootUuid …) goes."""
    skeleton = form.skeleton
    tree: Tree = dict(skeleton)
    copied = {id(skeleton)}
    fields = form.fields
    for path, value in values.items():
        if path in fields:
            continue
        parts = _parts(path)
        if parts is None:
            continue
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
                copied.add(id(child))
            elif not isinstance(child, dict):
                break  # a leaf already holds this name: the first wins
            elif id(child) not in copied:
                child = node[part] = dict(child)
                copied.add(id(child))
            node = child
        else:
            if parts[-1] not in node:
                node[parts[-1]] = (leaf or _value)(parts, path, value)
    return tree


def _value(parts: tuple[str, ...], path: str, value: Any) -> str | list[Tree]:
    if isinstance(value, list):
        relative = "/".join(parts)
        return [
            build_tree((), item, prefix=_item_prefix(item, relative))
            for item in value
            if isinstance(item, Mapping)
        ]
    if value is None or isinstance(value, Mapping):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# A compiled layout: literal markup, or (path, element name) to fill from the record.
Layout = list[str | tuple[str, str]]


def _layout(form: FormSpec, keys: tuple[str, ...]) -> Layout:
    """The element layout of records with these keys (in this order) outside the form's
    fields. The tree's shape depends only on the keys, never on the values, so one layout
    serves every record of the same shape, i.e. nearly every record of a source."""
    tree = _with_record(form, dict.fromkeys(keys, ""), lambda _p, path, _v: _Field(path))
    layout: Layout = []

    def walk(node: Tree) -> None:
        for name, value in node.items():
            if isinstance(value, dict):
                layout.append(f"<{name}>")
                walk(value)
                layout.append(f"</{name}>")
            else:
                assert isinstance(value, _Field)
                layout.append((str(value), name))

    walk(tree)
    merged: Layout = []
    for item in layout:  # join neighbouring literals: fewer appends per record
        if isinstance(item, str) and merged and isinstance(merged[-1], str):
            merged[-1] += item
        else:
            merged.append(item)
    return merged


# Characters XML 1.0 does not allow: a value holding one makes the instance unreadable, and
# the parser says so (ingest refuses it with its message).
NOT_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class _Compiled:
    """A layout made ready for records whose values are all plain text: the leaves' paths in
    order, and for each the markup before it with its open tag, its close tag, and the markup
    before it with its empty element; then the markup after the last leaf."""

    layout: Layout
    paths: tuple[str, ...]
    slots: tuple[tuple[str, str, str], ...]
    tail: str


def _compile(form: FormSpec, layout: Layout) -> _Compiled:
    before = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<{form.form_id} id={quoteattr(form.form_id)} version={quoteattr(form.version)}>"
    )
    paths: list[str] = []
    slots: list[tuple[str, str, str]] = []
    for item in layout:
        if isinstance(item, str):
            before += item
            continue
        path, name = item
        paths.append(path)
        slots.append((f"{before}<{name}>", f"</{name}>", f"{before}<{name}/>"))
        before = ""
    return _Compiled(layout, tuple(paths), tuple(slots), f"{before}</{form.form_id}>")


def rebuild(
    form: FormSpec, values: Mapping[str, Any], keys: tuple[str, ...] | None = None
) -> tuple[bytes, Instance | None]:
    """The instance XML of a record given as flat `group/question` → text values, and what
    parse_instance would read back from it (None when only the parser can say: a repeat, a
    character XML refuses, no valid instanceID). A pull hands both to ingest, which then
    skips parsing the XML it was just given; tests check the two agree on every shape.

    The XML equals rebuild_xml_slow (the plain tree walk) for every record; tests check it.
    `keys`, when the caller knows them: the keys of `values` that are not form fields, in
    order (the only ones `values` may have besides the fields' paths)."""
    if keys is None:
        fields = form.fields
        keys = tuple([k for k in values if k not in fields])
    layouts = form.layouts
    compiled = layouts.get(keys)
    if compiled is None:
        if len(layouts) > 1000:  # shapes come from the remote: bound them
            layouts.clear()
        compiled = layouts[keys] = _compile(form, _layout(form, keys))
    get = values.get
    texts = [get(path, "") for path in compiled.paths]
    try:
        joined = "".join(texts)  # TypeError: a value that is not text (a repeat, a number …)
    except TypeError:
        return _rebuild(form, compiled.layout, values)
    if "&" in joined or "<" in joined or ">" in joined or "\r" in joined:
        return _rebuild(form, compiled.layout, values)  # escaped, or line ends normalised
    out = [
        opening + text + closing if text else empty
        for (opening, closing, empty), text in zip(compiled.slots, texts, strict=True)
    ]
    out.append(compiled.tail)
    xml = "".join(out).encode("utf-8", "surrogatepass")
    if NOT_XML_RE.search(joined):  # the markup itself is plain ASCII names
        return xml, None
    leaves = dict(zip(compiled.paths, [text.strip() for text in texts], strict=True))
    return xml, _instance(form, leaves)


def _instance(form: FormSpec, leaves: dict[str, str]) -> Instance | None:
    instance_id = leaves.get("meta/instanceID", "")
    if not UUID_RE.match(instance_id):
        return None
    return Instance(
        form_id=form.form_id,
        version=form.version,
        instance_id=instance_id,
        deprecated_id=leaves.get("meta/deprecatedID") or None,
        values=leaves,
    )


def _rebuild(
    form: FormSpec, layout: Layout, values: Mapping[str, Any]
) -> tuple[bytes, Instance | None]:
    """rebuild, value by value: any record (repeats, numbers, text to escape)."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<{form.form_id} id={quoteattr(form.form_id)} version={quoteattr(form.version)}>",
    ]
    leaves: dict[str, str] | None = {}
    for item in layout:
        if isinstance(item, str):
            out.append(item)
            continue
        path, name = item
        value = values.get(path, "")
        text = value if isinstance(value, str) else _value((path,), path, value)
        if isinstance(text, list):
            leaves = None
            for entry in text:
                out.append(f"<{name}>")
                _serialise(entry, out)
                out.append(f"</{name}>")
            continue
        if leaves is not None:
            # what the parser makes of a text node: line ends normalised, then stripped
            read = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
            leaves[path] = read.strip()
        if text == "":
            out.append(f"<{name}/>")
        elif "&" in text or "<" in text or ">" in text:
            out.append(f"<{name}>{escape(text)}</{name}>")
        else:
            out.append(f"<{name}>{text}</{name}>")
    out.append(f"</{form.form_id}>")
    document = "".join(out)
    xml = document.encode("utf-8", "surrogatepass")
    if leaves is None or NOT_XML_RE.search(document):
        return xml, None
    return xml, _instance(form, leaves)


def rebuild_xml(form: FormSpec, values: Mapping[str, Any]) -> bytes:
    """The instance XML of a record (see rebuild)."""
    return rebuild(form, values)[0]


def rebuild_xml_slow(form: FormSpec, values: Mapping[str, Any]) -> bytes:
    """rebuild_xml by the plain tree walk: the reference the fast one is tested against."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<{form.form_id} id={quoteattr(form.form_id)} version={quoteattr(form.version)}>",
    ]
    _serialise(build_tree(form.fields, values), out)
    out.append(f"</{form.form_id}>")
    return "".join(out).encode("utf-8", "surrogatepass")
