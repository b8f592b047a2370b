"""The EDMX `$metadata` and the service document: parsed as XML and checked against CSDL 4.0
as Central writes it — namespaces, entity types, keys, complex types for groups, a navigation
property and entity set per repeat, and service-document names equal to the entity sets."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
from defusedxml import ElementTree as SafeET
from odata import ODataService
from requests.auth import HTTPBasicAuth

from pcmd.forms.convert import convert_workbook
from pcmd.server.central.odata_metadata import edmx, service_document
from pcmd.server.central.odata_rows import System, submission_row
from pcmd.server.central.schema import Field, form_fields, sanitize
from tests.server.central.conftest import PASSWORD, Reading, utc
from tests.server.collect import shipped_builds

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"

HOUSEHOLD_FORM = """
| survey |
| | type | name | label |
| | text | village | Thôn |
| | begin_group | hh | Hộ |
| | integer | size | Số người |
| | begin_repeat | people | Người |
| | integer | age | Tuổi |
| | begin_repeat | visits | Lần |
| | date | when | Ngày |
| | end_repeat | | |
| | end_repeat | | |
| | end_group | | |
| | geopoint | spot | Vị trí |
| settings |
| | form_id | version |
| | hh-visit | 1 |
"""


def household_fields() -> tuple[Field, ...]:
    build = convert_workbook(HOUSEHOLD_FORM.encode(), "hh.md", validate=False)
    return form_fields(build.xform)


def schemas(text: str) -> dict[str, ET.Element]:
    root = SafeET.fromstring(text)
    assert root.tag == f"{EDMX}Edmx"
    assert root.get("Version") == "4.0"
    services = root.find(f"{EDMX}DataServices")
    assert services is not None
    return {s.get("Namespace", ""): s for s in services.findall(f"{EDM}Schema")}


def properties(element: ET.Element) -> dict[str, str]:
    return {p.get("Name", ""): p.get("Type", "") for p in element.findall(f"{EDM}Property")}


def test_schema__repeats_and_groups__depth_first_kinds() -> None:
    fields = household_fields()
    kinds = {f.path: f.kind for f in fields}
    assert kinds["hh"] == "structure"
    assert kinds["hh/people"] == "repeat"
    assert kinds["hh/people/visits"] == "repeat"
    assert kinds["hh/people/visits/when"] == "date"
    assert kinds["hh/size"] == "int"
    assert kinds["spot"] == "geopoint"
    paths = [f.path for f in fields]
    assert paths.index("hh") < paths.index("hh/size") < paths.index("hh/people/age")
    assert paths.count("hh/people") == 1  # the template and the instance are one field


def test_sanitize__as_central() -> None:
    assert sanitize("hh-visit") == "hh_visit"
    assert sanitize("1st") == "_1st"
    assert sanitize("a b.c") == "a_b_c"


def test_edmx__repeats__entity_types_keys_navigation_and_parent_links() -> None:
    found = schemas(edmx("hh-visit", household_fields()))
    assert set(found) == {"org.opendatakit.submission", "org.opendatakit.user.hh_visit"}
    system = found["org.opendatakit.submission"].find(f"{EDM}ComplexType[@Name='metadata']")
    assert system is not None
    assert properties(system)["reviewState"] == "org.opendatakit.submission.ReviewState"
    user = found["org.opendatakit.user.hh_visit"]
    entities = {e.get("Name"): e for e in user.findall(f"{EDM}EntityType")}
    assert list(entities) == [
        "Submissions",
        "Submissions.hh.people",
        "Submissions.hh.people.visits",
    ]
    for entity in entities.values():
        key = entity.find(f"{EDM}Key/{EDM}PropertyRef")
        assert key is not None
        assert key.get("Name") == "__id"
    root = entities["Submissions"]
    assert properties(root)["__system"] == "org.opendatakit.submission.metadata"
    assert properties(root)["hh"] == "org.opendatakit.user.hh_visit.hh"
    assert properties(root)["spot"] == "Edm.GeographyPoint"
    people = entities["Submissions.hh.people"]
    assert properties(people)["__Submissions-id"] == "Edm.String"
    assert properties(people)["age"] == "Edm.Int64"
    visits = entities["Submissions.hh.people.visits"]
    assert properties(visits)["__Submissions-hh-people-id"] == "Edm.String"
    assert properties(visits)["when"] == "Edm.Date"
    group = user.find(f"{EDM}ComplexType[@Name='hh']")
    assert group is not None
    assert properties(group)["size"] == "Edm.Int64"
    navigation = {n.get("Name"): n.get("Type") for n in group.findall(f"{EDM}NavigationProperty")}
    assert navigation == {
        "people": "Collection(org.opendatakit.user.hh_visit.Submissions.hh.people)"
    }
    nested = {n.get("Name"): n.get("Type") for n in people.findall(f"{EDM}NavigationProperty")}
    assert nested == {
        "visits": "Collection(org.opendatakit.user.hh_visit.Submissions.hh.people.visits)"
    }
    container = user.find(f"{EDM}EntityContainer")
    assert container is not None
    assert container.get("Name") == "hh-visit"
    sets = [s.get("Name") for s in container.findall(f"{EDM}EntitySet")]
    assert sets == list(entities)
    document = service_document("http://x/$metadata", household_fields())
    assert [v["name"] for v in document["value"]] == sets  # Power BI needs the same names


def test_edmx__shipped_forms__every_entity_type_in_a_set_and_types_resolve() -> None:
    for build in shipped_builds():
        fields = form_fields(build.xform)
        text = edmx(build.info.form_id, fields)
        found = schemas(text)
        user = found[f"org.opendatakit.user.{sanitize(build.info.form_id)}"]
        declared = {
            f"{ns}.{t.get('Name')}"
            for ns, schema in found.items()
            for t in schema
            if t.tag in (f"{EDM}ComplexType", f"{EDM}EntityType", f"{EDM}EnumType")
        }
        for prop in user.iter(f"{EDM}Property"):
            kind = prop.get("Type", "")
            assert kind.startswith("Edm.") or kind in declared, (build.info.form_id, kind)


def test_metadata_endpoint__xml_over_http_with_odata_version(reading: Reading) -> None:
    response = httpx.get(f"{reading.base}/$metadata", auth=("hoa.qng", PASSWORD), timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["OData-Version"] == "4.0"
    user = schemas(response.text)["org.opendatakit.user.pcmd_outreach"]
    root = user.find(f"{EDM}EntityType[@Name='Submissions']")
    assert root is not None
    assert properties(root)["reach"] == "org.opendatakit.user.pcmd_outreach.reach"
    reach = user.find(f"{EDM}ComplexType[@Name='reach']")
    assert reach is not None
    assert properties(reach)["n_students"] == "Edm.Int64"
    service = httpx.get(reading.base, auth=("hoa.qng", PASSWORD), timeout=30).json()
    assert service == {
        "@odata.context": f"{reading.base}/$metadata",
        "value": [{"name": "Submissions", "kind": "EntitySet", "url": "Submissions"}],
    }


def test_metadata__an_odata_v4_client__reflects_and_reads_rows(reading: Reading) -> None:
    """python-odata builds its entity classes from $metadata alone, then queries the rows."""
    auth = HTTPBasicAuth(b"hoa.qng", PASSWORD.encode())  # requests sends latin-1 text only
    service = ODataService(
        f"{reading.base}/", reflect_entities=True, auth=auth, quiet_progress=True
    )
    assert list(service.entities) == ["Submissions"]
    rows = service.query(service.entities["Submissions"]).limit(2).all()
    assert [r.__odata__["__id"] for r in rows] == [reading.ids["D"], reading.ids["C"]]


def test_form_fields__support_log__the_stored_key_not_the_four_answers() -> None:
    # Ingest replaces the four UIC answers by uic/key; a reader is told of what is stored.
    (support,) = (b for b in shipped_builds() if b.form_id == "pcmd_support")
    fields = form_fields(support.xform)
    paths = [f.path for f in fields]
    assert "uic" in paths
    assert "uic/key" in paths
    for answer in ("uic/mother_initial", "uic/father_initial", "uic/birth_year", "uic/sex"):
        assert answer not in paths
    assert paths.index("uic/key") == paths.index("uic") + 1
    assert 'Name="key" Type="Edm.String"' in edmx("pcmd_support", fields)
    assert "mother_initial" not in edmx("pcmd_support", fields)
    system = System(utc("2026-05-04T03:00:00"), None, 7, "tnv-21025", 0, 0, "", None, 0, "1")
    key = "5f" * 32
    row = submission_row("uuid:s1", system, fields, {"uic/key": key, "service_date": "2026-05-04"})
    assert row["uic"] == {"key": key}
