"""Central-style errors: `{"code": 400.18, "message": …}` with the HTTP status of the code.

Central answers every failure with a "problem": a decimal code whose integer part is the
status. pcmd keeps Central's codes (clients such as ruODK show them) and says the message in
Vietnamese first, English alongside. One difference: where Central answers 501 (a query option,
filter function or field it does not implement), pcmd answers 400 with Central's 501.x code in
the body — the request is the reader's to change, and a 5xx would page the administrator.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from pcmd.errors import PcmdError


class Problem(PcmdError):
    """A request the Central API refuses; `code` is Central's problem code (e.g. 400.18)."""

    def __init__(self, code: float, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = 400 if int(code) == 501 else int(code)
        self.details = details or {}


def not_found() -> Problem:
    return Problem(
        404.1,
        "Không tìm thấy tài nguyên bạn yêu cầu (could not find the resource you were looking "
        "for): check the project, form and submission in the address.",
    )


def unauthenticated() -> Problem:
    return Problem(
        401.2,
        "Không xác thực được với thông tin đã gửi (could not authenticate with the provided "
        "credentials): sign in again with your pcmd user name and password.",
    )


def forbidden() -> Problem:
    return Problem(
        403.1,
        "Tài khoản không có quyền làm việc này (the authenticated user may not do this).",
    )


def response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": problem.code, "message": problem.message}
    if problem.details:
        body["details"] = problem.details
    return JSONResponse(body, status_code=problem.status, headers=headers)
