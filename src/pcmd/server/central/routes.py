"""Every route of the Central-compatible reading API, in the order Starlette must try them
(`….svc` and `….xml` before the plain form path they would otherwise fall into)."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.routing import BaseRoute

from pcmd.server.central.auth import Central
from pcmd.server.central.indicators_feed import IndicatorsFeed
from pcmd.server.central.odata_feed import ODataFeed
from pcmd.server.central.projects import ProjectEndpoints
from pcmd.server.central.sessions import SessionEndpoints
from pcmd.server.central.submissions import SubmissionEndpoints
from pcmd.settings import Settings


def central_routes(settings: Settings, engine: Engine) -> list[BaseRoute]:
    central = Central(settings, engine)
    return [
        *SessionEndpoints(central).routes(),
        *IndicatorsFeed(central).routes(),
        *ODataFeed(central).routes(),
        *SubmissionEndpoints(central).routes(),
        *ProjectEndpoints(central).routes(),
    ]
