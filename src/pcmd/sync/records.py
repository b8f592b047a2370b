"""What a pull source hands the runner: one remote record, rebuilt as an instance XML.

KoboToolbox and ODK Central serve JSON (flat group paths on Kobo, nested objects on Central),
not the XML a phone sent. pcmd rebuilds the instance XML from the record along the form
version's field paths (root element = the form id with id/version attributes, groups nested,
every field of the form present, empty when unanswered, as Collect writes it), so the pulled
record goes through exactly the parse, typing and ingest that a Collect upload does. The
server's own nodes that are not pcmd fields (formhub/uuid, __version__, meta/rootUuid …) are
kept after the form's fields: the XML holds everything the record said.

Everything here is pure: records in, values out. The clients and the runner do the I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Connection, select

from pcmd.db.models import Form, FormVersion
from pcmd.errors import SyncError

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

    def binary_paths(self) -> list[str]:
        return [p for p, info in self.fields.items() if info.get("type") == "binary"]


@dataclass(frozen=True)
class FileRef:
    """An attachment of a remote record: its file name in the instance and where to get it."""

    filename: str
    url: str
    content_type: str


@dataclass(frozen=True)
class RemoteRecord:
    """One remote record, ready for ingest."""

    remote_id: str  # Kobo _id, Central __id
    instance_id: str  # the current version's instanceID
    root_instance_id: str  # the stable identity: Kobo meta/rootUuid, Central __id
    xml: bytes
    # The remote's review marker as it says it (for change detection), and what it means in
    # pcmd's review states; None = the remote has no status for it.
    review: str | None = None
    review_state: str | None = None
    submitted_at: dt.datetime | None = None
    submitter: str | None = None
    device_id: str | None = None
    files: tuple[FileRef, ...] = ()
    deleted: bool = False  # Central __system/deletedAt is set
    extra: Mapping[str, Any] = field(default_factory=dict)


def load_form_spec(conn: Connection, form_id: str, project_id: int = 1) -> FormSpec:
    """The current pcmd version of `form_id`; SyncError when pcmd does not have the form."""
    row = conn.execute(
        select(FormVersion.version, FormVersion.fields)
        .join(Form, Form.current_version_id == FormVersion.id)
        .where(Form.project_id == project_id, Form.form_id == form_id)
    ).first()
    if row is None:
        raise SyncError(
            f"Máy chủ pcmd chưa có biểu mẫu {form_id!r} (pcmd has no form {form_id!r}), nên "
            "không đọc được phiếu của nguồn này. Fix: run `pcmd forms build`, or give the "
            "source the id of one of `pcmd forms list`."
        )
    return FormSpec(form_id, row.version, dict(row.fields))


def _insert(tree: Tree, parts: list[str], value: str | list[Tree]) -> None:
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


def _place(tree: Tree, relative: str, value: Any) -> None:
    parts = relative.split("/")
    if not all(NAME_RE.match(p) for p in parts):
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


def rebuild_xml(form: FormSpec, values: Mapping[str, Any]) -> bytes:
    """The instance XML of a record given as flat `group/question` → text values."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<{form.form_id} id={quoteattr(form.form_id)} version={quoteattr(form.version)}>",
    ]
    _serialise(build_tree(form.fields, values), out)
    out.append(f"</{form.form_id}>")
    return "".join(out).encode("utf-8")


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO timestamp as aware UTC; a naive one is UTC (Kobo's _submission_time is)."""
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
