"""What a pipeline run did: counts, reasons for full recomputes and timings, and their
description for the command line and the log."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PipelineSummary:
    """What a run did."""

    full: bool = False
    reasons: list[str] = field(default_factory=list)  # why parts were recomputed in full
    changed: int = 0  # submissions whose updated_at moved
    validation: str = "unavailable"  # ran | unavailable
    validated: int = 0
    facts_written: int = 0
    facts_removed: int = 0
    unplaced: int = 0  # counted, but without a known commune or an activity date
    cells: int = 0  # commune-months recomputed in the cube
    values_written: int = 0
    programmes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        mode = "toàn bộ (full)" if self.full else "phần thay đổi (incremental)"
        validation = (
            f"kiểm tra {self.validated} phiếu (validated)"
            if self.validation == "ran"
            else "chưa có bước kiểm tra (validation not available)"
        )
        lines = [
            f"Pipeline {mode}: {self.changed} phiếu thay đổi (changed submissions), {validation}",
            f"  bảng hoạt động (facts): +{self.facts_written} dòng ghi (written), "
            f"-{self.facts_removed} bỏ (removed), {self.unplaced} không xác định được xã/ngày "
            "(unplaced)",
            f"  chỉ tiêu (indicator values): {self.values_written} giá trị ghi (written) cho "
            f"{', '.join(self.programmes)}; {self.cells} xã-tháng (commune-months) tính lại",
        ]
        if self.reasons:
            lines.append(
                f"  tính lại toàn bộ vì (recomputed in full because): {'; '.join(self.reasons)}"
            )
        lines.append(f"  thời gian (time): {self.seconds:.2f} s")
        return "\n".join(lines)
