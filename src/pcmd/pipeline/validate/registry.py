"""What a rule is: a code, a severity, a message template and a check function, registered with
the `rule` decorator; a firing (`Finding`) renders into an `Issue`. Also the "how to fix it"
phrases every message ends with. The complete, ordered catalogue is catalogue.RULES."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Literal

from pcmd.forms.contract import Data
from pcmd.pipeline.validate.context import RuleContext

Severity = Literal["error", "warning"]

EDIT_VI = "sửa phiếu trong ODK Collect (hoặc trên KoboToolbox/ODK Central) rồi gửi lại"
EDIT_EN = "edit the submission in ODK Collect (or on KoboToolbox/ODK Central) and send it again"
CHECK_VI = "kiểm tra với người nhập phiếu; nếu đúng, người duyệt chấp nhận cảnh báo này"
CHECK_EN = "check with whoever filled it in; if it is right, a reviewer accepts this warning"


@dataclass(frozen=True)
class Finding:
    """A rule firing on one field (or on the record, field None), with its message's values."""

    field: str | None
    params: Mapping[str, object] = _field(default_factory=dict)


@dataclass(frozen=True)
class Issue:
    rule: str
    severity: Severity
    field_path: str | None
    message_vi: str
    message_en: str

    @property
    def text(self) -> str:
        """Vietnamese first, English in parentheses: how pcmd shows a message on one line."""
        return f"{self.message_vi} ({self.message_en})"


Check = Callable[[Data, RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title_vi: str
    title_en: str
    message_vi: str  # str.format templates; {field} is the field path
    message_en: str
    check: Check
    # Needs other records (history, duplicates): run after every record's own rules.
    cross: bool = False

    def render(self, finding: Finding) -> Issue:
        values = {"field": finding.field or "", **finding.params}
        return Issue(
            self.code,
            self.severity,
            finding.field,
            _format(self.message_vi, values),
            _format(self.message_en, values),
        )


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"  # a template naming a value the rule did not give must not crash a run


def _format(template: str, values: Mapping[str, object]) -> str:
    return string.Formatter().vformat(template, (), _Lenient(values))


# Every rule of every imported family module, in registration order.
_REGISTERED: dict[str, Rule] = {}


def rule(
    code: str,
    severity: Severity,
    title: tuple[str, str],
    message: tuple[str, str],
    *,
    cross: bool = False,
) -> Callable[[Check], Check]:
    """Register a rule function in the catalogue under `code`."""

    def register(check: Check) -> Check:
        if code in _REGISTERED:
            raise RuntimeError(f"rule {code} registered twice")
        _REGISTERED[code] = Rule(
            code, severity, title[0], title[1], message[0], message[1], check, cross
        )
        return check

    return register


def registered(module: str) -> list[Rule]:
    """The rules a family module (by its __name__) registered, in its order."""
    return [r for r in _REGISTERED.values() if r.check.__module__ == module]
