"""ODK's own Python client, pyodk, pointed at a running pcmd by a config file as an analyst
writes it: it signs in (POST /v1/sessions), reads projects, forms, a form's submissions as a
table (OData) and as a list (REST), one submission, its XML and its attachments — checked
against the submissions of conftest.py."""

from __future__ import annotations

from pathlib import Path

from pyodk.client import Client

from tests.server.central.conftest import PASSWORD, Reading
from tests.server.collect import JPEG


def client_for(reading: Reading, tmp_path: Path, username: str) -> Client:
    config = tmp_path / f"{username}.toml"
    config.write_text(
        "[central]\n"
        f'base_url = "{reading.server.url}"\n'
        f'username = "{username}"\n'
        f'password = "{PASSWORD}"\n'
        "default_project_id = 1\n",
        encoding="utf-8",
    )
    return Client(config_path=config, cache_path=tmp_path / f"{username}.cache.toml")


def test_pyodk__get_table_and_list__the_stored_submissions(
    reading: Reading, tmp_path: Path
) -> None:
    by_id = {v: k for k, v in reading.ids.items()}
    with client_for(reading, tmp_path, "admin") as client:
        assert [p.id for p in client.projects.list()] == [1]
        forms = {f.xmlFormId: f for f in client.forms.list()}
        assert forms["pcmd_outreach"].version == "2026112301"
        table = client.submissions.get_table(form_id="pcmd_outreach", count=True)
        assert table["@odata.count"] == 5
        rows = {by_id[r["__id"]]: r for r in table["value"]}
        assert list(rows) == ["E", "D", "C", "B", "A"]
        assert {k: r["reach"]["n_students"] for k, r in rows.items()} == {
            "E": 50, "D": 40, "C": 30, "B": 25, "A": 10,
        }  # fmt: skip
        listed = client.submissions.list(form_id="pcmd_outreach")
        assert [by_id[s.instanceId] for s in listed] == ["E", "D", "C", "B", "A"]
        assert {by_id[s.instanceId]: s.reviewState for s in listed} == {
            "E": "approved", "D": "hasIssues", "C": "rejected", "B": "edited", "A": "approved",
        }  # fmt: skip
        assert all(s.submitterId > 0 for s in listed)
        one = client.submissions.get(form_id="pcmd_outreach", instance_id=reading.ids["A"])
        assert one.createdAt.isoformat() == "2026-01-10T10:00:00+00:00"
        assert one.instanceName == "2026-11-20 - Phường Cẩm Thành"
        # a page of the table as pyodk's users page it: $top, then the nextLink
        page = client.submissions.get_table(form_id="pcmd_outreach", top=3)
        assert [by_id[r["__id"]] for r in page["value"]] == ["E", "D", "C"]
        rest = client.get(page["@odata.nextLink"]).json()
        assert [by_id[r["__id"]] for r in rest["value"]] == ["B", "A"]
        filtered = client.submissions.get_table(
            form_id="pcmd_outreach", filter="__system/reviewState eq 'approved'", wkt=True
        )
        assert [by_id[r["__id"]] for r in filtered["value"]] == ["E", "A"]
        assert filtered["value"][1]["location"] == "POINT (108.8 15.12 12)"
        base = f"projects/1/forms/pcmd_outreach/submissions/{reading.ids['A']}"
        assert client.get(f"{base}/attachments").json() == [{"name": "p.jpg", "exists": True}]
        photo = client.get(f"{base}/attachments/p.jpg")
        assert photo.status_code == 200
        assert photo.content == JPEG
        assert photo.headers["content-type"] == "image/jpeg"
        assert photo.headers["x-content-type-options"] == "nosniff"
        xml = client.get(f"{base}.xml")
        assert f"<instanceID>{reading.ids['A']}</instanceID>" in xml.text


def test_pyodk__province_reader__only_their_province(reading: Reading, tmp_path: Path) -> None:
    by_id = {v: k for k, v in reading.ids.items()}
    with client_for(reading, tmp_path, "minh.dng") as client:
        table = client.submissions.get_table(form_id="pcmd_outreach")
        assert [by_id[r["__id"]] for r in table["value"]] == ["E"]
        listed = client.submissions.list(form_id="pcmd_outreach")
        assert [by_id[s.instanceId] for s in listed] == ["E"]
        outside = client.get(
            f"projects/1/forms/pcmd_outreach/submissions/{reading.ids['A']}/attachments/p.jpg"
        )
        assert outside.status_code == 404
        assert outside.json()["code"] == 404.1


def test_rest__projects_forms_and_fields__as_central(reading: Reading, tmp_path: Path) -> None:
    with client_for(reading, tmp_path, "xa.21028") as client:
        project = client.get("projects/1").json()
        assert project["id"] == 1
        assert project["archived"] is False
        form = client.get("projects/1/forms/pcmd_outreach").json()
        assert form["xmlFormId"] == "pcmd_outreach"
        assert form["state"] == "open"
        assert form["enketoId"] is None
        xml = client.forms.get_xml(form_id="pcmd_outreach")
        assert 'id="pcmd_outreach"' in xml
        fields = {f["path"]: f for f in client.get("projects/1/forms/pcmd_outreach/fields").json()}
        assert fields["/reach"]["type"] == "structure"
        assert fields["/reach/n_students"] == {
            "name": "n_students",
            "path": "/reach/n_students",
            "type": "int",
            "binary": None,
            "selectMultiple": None,
        }
        assert fields["/topics"]["selectMultiple"] is True
        assert fields["/photo"]["binary"] is True
        missing = client.get("projects/1/forms/no_such_form")
        assert missing.status_code == 404
        assert missing.json()["code"] == 404.1
