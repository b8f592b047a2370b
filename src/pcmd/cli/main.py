"""The `pcmd` command line. It does the I/O; the packages below it compute and return results.

Every PcmdError becomes one line on stderr and exit status 1; anything else is an internal error,
reported in one line (traceback only with PCMD_DEBUG=1).
"""

from __future__ import annotations

import logging
import os
import sys

import click

from pcmd.cli import (
    appusers,
    backup,
    demo,
    forms,
    masterdata,
    orgunits,
    pipeline,
    reminders,
    report,
    server,
    submissions,
    sync,
    users,
)
from pcmd.cli.context import Context
from pcmd.errors import PcmdError

log = logging.getLogger("pcmd")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False), help="pcmd.toml to read settings from.")
@click.option("--database-url", help="SQLAlchemy database URL (PCMD_DATABASE_URL).")
@click.option("--data-dir", help="Folder for the database and files (PCMD_DATA_DIR).")
@click.version_option(package_name="pcmd")
@click.pass_context
def cli(
    click_ctx: click.Context, config: str | None, database_url: str | None, data_dir: str | None
) -> None:
    """pcmd — số liệu phòng, chống mại dâm (prostitution-prevention field data and indicators)."""
    click_ctx.obj = Context({"database_url": database_url, "data_dir": data_dir}, config)


# Each module defines its commands and groups; they all hang from the root group here.
for command in (
    server.init,
    server.serve,
    server.show_settings,
    forms.forms,
    orgunits.orgunits,
    appusers.appuser,
    submissions.submissions,
    users.user,
    masterdata.reference,
    masterdata.establishments,
    masterdata.targets,
    pipeline.rules_list,
    demo.demo,
    sync.source_group,
    sync.sync_group,
    sync.scheduler_command,
    pipeline.pipeline,
    pipeline.indicators_cmd,
    pipeline.programmes,
    report.report,
    backup.backup,
    backup.restore,
    reminders.reminders,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="pcmd", standalone_mode=False)
    except PcmdError as exc:
        click.echo(f"Lỗi (error): {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("Đã huỷ (aborted).", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # click words these in English: say what went wrong in Vietnamese too, and where help is
        hint = f"{exc.ctx.command_path} --help" if exc.ctx is not None else "pcmd --help"
        if exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        click.echo(
            f"Lỗi cách dùng lệnh (usage error): {exc.format_message()}\n"
            f"Xem hướng dẫn (help): {hint}",
            err=True,
        )
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("PCMD_DEBUG"):
            raise
        from sqlalchemy.exc import OperationalError, ProgrammingError

        if isinstance(exc, OperationalError | ProgrammingError) and any(
            word in str(exc.orig) for word in ("no such table", "does not exist", "no such column")
        ):
            click.echo(
                "Lỗi (error): cấu trúc CSDL cũ hơn phiên bản pcmd này (the database schema is "
                "older than this pcmd). Fix: run `pcmd init`, which migrates it.",
                err=True,
            )
            sys.exit(1)
        click.echo(
            f"Lỗi nội bộ (internal error): {exc.__class__.__name__}: {exc}. "
            "Run again with PCMD_DEBUG=1 for details and report it.",
            err=True,
        )
        sys.exit(2)
