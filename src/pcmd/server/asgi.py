"""Entry point for uvicorn workers started by `pcmd serve --workers N` (settings from PCMD_*).

`pcmd serve` itself prepared the file store and announced any set-up code before starting
them: a worker does neither (two workers would print two codes)."""

from __future__ import annotations

from starlette.applications import Starlette

from pcmd.server.app import create_app
from pcmd.settings import load_settings


def app_from_environment() -> Starlette:
    return create_app(load_settings(), lead=False, warm=True)
