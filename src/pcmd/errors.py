"""Errors pcmd raises for problems a user can fix.

The tree, one subclass per stage:

* PcmdError                 root; carries a message that says what, where and how to fix it
  - SettingsError           a setting is missing or malformed
  - DatabaseError           the database cannot be opened, migrated or written
  - FormBuildError          an XLSForm does not convert or does not pass ODK Validate
  - ImportFileError         a CSV given to an import command has bad rows (line-numbered)
  - AuthError               a token or login is malformed (401), unknown or revoked (403)
  - IngestError             a submission cannot be accepted (carries an HTTP status)
  - SyncError               a KoboToolbox / Central pull failed
  - PipelineError           validation, normalisation or indicator computation failed
  - ReportError             a report or export cannot be produced
  - BackupError             a backup cannot be made, or a backup cannot be restored
  - StorageError            the disk is full or failed: nothing was kept, try again later (503)

Programming mistakes stay TypeError/ValueError/RuntimeError. The CLI and the web app translate
PcmdError once, at their boundary, into one clear line / response; they never show a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class PcmdError(Exception):
    """An error whose message is meant for the person running pcmd."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SettingsError(PcmdError):
    """A setting is missing or malformed."""


class DatabaseError(PcmdError):
    """The database cannot be opened, migrated or written."""


class FormBuildError(PcmdError):
    """An XLSForm does not convert, or the XForm does not pass ODK Validate."""

    def __init__(self, message: str, *, workbook: str | None = None) -> None:
        super().__init__(message)
        self.workbook = workbook


@dataclass(frozen=True)
class RowProblem:
    """One bad row of an imported file."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"dòng {self.line} (line {self.line}): {self.message}"


class ImportFileError(PcmdError):
    """A file given to an import command has bad rows; nothing was imported."""

    def __init__(self, path: str, problems: Sequence[RowProblem], *, limit: int = 20) -> None:
        shown = "\n".join(f"  {p}" for p in problems[:limit])
        more = len(problems) - limit
        tail = f"\n  … và {more} lỗi khác ({more} more)" if more > 0 else ""
        super().__init__(
            f"{path}: {len(problems)} dòng lỗi, không nhập gì "
            f"({len(problems)} bad row(s), nothing imported):\n{shown}{tail}"
        )
        self.path = path
        self.problems = list(problems)


class AuthError(PcmdError):
    """A credential is malformed (401) or unknown, revoked or out of scope (403)."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class IngestError(PcmdError):
    """A submission cannot be accepted. `status` is the HTTP status the server answers with."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SyncError(PcmdError):
    """A pull from KoboToolbox or ODK Central failed.

    `transient` marks what may pass by itself (429, 5xx, a timeout, a cut-off page): the
    scheduler retries those sooner; the others (a wrong token, an unknown asset) need a person.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class PipelineError(PcmdError):
    """Validation, normalisation or indicator computation failed."""


class ReportError(PcmdError):
    """A report or export cannot be produced."""


class BackupError(PcmdError):
    """A backup cannot be made, or a backup cannot be restored (damaged, or the target is not
    empty)."""


class StorageError(PcmdError):
    """The disk is full or failed while writing: nothing was kept, and the same request can be
    sent again once space returns (a server answers 503 with Retry-After)."""
