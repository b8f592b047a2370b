"""The validation rule catalogue: every rule fires on a record that breaks it and stays quiet on
one that does not. Pure: data typed exactly as ingest types it, lookups built by hand.

Org units used (valid_to exclusive):
  province 51 (Quảng Ngãi), province 01 (Hà Nội)
  21025 in 51 from 2025-07-01, centroid 15.12 N 108.80 E
  21028 in 51 from 2025-07-01, no centroid
  00004 in 01 from 2025-07-01
  21999 in 51 from 2025-07-01 to 2026-01-01 (closed)
  21888 in 51 from 2026-09-01 (created later)
Register: QN-0001 active in 21025, QN-0002 closed in 21025, QN-0003 active in 21028.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pcmd.ingest.instance import typed_values
from pcmd.pipeline.validate.rules import (
    RULES,
    Finding,
    Issue,
    Lookups,
    OrgEra,
    RegisterEntry,
    RuleContext,
    check_record,
    duplicate_key,
    haversine_km,
    modified_z,
    rule_rows,
)
from tests.pipeline.instances import answers
from tests.server.collect import shipped_builds

D = dt.date
REFORM = D(2025, 7, 1)
TODAY = D(2026, 11, 23)


def eras() -> list[OrgEra]:
    return [
        OrgEra("VN", "country", None, REFORM, None),
        OrgEra("51", "province", "VN", REFORM, None),
        OrgEra("01", "province", "VN", REFORM, None),
        OrgEra("21025", "commune", "51", REFORM, None, 15.12, 108.80),
        OrgEra("21028", "commune", "51", REFORM, None),
        OrgEra("00004", "commune", "01", REFORM, None),
        OrgEra("21999", "commune", "51", REFORM, D(2026, 1, 1)),
        OrgEra("21888", "commune", "51", D(2026, 9, 1), None),
    ]


LOOKUPS = Lookups.build(
    eras(),
    {
        "QN-0001": RegisterEntry("active", "21025"),
        "QN-0002": RegisterEntry("closed", "21025"),
        "QN-0003": RegisterEntry("active", "21028"),
    },
)


@cache
def binds(form_id: str) -> dict[str, dict[str, Any]]:
    build = next(b for b in shipped_builds() if b.form_id == form_id)
    return {path: info.as_dict() for path, info in build.info.fields.items()}


def record(form_id: str, **changes: str) -> dict[str, Any]:
    """A submission's data as ingest stores it: the valid answers, some changed, typed."""
    return typed_values(answers(form_id, **changes), binds(form_id))


def context(form_id: str, **kw: Any) -> RuleContext:
    return RuleContext(form_id, LOOKUPS, kw.pop("today", TODAY), binds(form_id), **kw)


def fired(form_id: str, data: dict[str, Any], **kw: Any) -> set[tuple[str, str | None]]:
    return {(i.rule, i.field_path) for i in check_record(data, context(form_id, **kw))}


def issues(form_id: str, data: dict[str, Any], code: str, **kw: Any) -> list[Issue]:
    return [i for i in check_record(data, context(form_id, **kw)) if i.rule == code]


OUT, TRA, INS = "pcmd_outreach", "pcmd_training", "pcmd_inspection"


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue__codes_severities_and_messages() -> None:
    assert list(RULES) == [r["code"] for r in rule_rows()]
    errors = {code for code, r in RULES.items() if r.severity == "error"}
    assert errors == {
        "REQ_001", "TYPE_001", "TYPE_002", "RANGE_001", "RANGE_003", "DATE_001", "DATE_002",
        "PART_001", "GEO_001", "GEO_002", "GEO_003", "EST_001",
    }  # fmt: skip
    for r in RULES.values():
        assert r.severity in ("error", "warning")
        assert "Cách sửa:" in r.message_vi, r.code  # every message says how to fix it
        assert "Fix:" in r.message_en, r.code
        if r.code != "DUP_001":  # the one issue about the whole record
            assert r.message_vi.startswith("[{field}]"), r.code
            assert r.message_en.startswith("[{field}]"), r.code


def test_catalogue__every_rule_tested_here() -> None:
    """Each rule fires in a test below, and test_check_record__valid_record__no_issue is the
    record on which none of them fires."""
    source = Path(__file__).read_text(encoding="utf-8")
    # Error codes are also listed once in test_catalogue__codes_severities_and_messages.
    least = {code: 2 if rule.severity == "error" else 1 for code, rule in RULES.items()}
    assert [code for code in RULES if source.count(f'"{code}"') < least[code]] == []


def test_catalogue__missing_template_value__question_mark_not_crash() -> None:
    issue = RULES["PART_001"].render(Finding("reach/n_female", {"value": 50}))
    assert issue.message_en.startswith("[reach/n_female] reach/n_female = 50 is larger than ? = ?")


def test_issue__text__vietnamese_then_english() -> None:
    issue = Issue("X_001", "warning", None, "Tiếng Việt", "English")
    assert issue.text == "Tiếng Việt (English)"


@pytest.mark.parametrize("form_id", [OUT, TRA, INS])
def test_check_record__valid_record__no_issue(form_id: str) -> None:
    assert fired(form_id, record(form_id)) == set()


# --- required answers ------------------------------------------------------------------------


def test_req_001__missing_commune_and_count__error() -> None:
    data = record(OUT, where__commune="", reach__n_students="")
    assert {("REQ_001", "where/commune"), ("REQ_001", "reach/n_students")} <= fired(OUT, data)
    issue = issues(OUT, data, "REQ_001")[0]
    assert issue.severity == "error"
    assert issue.message_vi.startswith("[where/commune] Thiếu câu trả lời bắt buộc")
    assert "Fix: edit the submission in ODK Collect" in issue.message_en


def test_req_001__relevant_only_when_asked() -> None:
    # media_items is asked only for media channels; fine_vnd only for a fine.
    assert fired(OUT, record(OUT, media_items="")) == set()
    assert ("REQ_002", "media_items") in fired(OUT, record(OUT, channel="loa_dai", media_items=""))
    nothing = record(INS, findings__action="nhac_nho", findings__fine_vnd="")
    assert fired(INS, nothing) == set()
    assert ("REQ_001", "findings/fine_vnd") in fired(INS, record(INS, findings__fine_vnd=""))
    unknown = record(INS, establishment__known="no", establishment__id="")
    assert fired(INS, unknown) == {
        ("REQ_002", "establishment/name"),
        ("REQ_002", "establishment/address"),
    }


def test_req_002__missing_answer_no_indicator_reads__warning() -> None:
    assert fired(TRA, record(TRA, reporter_org="", topics="")) == {
        ("REQ_002", "reporter_org"),
        ("REQ_002", "topics"),
    }
    assert issues(TRA, record(TRA, topics=""), "REQ_002")[0].severity == "warning"


# --- types and choices -----------------------------------------------------------------------


def test_type_001__text_in_int_decimal_date__error() -> None:
    data = record(TRA, participants__n_police="năm", days="1,5", start_date="18/11/2026")
    assert fired(TRA, data) >= {
        ("TYPE_001", "participants/n_police"),
        ("TYPE_001", "days"),
        ("TYPE_001", "start_date"),
    }
    police = next(
        i for i in issues(TRA, data, "TYPE_001") if i.field_path == "participants/n_police"
    )
    assert police.message_en.startswith("[participants/n_police] The value 'năm' is not a whole")


def test_type_001__typed_values_and_text_fields__quiet() -> None:
    data = record(TRA, notes="12 người")  # free text is text
    assert all(rule != "TYPE_001" for rule, _ in fired(TRA, data))


def test_type_002__choice_not_in_form__error() -> None:
    data = record(OUT, channel="tivi", topics="phap_luat ma_tuy_x")
    assert ("TYPE_002", "channel") in fired(OUT, data)
    topic = next(i for i in issues(OUT, data, "TYPE_002") if i.field_path == "topics")
    assert "'ma_tuy_x'" in topic.message_en
    assert fired(OUT, record(OUT, channel="loa_dai", media_items="2")) == set()


# --- ranges ----------------------------------------------------------------------------------


def test_range_001__negative_count__error() -> None:
    data = record(INS, findings__n_workers_informed="-2")
    assert ("RANGE_001", "findings/n_workers_informed") in fired(INS, data)
    assert ("RANGE_001", "findings/n_workers_informed") not in fired(INS, record(INS))


def test_range_002__days_outside_half_to_thirty__warning() -> None:
    assert fired(TRA, record(TRA, days="0.25")) == {("RANGE_002", "days")}
    assert fired(TRA, record(TRA, days="45")) == {("RANGE_002", "days")}
    assert fired(TRA, record(TRA, days="0.5")) == set()
    assert fired(TRA, record(TRA, days="30")) == set()


def test_range_003__fine_zero_with_fine_action__error() -> None:
    assert ("RANGE_003", "findings/fine_vnd") in fired(INS, record(INS, findings__fine_vnd="0"))
    not_fined = record(INS, findings__action="canh_cao", findings__fine_vnd="0")
    assert not any(rule == "RANGE_003" for rule, _ in fired(INS, not_fined))


def test_fine_001__fine_typed_in_millions__warning() -> None:
    assert fired(INS, record(INS, findings__fine_vnd="15")) == {("FINE_001", "findings/fine_vnd")}
    assert fired(INS, record(INS, findings__fine_vnd="50000")) == set()  # the bound is not flagged


def test_fine_002__fine_with_extra_zeros__warning() -> None:
    assert fired(INS, record(INS, findings__fine_vnd="1500000000")) == {
        ("FINE_002", "findings/fine_vnd")
    }
    assert fired(INS, record(INS, findings__fine_vnd="200000000")) == set()


# --- dates -----------------------------------------------------------------------------------


def test_date_001__after_today__error() -> None:
    data = record(OUT, activity_date="2026-11-24")
    assert fired(OUT, data) == {("DATE_001", "activity_date")}
    assert "(2026-11-23)" in issues(OUT, data, "DATE_001")[0].message_en
    assert fired(OUT, record(OUT, activity_date="2026-11-23")) == set()


def test_date_002__before_2021__error() -> None:
    assert fired(INS, record(INS, inspection_date="2020-12-31")) == {
        ("DATE_002", "inspection_date")
    }
    assert fired(INS, record(INS, inspection_date="2021-01-01")) == set()


def test_date_003__district_organiser_after_reform__warning() -> None:
    assert fired(TRA, record(TRA, organizer_level="huyen", start_date="2025-07-01")) == {
        ("DATE_003", "organizer_level")
    }
    # before 1 July 2025 districts existed; the commune list says nothing about that time
    assert fired(TRA, record(TRA, organizer_level="huyen", start_date="2025-06-30")) == set()


# --- parts and wholes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form_id", "changes", "path", "whole", "total"),
    [
        # 0 + 0 + 40 + 5 = 45 people reached
        (OUT, {"reach__n_female": "46"}, "reach/n_female", "n_establishment_workers + "
         "n_industrial_workers + n_students + n_general", 45),
        # 2 + 20 + 5 + 10 + 3 = 40 participants
        (TRA, {"participants__n_female": "41"}, "participants/n_female", "n_province_staff + "
         "n_commune_staff + n_police + n_collaborators + n_other", 40),
        (TRA, {"participants__new_province_staff": "3"}, "participants/new_province_staff",
         "participants/n_province_staff", 2),
        (TRA, {"participants__new_commune_staff": "21"}, "participants/new_commune_staff",
         "participants/n_commune_staff", 20),
        (INS, {"findings__n_female_workers": "7"}, "findings/n_female_workers",
         "findings/n_workers", 6),
        (INS, {"findings__n_workers_informed": "7"}, "findings/n_workers_informed",
         "findings/n_workers", 6),
    ],
)  # fmt: skip
def test_part_001__part_above_whole__error(
    form_id: str, changes: dict[str, str], path: str, whole: str, total: int
) -> None:
    data = record(form_id, **changes)
    assert fired(form_id, data) == {("PART_001", path)}
    issue = issues(form_id, data, "PART_001")[0]
    value = data[path]
    assert issue.message_en.startswith(
        f"[{path}] {path} = {value} is larger than {whole} = {total}"
    )


def test_part_001__part_equal_to_whole__quiet() -> None:
    assert fired(OUT, record(OUT, reach__n_female="45")) == set()
    assert fired(INS, record(INS, findings__n_female_workers="6")) == set()


# --- place -----------------------------------------------------------------------------------


def test_geo_001__unknown_commune__error() -> None:
    assert fired(OUT, record(OUT, where__commune="99999")) == {("GEO_001", "where/commune")}
    assert fired(OUT, record(OUT, where__commune="51")) == {
        ("GEO_001", "where/commune")
    }  # a province


def test_geo_002__commune_of_another_province__error() -> None:
    data = record(OUT, where__commune="00004")
    assert fired(OUT, data) == {("GEO_002", "where/commune")}
    assert "belongs to province 01, not to the chosen province 51" in (
        issues(OUT, data, "GEO_002")[0].message_en
    )
    assert fired(OUT, record(OUT, where__commune="21028")) == set()


def test_geo_003__commune_closed_before_activity__error() -> None:
    data = record(OUT, where__commune="21999", activity_date="2026-03-01", location="")
    assert fired(OUT, data) == {("GEO_003", "where/commune")}
    assert "ceased to exist on 2026-01-01" in issues(OUT, data, "GEO_003")[0].message_en
    still_open = record(OUT, where__commune="21999", activity_date="2025-12-31", location="")
    assert fired(OUT, still_open) == set()


def test_geo_004__commune_created_after_activity__warning() -> None:
    data = record(OUT, where__commune="21888", activity_date="2026-08-31", location="")
    assert fired(OUT, data) == {("GEO_004", "where/commune")}
    assert fired(OUT, record(OUT, where__commune="21888", location="")) == set()  # 2026-11-20


def test_geo_004__before_the_list_begins__quiet() -> None:
    """The 2025 list says nothing about 2024: a past activity under today's commune is fine."""
    assert fired(OUT, record(OUT, activity_date="2024-05-01")) == set()


def test_geo_005__location_far_from_centroid__warning() -> None:
    # 0.38° of latitude is 0.38 × 111.195 = 42.3 km from 15.12 N 108.80 E
    data = record(OUT, location="15.50 108.80 10 5")
    assert fired(OUT, data) == {("GEO_005", "location")}
    assert (
        "about 42 km from the centre of commune 21025" in issues(OUT, data, "GEO_005")[0].message_en
    )
    # 0.25° is 27.8 km: inside 30 km
    assert fired(OUT, record(OUT, location="15.37 108.80 10 5")) == set()


def test_geo_005__commune_without_centroid__skipped() -> None:
    assert fired(OUT, record(OUT, where__commune="21028", location="10.0 106.0 0 5")) == set()


def test_geo_006__invalid_location__warning() -> None:
    assert fired(OUT, record(OUT, location="0 0 0 0")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="95 108 0 0")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="gần chợ")) == {("GEO_006", "location")}
    assert fired(OUT, record(OUT, location="")) == set()


def test_haversine_km__one_degree_of_latitude() -> None:
    assert haversine_km(15.0, 108.0, 16.0, 108.0) == pytest.approx(111.195, abs=0.001)


# --- the register ----------------------------------------------------------------------------


def test_est_001__register_id_unknown__error() -> None:
    data = record(INS, establishment__id="QN-9999")
    assert fired(INS, data) == {("EST_001", "establishment/id")}
    not_known = record(
        INS,
        establishment__known="no",
        establishment__id="QN-9999",
        establishment__name="Karaoke Mới",
        establishment__address="1 Trần Phú",
    )
    assert fired(INS, not_known) == set()  # a new establishment proposed, not a register id


def test_est_002__register_entry_closed__warning() -> None:
    assert fired(INS, record(INS, establishment__id="QN-0002")) == {("EST_002", "establishment/id")}


def test_est_003__register_entry_of_another_commune__warning() -> None:
    data = record(INS, establishment__id="QN-0003")
    assert fired(INS, data) == {("EST_003", "establishment/id")}
    assert "registered in commune 21028, but the submission says 21025" in (
        issues(INS, data, "EST_003")[0].message_en
    )


# --- plausibility ----------------------------------------------------------------------------


def test_media_001__media_channel_without_items__warning() -> None:
    assert fired(OUT, record(OUT, channel="bao_chi", media_items="0")) == {
        ("MEDIA_001", "media_items")
    }
    assert fired(OUT, record(OUT, channel="bao_chi", media_items="1")) == set()
    assert fired(OUT, record(OUT, channel="hoi_nghi", media_items="0")) == set()


def test_cons_001__sanction_without_violation__warning() -> None:
    data = record(INS, findings__violation="no", findings__violation_types="")
    assert fired(INS, data) == {("CONS_001", "findings/action")}
    reminder = record(INS, findings__violation="no", findings__violation_types="",
                      findings__action="nhac_nho", findings__fine_vnd="")  # fmt: skip
    assert fired(INS, reminder) == set()


# --- across records --------------------------------------------------------------------------


def test_dup_001__earlier_same_activity__warning_names_it() -> None:
    data = record(OUT)
    found = issues(OUT, data, "DUP_001", duplicate_of="uuid:earlier-0001")
    assert [(i.field_path, i.severity) for i in found] == [(None, "warning")]
    assert "same form, commune, date and counts as uuid:earlier-0001" in found[0].message_en
    assert issues(OUT, data, "DUP_001") == []


def test_duplicate_key__counts_and_place_matter() -> None:
    base = duplicate_key(OUT, record(OUT))
    assert base == duplicate_key(OUT, record(OUT, reporter_org="mttq", deviceid="collect:other"))
    assert base != duplicate_key(OUT, record(OUT, reach__n_general="6"))
    assert base != duplicate_key(OUT, record(OUT, where__commune="21028"))
    assert base != duplicate_key(OUT, record(OUT, activity_date="2026-11-19"))
    # two inspections of different establishments with the same head counts are not one
    assert duplicate_key(INS, record(INS)) != duplicate_key(
        INS, record(INS, establishment__id="QN-0003")
    )
    assert duplicate_key(OUT, record(OUT, where__commune="")) is None


# Ten earlier records: median 11; absolute deviations 2,1,1,1,0,0,1,1,1,2 → MAD 1.
HISTORY = (10.0, 12.0, 11.0, 13.0, 9.0, 10.0, 12.0, 11.0, 10.0, 12.0)


def test_out_001__far_above_commune_median__warning() -> None:
    # 22 people: 0.6745 × (22 − 11) / 1 = 7.4 > 3.5, twice the median, 11 above it
    data = record(OUT, reach__n_students="17", reach__n_general="5", reach__n_female="10")
    found = issues(OUT, data, "OUT_001", history=HISTORY)
    assert [i.field_path for i in found] == ["reach/n_total"]
    assert "A total of 22 is unusually large against the commune's 10 earlier records " in (
        found[0].message_en
    )
    assert "(median 11.0, modified z-score 7.4)" in found[0].message_en


def test_out_001__not_twice_the_median_or_short_history__quiet() -> None:
    data = record(OUT, reach__n_students="16", reach__n_general="5", reach__n_female="10")  # 21
    assert issues(OUT, data, "OUT_001", history=HISTORY) == []
    big = record(OUT, reach__n_students="400", reach__n_female="10")
    assert issues(OUT, big, "OUT_001", history=HISTORY[:9]) == []  # 9 records: too few
    assert len(issues(OUT, big, "OUT_001", history=HISTORY)) == 1


def test_out_001__small_counts_need_ten_more__quiet() -> None:
    history = (2.0, 3.0, 2.0, 2.0, 3.0, 2.0, 3.0, 2.0, 2.0, 3.0)  # median 2
    assert issues(INS, record(INS, findings__n_workers="11", findings__n_female_workers="4"),
                  "OUT_001", history=history) == []  # fmt: skip
    assert len(issues(INS, record(INS, findings__n_workers="12"), "OUT_001", history=history)) == 1


def test_modified_z__no_spread__mean_deviation_then_infinite() -> None:
    # MAD 0 (8 of 10 equal): mean absolute deviation (0+…+10+10)/10 = 2 → z = 20/(1.253314×2)
    history = [10.0] * 8 + [20.0, 0.0]
    assert modified_z(30.0, history) == pytest.approx(20 / (1.253314 * 2))
    assert modified_z(30.0, [10.0] * 10) == float("inf")
    assert modified_z(10.0, [10.0] * 10) == 0.0
