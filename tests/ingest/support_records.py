"""A pcmd_support record (DESIGN §6b) as each route carries it: Collect's XML, Kobo's flat
answers, Central's nested OData row. The UIC answers are the person's; tests look for them."""

from __future__ import annotations

from typing import Any

from tests.server.collect import COMMUNE, PROVINCE

VERSION = "2026120701"
# Chosen to appear nowhere else: no form, date or count in these tests holds 1979.
BIRTH_YEAR = "1979"


def support_answers(
    instance_id: str,
    *,
    mother: str = "Đ",
    father: str = "x",
    year: str = BIRTH_YEAR,
    sex: str = "nu",
    commune: str = COMMUNE,
    in_need: str = "yes",
) -> dict[str, str]:
    """Flat `group/question` answers (Kobo's shape)."""
    return {
        "start": "2026-11-20T08:00:00.000+07:00",
        "end": "2026-11-20T08:20:00.000+07:00",
        "today": "2026-11-20",
        "deviceid": "collect:AbCdEfGh12345678",
        "username": "cong_tac_xa_hoi",
        "where/province": PROVINCE,
        "where/commune": commune,
        "reporter_org": "phu_nu",
        "service_date": "2026-11-20",
        "uic/mother_initial": mother,
        "uic/father_initial": father,
        "uic/birth_year": year,
        "uic/sex": sex,
        "in_need_eligible": in_need,
        "services": "y_te xet_nghiem",
        "provider": "nhom_dong_dang",
        "meta/instanceID": instance_id,
    }


def support_xml(instance_id: str, **kwargs: Any) -> bytes:
    """The instance XML Collect sends."""
    answers = support_answers(instance_id, **kwargs)
    a = answers.__getitem__
    return (
        '<?xml version="1.0"?><pcmd_support xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="pcmd_support" version="{VERSION}">'
        f"<start>{a('start')}</start><end>{a('end')}</end><today>{a('today')}</today>"
        f"<deviceid>{a('deviceid')}</deviceid><username>{a('username')}</username>"
        f"<where><province>{a('where/province')}</province>"
        f"<commune>{a('where/commune')}</commune></where>"
        f"<reporter_org>phu_nu</reporter_org><service_date>{a('service_date')}</service_date>"
        f"<uic><mother_initial>{a('uic/mother_initial')}</mother_initial>"
        f"<father_initial>{a('uic/father_initial')}</father_initial>"
        f"<birth_year>{a('uic/birth_year')}</birth_year><sex>{a('uic/sex')}</sex></uic>"
        f"<in_need_eligible>{a('in_need_eligible')}</in_need_eligible>"
        f"<services>{a('services')}</services><provider>{a('provider')}</provider>"
        f"<meta><instanceID>{instance_id}</instanceID></meta></pcmd_support>"
    ).encode()


def support_row(instance_id: str, **kwargs: Any) -> dict[str, Any]:
    """Central's OData row: groups nested, meta apart."""
    row: dict[str, Any] = {"meta": {"instanceID": instance_id}}
    for path, value in support_answers(instance_id, **kwargs).items():
        if path.startswith("meta/"):
            continue
        node = row
        *groups, leaf = path.split("/")
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = value
    return row
