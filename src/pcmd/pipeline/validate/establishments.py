"""The establishment register: an inspection's register id unknown (EST_001), closed (EST_002)
or registered in another commune (EST_003)."""

from __future__ import annotations

from collections.abc import Iterator

from pcmd.forms import contract as c
from pcmd.forms.contract import Data, is_chosen
from pcmd.pipeline.validate.context import RegisterEntry, RuleContext
from pcmd.pipeline.validate.registry import EDIT_EN, EDIT_VI, Finding, rule
from pcmd.pipeline.validate.values import as_text

# The forms whose records these rules check against the register: an import of the register
# re-validates them (pipeline/run.py).
READS_REGISTER = (c.INSPECTION,)


def _register_entry(data: Data, ctx: RuleContext) -> tuple[str, RegisterEntry | None] | None:
    if ctx.form_id != c.INSPECTION or not is_chosen(data, c.KNOWN, "yes"):
        return None
    est_id = as_text(data.get(c.ESTABLISHMENT_ID))
    if est_id is None:
        return None  # REQ_001 reports it
    return est_id, ctx.lookups.establishments.get(est_id)


@rule(
    "EST_001",
    "error",
    ("Mã cơ sở không có trong danh sách quản lý", "Register id unknown"),
    (
        "[{field}] Cơ sở mã {value} không có trong danh sách quản lý. Cách sửa: tải lại biểu mẫu "
        "trống (danh sách cơ sở mới) rồi " + EDIT_VI + "; nếu cơ sở chưa có trong danh sách, trả "
        'lời "Không" ở câu trước và khai báo cơ sở mới.',
        "[{field}] There is no establishment {value} in the register. Fix: download the blank "
        "form again (the current register), then " + EDIT_EN + '; if it is not listed, answer "No" '
        "to the previous question and describe the new establishment.",
    ),
)
def establishment_unknown(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    if found is not None and found[1] is None:
        yield Finding(c.ESTABLISHMENT_ID, {"value": found[0]})


@rule(
    "EST_002",
    "warning",
    ("Cơ sở đã ngừng hoạt động theo danh sách", "Establishment closed in the register"),
    (
        "[{field}] Cơ sở {value} được ghi là đã ngừng hoạt động trong danh sách quản lý. Cách "
        "sửa: nếu cơ sở vẫn hoạt động, cập nhật danh sách (pcmd establishments import); nếu chọn "
        "nhầm cơ sở, " + EDIT_VI + ".",
        "[{field}] Establishment {value} is closed in the register. Fix: if it is operating, "
        "update the register (pcmd establishments import); if the wrong one was chosen, "
        + EDIT_EN
        + ".",
    ),
)
def establishment_closed(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    if found is not None and found[1] is not None and found[1].status == "closed":
        yield Finding(c.ESTABLISHMENT_ID, {"value": found[0]})


@rule(
    "EST_003",
    "warning",
    ("Cơ sở thuộc xã khác", "Establishment registered in another commune"),
    (
        "[{field}] Cơ sở {value} thuộc xã {registered} trong danh sách, nhưng phiếu ghi xã "
        "{commune}. Cách sửa: nếu chọn nhầm xã hay cơ sở, " + EDIT_VI + "; nếu danh sách sai, "
        "cập nhật danh sách.",
        "[{field}] Establishment {value} is registered in commune {registered}, but the "
        "submission says {commune}. Fix: if the commune or establishment is wrong, "
        + EDIT_EN
        + "; if the register is wrong, update it.",
    ),
)
def establishment_elsewhere(data: Data, ctx: RuleContext) -> Iterator[Finding]:
    found = _register_entry(data, ctx)
    commune = as_text(data.get(c.COMMUNE))
    if found is None or found[1] is None or commune is None:
        return
    if found[1].commune != commune:
        yield Finding(
            c.ESTABLISHMENT_ID,
            {"value": found[0], "registered": found[1].commune, "commune": commune},
        )
