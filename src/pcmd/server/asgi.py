"""Entry point for uvicorn workers started by `pcmd serve --workers N` (settings from PCMD_*)."""

from __future__ import annotations

from starlette.applications import Starlette

from pcmd.server.app import create_app
from pcmd.settings import load_settings


def app_from_environment() -> Starlette:
    return create_app(load_settings())
