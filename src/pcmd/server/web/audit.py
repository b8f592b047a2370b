"""The audit log page (Nhật ký) for administrators: who did what and when, filtered by action,
user and date, paged, within the administrator's provinces (server/audit_read.py)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pcmd.db.engine import transaction
from pcmd.server import audit_read, manage
from pcmd.server.accounts import Scope
from pcmd.server.web.base import Web


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class AuditPages:
    def __init__(self, web: Web) -> None:
        self.web = web

    async def page(self, request: Request, user: Scope) -> Response:
        manage.require_admin(user)
        q = request.query_params
        action = q.get("action", "")
        page_no = q.get("page", "1")
        filters = audit_read.Filters(
            action=action if action in audit_read.ACTIONS else "",
            actor=q.get("user", "").strip()[:100],
            day_from=_day(q.get("from", "")),
            day_to=_day(q.get("to", "")),
            page=int(page_no) if page_no.isdigit() and len(page_no) < 7 else 1,
        )
        wrong_date = any(q.get(k) and _day(q.get(k, "")) is None for k in ("from", "to"))

        def load() -> tuple[audit_read.AuditPage, list[str]]:
            with transaction(self.web.engine) as session:
                provinces = manage.managed_provinces(session, user)
                return (
                    audit_read.read(session, provinces, filters),
                    audit_read.actors(session, provinces),
                )

        found, actors = await run_in_threadpool(load)
        kept = {
            "action": filters.action,
            "user": filters.actor,
            "from": filters.day_from.isoformat() if filters.day_from else "",
            "to": filters.day_to.isoformat() if filters.day_to else "",
        }
        kept = {k: v for k, v in kept.items() if v}

        def page_url(number: int) -> str:
            return "/audit?" + urlencode({**kept, "page": number})

        return self.web.render(
            request,
            "audit.html",
            {
                "user": user,
                "nav": "audit",
                "found": found,
                "actors": actors,
                "actions": audit_read.ACTIONS,
                "filters": filters,
                "page_url": page_url,
                "wrong_date": wrong_date,
            },
        )

    def routes(self) -> list[BaseRoute]:
        return [Route("/audit", self.web.guarded(self.page))]
