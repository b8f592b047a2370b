"""The records and lookups the rule tests share: data typed exactly as ingest types it, lookups
built by hand.

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
from typing import Any

from pcmd.ingest.instance import typed_values
from pcmd.pipeline.validate.catalogue import check_record
from pcmd.pipeline.validate.context import Lookups, OrgEra, RegisterEntry, RuleContext
from pcmd.pipeline.validate.registry import Issue
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
