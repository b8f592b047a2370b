"""The rule catalogue: every family module's rules in one order (RULES), run over one record.

Validation rules: a catalogue of codes, each a severity, a message and one small function.

A rule is a pure function of a submission's typed data (SubmissionVersion.data) and a
`RuleContext` holding the lookups it needs (the form's binds, org units, the register, the
commune's history …); it yields `Finding`s, which the catalogue renders into `Issue`s with a
message in Vietnamese and English. run.py does the queries and store.py stores the issues.

Messages follow one grammar (pyxform's): where (`[field path]`), what is wrong and the rule,
then how to fix it (`Cách sửa` / `Fix`).

Severities — the decision
-------------------------
An `error` takes the record out of every indicator until someone fixes it (an edit from ODK
Collect, Kobo or Central) or a reviewer overrides the issue; a `warning` is shown to reviewers
and the record still counts. Province staff report these numbers upward, so both mistakes cost:
counting a wrong record inflates a figure, and dropping a right one deflates it, silently. So:

* **error** only when the record is *surely* wrong in something the indicators read, or cannot be
  placed: a required answer that an indicator or the placement needs is missing (REQ_001); a
  number or date that is not one (TYPE_001) or a choice the form does not have (TYPE_002); a
  negative count (RANGE_001) or one over ten million (RANGE_004); a fine of 0 with "fine" as the
  action (RANGE_003); an activity date in the future or before the programme (DATE_001,
  DATE_002); a part larger than its whole (PART_001); a number too large to sum, or a record a
  rule failed on (PIPE_001); a commune that is unknown, outside the chosen province, or closed
  before the activity (GEO_001–GEO_003); a register id that does not exist (EST_001); a step
  dated before its case was received (CASE_001); a plan for a year outside 2021 – next year
  (PLAN_001). None of
  these can be
  right as entered; the form's own constraints forbid them, so they reach us only when data comes
  around them (web edits, pulls, older form versions).
* **warning** for everything that is *implausible but possible*, or wrong only in fields no
  indicator reads: a missing answer nothing is computed from (REQ_002); a training outside
  0.5–30 days (long courses exist); fines that look mistyped (FINE_001, FINE_002); a district
  organiser after districts were abolished (DATE_003); a commune not yet created on the date
  (GEO_004: reporting a past activity under today's commune is how a backfill is done); a
  location far from the commune or malformed (GEO_005, GEO_006); a closed or other-commune
  register entry (EST_002, EST_003); a likely duplicate (DUP_001: two teams may really hold the
  same-sized session the same day); an outlier against the commune's history (OUT_001); a media
  activity with no media items (MEDIA_001); a sanction with no violation (CONS_001).

A reviewer who checks a record and finds it right overrides the issue (store.override_issue);
an overridden issue stays overridden as long as the same rule fires on the same field of the same
version.
"""

from __future__ import annotations

import functools
import logging

from pcmd.forms.contract import Data
from pcmd.pipeline.validate import (
    cases,
    dates,
    duplicates,
    establishments,
    fines,
    outliers,
    parts,
    places,
    plausibility,
    ranges,
    required,
    types,
    unusable,
)
from pcmd.pipeline.validate.context import RuleContext
from pcmd.pipeline.validate.registry import Finding, Issue, Rule, registered

# The catalogue's order (of `pcmd rules` and of a record's issues) is this one, whichever family
# module happens to be imported first.
FAMILIES = (
    required,
    types,
    ranges,
    fines,
    dates,
    cases,
    parts,
    places,
    establishments,
    plausibility,
    duplicates,
    outliers,
    unusable,
)
log = logging.getLogger(__name__)

RULES: dict[str, Rule] = {r.code: r for family in FAMILIES for r in registered(family.__name__)}


def check_record(data: Data, ctx: RuleContext, *, cross: bool | None = None) -> list[Issue]:
    """The issues of one submission: every rule, or only the cross-record (True) or the
    record-only (False) ones. One issue per (rule, field) at most.

    A rule that fails on a record (data no rule was written for) makes that record a PIPE_001
    error and the other rules still run: one record must never stop the pipeline.
    """
    issues: dict[tuple[str, str | None], Issue] = {}
    for item in RULES.values() if cross is None else _by_kind(cross):
        try:
            for finding in item.check(data, ctx):
                issues.setdefault((item.code, finding.field), item.render(finding))
        except Exception as exc:  # any failure is the record's, reported on it
            log.warning("rule %s failed on a record: %r", item.code, exc)
            failed = Finding(None, {"value": item.code, "reason": exc.__class__.__name__})
            issues.setdefault((unusable.CODE, None), RULES[unusable.CODE].render(failed))
    return list(issues.values())


@functools.cache
def _by_kind(cross: bool) -> tuple[Rule, ...]:
    return tuple(r for r in RULES.values() if r.cross == cross)


def rule_rows() -> list[dict[str, str]]:
    """The catalogue as plain rows, in code order of registration (`pcmd rules`, the web UI)."""
    return [
        {
            "code": r.code,
            "severity": r.severity,
            "title_vi": r.title_vi,
            "title_en": r.title_en,
            "message_vi": r.message_vi,
            "message_en": r.message_en,
        }
        for r in RULES.values()
    ]
