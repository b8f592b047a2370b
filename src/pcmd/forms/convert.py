"""XLSForm workbook → XForm with pyxform, checked by ODK Validate; returns, writes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pyxform.errors import PyXFormError
from pyxform.validators.odk_validate import ODKValidateError
from pyxform.xls2xform import convert

from pcmd.errors import FormBuildError
from pcmd.forms.xform import XFormInfo, read_xform


@dataclass(frozen=True)
class FormBuild:
    """A converted form: the XForm text and what pcmd reads out of it."""

    workbook_name: str
    workbook: bytes
    xform: str
    info: XFormInfo
    warnings: tuple[str, ...]

    @property
    def form_id(self) -> str:
        return self.info.form_id

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def xform_md5(self) -> str:
        return hashlib.md5(self.xform.encode("utf-8")).hexdigest()  # noqa: S324 - OpenRosa hash

    @property
    def workbook_sha256(self) -> str:
        return hashlib.sha256(self.workbook).hexdigest()


def _validate_message(text: str) -> str:
    """ODK Validate's report without the temporary file names pyxform adds."""
    text = text.split("The following files failed validation")[0]
    lines = [ln.strip().lstrip(": ") for ln in text.splitlines() if ln.strip().lstrip(": ")]
    return " ".join(
        ln for ln in lines if ln not in ("ODK Validate Errors:", ">> XForm is invalid.")
    )


def convert_workbook(
    workbook: bytes, name: str, *, validate: bool = True, file_type: str | None = None
) -> FormBuild:
    """Convert one workbook (xlsx bytes, or markdown/csv text with `file_type`).

    With `validate`, ODK Validate (the jar bundled with pyxform, run on the machine's Java)
    checks the XForm the way Collect will load it.
    """
    warnings: list[str] = []
    kind = file_type or Path(name).suffix.lower() or None
    try:
        result = convert(
            xlsform=workbook, warnings=warnings, validate=validate, file_type=kind, form_name=None
        )
    except PyXFormError as exc:
        raise FormBuildError(
            f"{name}: biểu mẫu không chuyển đổi được (the XLSForm does not convert): {exc}",
            workbook=name,
        ) from exc
    except ODKValidateError as exc:
        raise FormBuildError(
            f"{name}: ODK Validate báo lỗi (ODK Validate rejected the form): "
            f"{_validate_message(str(exc))}",
            workbook=name,
        ) from exc
    except OSError as exc:  # java missing
        raise FormBuildError(
            f"{name}: không chạy được ODK Validate (cannot run ODK Validate): {exc}. "
            "Fix: install Java 11 or newer (Debian: apt-get install default-jre-headless).",
            workbook=name,
        ) from exc
    xform = result.xform
    return FormBuild(
        workbook_name=name,
        workbook=workbook,
        xform=xform,
        info=read_xform(xform),
        warnings=tuple(w.strip() for w in warnings if w.strip()),
    )
