"""Reading instance XML: refuse DTDs and entities, type values by the form's binds."""

from __future__ import annotations

import pytest

from pcmd.errors import IngestError
from pcmd.ingest.instance import parse_instance, type_value, typed_values

IID = "uuid:6f1c2b1e-6a8e-4a51-9a8c-0d2b7c3e9f10"


def _xml(body: str, root: str = 'id="pcmd_outreach" version="2026112301"') -> bytes:
    return (
        f'<?xml version="1.0"?><pcmd_outreach {root}>{body}'
        f"<meta><instanceID>{IID}</instanceID></meta></pcmd_outreach>"
    ).encode()


def test_parse_instance__groups_flattened_to_paths() -> None:
    inst = parse_instance(_xml("<reach><n_students>12</n_students></reach><notes/>"))
    assert (inst.form_id, inst.version, inst.instance_id) == (
        "pcmd_outreach",
        "2026112301",
        IID,
    )
    assert inst.values["reach/n_students"] == "12"
    assert inst.values["notes"] == ""
    assert inst.deprecated_id is None


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x id="f">&a;</x>',
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.org/x.dtd"><x id="f"/>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    ],
)
def test_parse_instance__dtd_or_entities__refused(doc: bytes) -> None:
    with pytest.raises(IngestError, match="DTD or entities") as err:
        parse_instance(doc)
    assert err.value.status == 400


def test_parse_instance__utf16_hiding_a_doctype__refused() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(IngestError) as err:
        parse_instance(doc.encode("utf-16"))
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        (b"<x id='f'><unclosed></x>", "malformed"),
        (_xml("", root='version="1"'), "no id attribute"),
        (b"<x id='f'><meta><instanceID>short</instanceID></meta></x>", "meta/instanceID"),
    ],
)
def test_parse_instance__bad_documents__400(doc: bytes, needle: str) -> None:
    with pytest.raises(IngestError, match=needle) as err:
        parse_instance(doc)
    assert err.value.status == 400


@pytest.mark.parametrize(
    ("text", "bind", "control", "expected"),
    [
        ("12", "int", "input", 12),
        ("1.5", "decimal", "input", 1.5),
        ("mười", "int", "input", "mười"),  # kept as sent: validation names it
        ("2026-11-20", "date", "input", "2026-11-20"),
        ("phap_luat hiv_sti", "string", "select", ["phap_luat", "hiv_sti"]),
        ("hoi_nghi", "string", "select1", "hoi_nghi"),
        ("15.12 108.8 12.0 5.0", "geopoint", "input", [15.12, 108.8, 12.0, 5.0]),
        ("", "int", "input", None),
    ],
)
def test_type_value__by_bind(text: str, bind: str, control: str, expected: object) -> None:
    assert type_value(text, bind, control) == expected


def test_typed_values__unknown_path_kept_as_text() -> None:
    fields = {"reach/n_students": {"type": "int", "control": "input"}}
    got = typed_values({"reach/n_students": "7", "extra": "x", "empty": ""}, fields)
    assert got == {"reach/n_students": 7, "extra": "x", "empty": None}
