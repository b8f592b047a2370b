"""Record → instance XML: the rebuilt XML reads back through the one parser to what the record
said, and the fast rebuild equals the plain tree walk on every shape."""

from __future__ import annotations

import random

import pytest

from pcmd.errors import IngestError
from pcmd.ingest.instance import parse_instance, typed_values
from pcmd.sync import central, kobo
from pcmd.sync.rebuild import FormSpec, rebuild, rebuild_xml, rebuild_xml_slow
from tests.sync.fakes.central import outreach_row
from tests.sync.fakes.kobo import outreach_answers

FIELDS = {
    "start": {"type": "dateTime"},
    "where/province": {"type": "string", "control": "select1"},
    "where/commune": {"type": "string", "control": "select1"},
    "topics": {"type": "string", "control": "select"},
    "reach/n_students": {"type": "int", "control": "input"},
    "reach/n_total": {"type": "string", "calculate": True},
    "days": {"type": "decimal", "control": "input"},
    "photo": {"type": "binary", "control": "upload"},
    "location": {"type": "geopoint", "control": "input"},
    "notes": {"type": "string", "control": "input"},
    "meta/instanceID": {"type": "string"},
    "meta/instanceName": {"type": "string", "calculate": True},
}
FORM = FormSpec("pcmd_outreach", "2026112301", FIELDS)


def test_rebuild_xml__kobo_record__exact_xml() -> None:
    record = {
        "_id": 17,
        "where/commune": "21025",
        "topics": "phap_luat hiv_sti",
        "reach/n_students": "40",
        "notes": "Hội nghị <xã> & thôn",
        "formhub/uuid": "57e6fd0b4065443280c9641be5670e89",
        "meta/instanceID": "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f",
        "meta/rootUuid": "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f",
        "__version__": "vHNo5vFh3KoB7LWhucUkFy",
        "_validation_status": {},
    }
    xml = rebuild_xml(FORM, kobo.answers(record)).decode()
    assert xml == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<pcmd_outreach id="pcmd_outreach" version="2026112301"><start/>'
        "<where><province/><commune>21025</commune></where><topics>phap_luat hiv_sti</topics>"
        "<reach><n_students>40</n_students><n_total/></reach><days/><photo/><location/>"
        "<notes>Hội nghị &lt;xã&gt; &amp; thôn</notes>"
        "<meta><instanceID>uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f</instanceID><instanceName/><rootUuid>uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f</rootUuid></meta>"
        "<formhub><uuid>57e6fd0b4065443280c9641be5670e89</uuid></formhub>"
        "<__version__>vHNo5vFh3KoB7LWhucUkFy</__version__></pcmd_outreach>"
    )
    inst = parse_instance(xml.encode())
    assert (inst.form_id, inst.version, inst.instance_id) == (
        "pcmd_outreach",
        "2026112301",
        "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f",
    )
    data = typed_values(inst.values, FIELDS)
    assert data["reach/n_students"] == 40
    assert data["topics"] == ["phap_luat", "hiv_sti"]
    assert data["notes"] == "Hội nghị <xã> & thôn"
    assert data["days"] is None


def test_central_row__same_typed_values_as_kobo_record() -> None:
    """The same answers through both servers' JSON give the same typed data."""
    from tests.server.collect import shipped_builds

    fields = {
        p: f.as_dict()
        for b in shipped_builds()
        if b.form_id == "pcmd_outreach"
        for p, f in b.info.fields.items()
    }
    form = FormSpec("pcmd_outreach", "2026112301", fields)
    iid = "uuid:9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    via_kobo = kobo.to_remote({"_id": 5, **outreach_answers(iid, photo="p.jpg")}, form)
    via_central = central.to_remote(
        {"__id": iid, "__system": {}, **outreach_row(iid, photo="p.jpg")}, form, "u"
    )

    def typed(xml: bytes) -> dict[str, object]:
        return typed_values(parse_instance(xml).values, fields)

    assert typed(via_kobo.xml) == typed(via_central.xml)
    assert typed(via_kobo.xml)["location"] == [15.12, 108.8, 12.0, 5.0]


def _random_record(rng: random.Random) -> dict[str, object]:
    keys = [
        *FIELDS, "formhub/uuid", "meta/rootUuid", "meta/deprecatedID", "__version__",
        "extra/deep/key", "where", "reach/n_students/x", "bad key", "1x", "a:b", "grp",
    ]  # fmt: skip
    record: dict[str, object] = {}
    for key in rng.sample(keys, rng.randint(0, len(keys))):
        choice = rng.random()
        if key == "grp":
            record[key] = [
                {"grp/q": "1", "grp/inner": [{"grp/inner/x": "y"}, {"grp/inner/x": "z"}]},
                {"grp/q": "<2>"},
            ]
        elif choice < 0.05:  # a repeat anywhere, even where the form has a question
            record[key] = [{f"{key}/a": "1", f"{key}/b": ""}, {f"{key}/a": "2&"}]
        elif choice < 0.1:
            record[key] = None
        elif choice < 0.2:
            record[key] = rng.choice([True, False, 3, 2.5, {"a": 1}])
        elif choice < 0.3:
            record[key] = ""
        else:
            record[key] = rng.choice(
                [
                    "40",
                    "a & b",
                    "x<y",
                    "Phường Cẩm Thành",
                    "uuid:1",
                    "  padded \t",
                    "two\r\nlines\rthree",
                    "]]> end",
                    "bell\x07",
                    "\u00a0nbsp\u2003",
                    "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f",
                ]
            )
    return record


@pytest.mark.parametrize("seed", range(5))
def test_rebuild_xml__fast_equals_plain_walk__random_records(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        record = _random_record(rng)
        assert rebuild_xml(FORM, record) == rebuild_xml_slow(FORM, record), record


@pytest.mark.parametrize("seed", range(5))
def test_rebuild__instance_given_equals_parse_of_its_xml__random_records(seed: int) -> None:
    """What a pull hands ingest instead of parsing is exactly what parsing would give."""
    rng = random.Random(100 + seed)
    given = 0
    for _ in range(400):
        record = _random_record(rng)
        if rng.random() < 0.7:  # most records carry a valid instanceID
            record["meta/instanceID"] = "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f"
        xml, instance = rebuild(FORM, record)
        try:
            parsed = parse_instance(xml)
        except IngestError:
            assert instance is None, record
            continue
        if instance is not None:
            given += 1
            assert instance == parsed, record
    assert given >= 50  # the shortcut is really taken (76–90 of 400 per seed)


def test_rebuild__plain_text_record__exact_xml_and_instance() -> None:
    """A record of plain text (nothing to escape: the common case, built from the compiled
    slots) gives the XML and the values worked out by hand."""
    iid = "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f"
    record = {
        "where/commune": "21025",
        "topics": "phap_luat hiv_sti",
        "notes": "  Phường Cẩm Thành ",
        "meta/instanceID": iid,
        "formhub/uuid": "57e6",
    }
    xml, instance = rebuild(FORM, record)
    assert xml.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<pcmd_outreach id="pcmd_outreach" version="2026112301"><start/>'
        "<where><province/><commune>21025</commune></where><topics>phap_luat hiv_sti</topics>"
        "<reach><n_students/><n_total/></reach><days/><photo/><location/>"
        "<notes>  Phường Cẩm Thành </notes>"
        f"<meta><instanceID>{iid}</instanceID><instanceName/></meta>"
        "<formhub><uuid>57e6</uuid></formhub></pcmd_outreach>"
    )
    assert xml == rebuild_xml_slow(FORM, record)
    assert instance is not None
    assert (instance.instance_id, instance.deprecated_id) == (iid, None)
    assert instance.values["notes"] == "Phường Cẩm Thành"
    assert instance.values["start"] == ""
    assert instance.values["formhub/uuid"] == "57e6"
    assert instance == parse_instance(xml)


@pytest.mark.parametrize("seed", range(3))
def test_rebuild__plain_text_records__fast_equals_plain_walk_and_parse(seed: int) -> None:
    """Records whose values are all text, with and without what must be escaped, the XML
    refuses or line ends: the compiled path and the value-by-value one agree."""
    rng = random.Random(200 + seed)
    texts = ["40", "", " ", "a & b", "x<y", "two\r\nlines", "bell\x07", "Cẩm Thành", "\u2003"]
    keys = [*FIELDS, "formhub/uuid", "meta/rootUuid", "__version__", "extra/deep/key"]
    for _ in range(300):
        record: dict[str, object] = {
            key: rng.choice(texts) for key in rng.sample(keys, rng.randint(0, len(keys)))
        }
        record["meta/instanceID"] = "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f"
        xml, instance = rebuild(FORM, record)
        assert xml == rebuild_xml_slow(FORM, record), record
        try:
            parsed = parse_instance(xml)
        except IngestError:
            assert instance is None, record
            continue
        assert instance is None or instance == parsed, record


def test_kobo_to_remote__record_read_in_place__same_as_through_answers() -> None:
    """to_remote reads a record's nodes in place when it may: the XML and instance are those
    of rebuild(answers(record)), also for the records it may not (no or an empty
    meta/instanceID, a form field answers drops, a key order not seen before)."""
    iid = "uuid:4f3b1c2e-8d9a-4b7c-9e1f-2a3b4c5d6e7f"
    underscored = FormSpec("pcmd_outreach", "2026112301", {**FIELDS, "_hidden": {}})
    base = {
        "_id": 17,
        "where/commune": "21025",
        "formhub/uuid": "57e6",
        "meta/instanceID": iid,
        "_hidden": "x",
        "__version__": "v1",
        "_uuid": iid.removeprefix("uuid:"),
    }
    records = [
        base,
        {**base, "meta/instanceID": ""},
        {k: v for k, v in base.items() if k != "meta/instanceID"},
        dict(reversed(base.items())),
        {**base, "notes": "a & b"},
    ]
    for form in (FORM, underscored, FORM):  # FORM twice: its shapes noted, then reused
        for record in records:
            remote = kobo.to_remote(record, form)
            assert (remote.xml, remote.instance) == rebuild(form, kobo.answers(record)), record
    assert b"<_hidden/>" in kobo.to_remote(base, underscored).xml  # answers drops it
    assert kobo.to_remote(records[2], FORM).instance_id == iid  # `uuid:` + `_uuid`
