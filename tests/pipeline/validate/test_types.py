"""TYPE_001 and TYPE_002: answers of the wrong type, choices the form does not have."""

from __future__ import annotations

from tests.pipeline.validate.records import OUT, TRA, fired, issues, record


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
