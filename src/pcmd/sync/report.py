"""What one sync did (SyncReport), the progress callback it feeds, and its error as an exception."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pcmd.errors import SyncError

MAX_PROBLEMS = 20

ProgressFn = Callable[[int, int | None], None]  # (records just handled, total if known)


@dataclass
class SyncReport:
    """What one sync did. `failed` records were refused by ingest and are retried later."""

    source: str
    new: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    refused_status: int = 422  # the HTTP status of the last refusal (a webhook answers it)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.deleted)

    @property
    def records(self) -> int:
        return self.new + self.updated + self.deleted + self.unchanged + self.failed

    def merge(self, other: SyncReport) -> None:
        self.new += other.new
        self.updated += other.updated
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        self.failed += other.failed
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(other.problems[: max(room, 0)])

    def refuse(self, remote_id: str, message: str, *, status: int = 422) -> None:
        self.failed += 1
        self.refused_status = status
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{remote_id}: {message}")

    def summary(self) -> str:
        text = (
            f"{self.source}: mới (new) {self.new}, cập nhật (updated) {self.updated}, "
            f"xoá (deleted) {self.deleted}, không đổi (unchanged) {self.unchanged}"
        )
        if self.failed:
            text += f", bị từ chối (refused) {self.failed}"
        text += f", {self.seconds:.1f} s"
        if self.error:
            text += f" — lỗi (error): {self.error}"
        return text


def check_error(report: SyncReport) -> None:
    if report.error:
        raise SyncError(report.error)
