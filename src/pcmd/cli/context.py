"""What every command group shares: the invocation's settings, its database engine, logging and
how times are shown."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from pcmd.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session


class Context:
    """Settings resolved once per invocation, from the group's options."""

    def __init__(self, overrides: dict[str, Any], config: str | None) -> None:
        self.overrides = overrides
        self.config = config
        self._settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        if self._settings is None or more:
            self._settings = load_settings({**self.overrides, **more}, config_file=self.config)
        return self._settings

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        """An engine on the settings last resolved, disposed when the block ends."""
        # Imported here: `pcmd --help` must not pay for SQLAlchemy.
        from pcmd.db.engine import engine_from_settings

        engine = engine_from_settings(self.settings())
        try:
            yield engine
        finally:
            engine.dispose()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction on an engine of its own (see `engine`), committed when the block ends."""
        from pcmd.db.engine import transaction

        with self.engine() as engine, transaction(engine, write=write) as session:
            yield session


pass_ctx = click.make_pass_decorator(Context)


def setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic logs every schema check /healthz makes at INFO; only its problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs each run of each job (the pipeline poll: every 20 s, for years); pcmd
    # logs what its jobs did. Its warnings (a job missed, a job failed) still show.
    if settings.log_level != "DEBUG":
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def utc_text(moment: dt.datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL the session's time zone: show both as UTC.
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
