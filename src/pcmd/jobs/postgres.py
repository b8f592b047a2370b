"""PostgreSQL backups with the server's own tools: `pg_dump` writes the snapshot, `pg_restore`
reads it back.

The dump is one schema — the one pcmd's tables live in (`current_schema()`, which the
`search_path` of the database URL may choose) — in pg_dump's custom format, so an operator can
also restore it by hand with `pg_restore`. It is taken inside a transaction of ours
(`--snapshot`), so the counts and the attachment list in the manifest are exactly the dump's.

Restore does not replay the dump's DDL: the target schema may have another name, and pcmd's
tables are pcmd's migrations' to create. It migrates the target to the backup's revision, then
loads the dump's rows (`pg_restore --data-only`, COPY blocks fed to COPY … FROM STDIN in the
target's schema) in one transaction, with the foreign keys dropped during the load and put back,
checked, at the end; the sequences are set as they were.

The password never appears on a command line or in a message: pg_dump gets it in PGPASSWORD.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, text

from pcmd.errors import BackupError

COPY_RE = re.compile(
    r'^COPY (?:(?:"(?:[^"]|"")+"|[^".\s]+)\.)?(?P<table>"(?:[^"]|"")+"|[^".\s]+) '
    r"(?P<columns>\(.*\) )?FROM stdin;$"
)
SETVAL_RE = re.compile(
    r"^SELECT pg_catalog\.setval\('(?:(?:\"(?:[^\"]|\"\")+\"|[^'\".]+)\.)?(?P<seq>[^']+)', "
    r"(?P<value>\d+), (?P<called>true|false)\);$"
)
VERSION_RE = re.compile(r"\(PostgreSQL\) (?P<version>(?P<major>\d+)[\w.]*)")
END_OF_COPY = b"\\.\n"
BATCH = 1 << 20
SKIPPED_TABLES = frozenset({"alembic_version"})  # migrations write it


@dataclass(frozen=True)
class Tools:
    """A PostgreSQL client program found on PATH, and its version."""

    program: str
    version: str
    major: int


def tool(name: str) -> Tools:
    """`pg_dump` or `pg_restore` from PATH, with its version; a clear BackupError when absent."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"Không tìm thấy chương trình {name} (PostgreSQL's {name} is not on PATH); pcmd "
            f"sao lưu PostgreSQL bằng {name} (pcmd backs up PostgreSQL with it). Fix: install "
            "the PostgreSQL client of the server's version, e.g. `apt-get install "
            "postgresql-client`, then run the command again."
        )
    out = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    match = VERSION_RE.search(out.stdout)
    if match is None:
        raise BackupError(f"Không đọc được phiên bản của {found} (cannot tell {found}'s version).")
    return Tools(found, match["version"], int(match["major"]))


def server_major(conn: Connection) -> tuple[int, str]:
    number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    shown = str(conn.execute(text("SHOW server_version")).scalar_one()).split()[0]
    return number // 10000, shown


def _conninfo(engine: Engine) -> tuple[str, dict[str, str]]:
    """(libpq connection string without the password, environment with PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    url = engine.url
    params: dict[str, Any] = {
        "host": url.host,
        "port": str(url.port) if url.port else None,
        "dbname": url.database,
        "user": url.username,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    dsn = make_conninfo("", **{k: v for k, v in params.items() if v})
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return dsn, env


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stderr_tail(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return " / ".join(lines[-3:]) or "no message"


def dump(engine: Engine, conn: Connection, out: Path) -> dict[str, str]:
    """pg_dump the current schema into `out`, seeing exactly what `conn`'s transaction sees.

    `conn` must be in a REPEATABLE READ transaction that has not yet read anything; it stays
    open until the dump ends. Returns what the manifest records of the dump.
    """
    pg_dump = tool("pg_dump")
    major, shown = server_major(conn)
    if pg_dump.major < major:
        raise BackupError(
            f"pg_dump {pg_dump.version} cũ hơn máy chủ PostgreSQL {shown} nên không sao lưu "
            f"được (pg_dump {pg_dump.version} cannot dump a PostgreSQL {shown} server: it must "
            f"be version {major} or newer). Fix: install postgresql-client-{major} and put its "
            "pg_dump first on PATH."
        )
    snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
    dsn, env = _conninfo(engine)
    err_path = out.with_name(out.name + ".stderr")
    with err_path.open("wb") as err:
        done = subprocess.run(
            [
                pg_dump.program,
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--schema={_quoted(schema)}",
                f"--snapshot={snapshot}",
                f"--file={out}",
                f"--dbname={dsn}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            check=False,
        )
    message = _stderr_tail(err_path)
    err_path.unlink()
    if done.returncode != 0:
        raise BackupError(
            f"pg_dump không sao lưu được CSDL (pg_dump failed): {message}. "
            f"Fix: check that {engine.url.render_as_string(hide_password=True)} is reachable "
            "and that pg_dump's version matches the server."
        )
    return {"schema": schema, "server_version": shown, "pg_dump_version": pg_dump.version}


@contextmanager
def _data_script(dump_file: Path, dumped_by: str) -> Iterator[IO[bytes]]:
    """The dump's rows as pg_restore writes them: a SQL script of COPY blocks and setvals."""
    pg_restore = tool("pg_restore")
    made_by = VERSION_RE.search(f"(PostgreSQL) {dumped_by}")
    needed = int(made_by["major"]) if made_by else 0
    if pg_restore.major < needed:
        raise BackupError(
            f"pg_restore {pg_restore.version} cũ hơn pg_dump {dumped_by} đã tạo bản sao lưu "
            f"(pg_restore {pg_restore.version} cannot read a dump made by pg_dump "
            f"{dumped_by}). Fix: install postgresql-client-{needed} or newer."
        )
    with tempfile.TemporaryDirectory(prefix="pcmd-restore-") as tmp:
        err_path = Path(tmp) / "stderr"
        with err_path.open("wb") as err:
            proc = subprocess.Popen(
                [pg_restore.program, "--data-only", "--no-owner", "--file=-", str(dump_file)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            assert proc.stdout is not None
            try:
                yield proc.stdout
            finally:
                proc.stdout.close()
                code = proc.wait()
        if code != 0:
            raise BackupError(
                f"pg_restore không đọc được bản sao lưu (pg_restore cannot read the dump): "
                f"{_stderr_tail(err_path)}. Fix: use a pg_restore as new as the pg_dump that "
                "made the backup."
            )


def drop_pcmd_tables(conn: Connection, tables: list[str]) -> None:
    """Drop pcmd's tables (and Alembic's) from the current schema, and the trigger functions
    that keep its input counters (migration 0012), nothing else: the migrations make them
    again."""
    for name in [*tables, "alembic_version"]:
        conn.execute(text(f"DROP TABLE IF EXISTS {_quoted(name)} CASCADE"))
    functions: list[str] = list(
        conn.execute(
            text(
                "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n "
                "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
                r"AND p.proname LIKE 'input\_changes\_%'"
            )
        ).scalars()
    )
    for function in functions:
        conn.execute(text(f"DROP FUNCTION IF EXISTS {function} CASCADE"))


def schema_tables(conn: Connection) -> set[str]:
    """The tables of the current schema."""
    query = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return set(conn.execute(query).scalars())


def load_data(conn: Connection, dump_file: Path, dumped_by: str, tables: set[str]) -> list[str]:
    """Load the dump's rows of `tables` (pcmd's, just made by its migrations) into the current
    schema, emptied first of what migrations seed; returns the names of the other tables in the
    dump, which are skipped. No other table of the schema is read or written."""
    here = sorted(tables - SKIPPED_TABLES)
    if here:
        names = ", ".join(_quoted(t) for t in here)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
    foreign_keys = conn.execute(
        text(
            "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, "
            "c.conname), format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, "
            "c.conname, pg_get_constraintdef(c.oid)) FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relname = "
            "ANY(:names) AND t.relnamespace = "
            "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        ),
        {"names": here},
    ).all()
    for drop, _add in foreign_keys:
        conn.execute(text(str(drop)))
    skipped: list[str] = []
    raw: Any = conn.connection.driver_connection
    with _data_script(dump_file, dumped_by) as script, raw.cursor() as cursor:
        for line in script:
            if line.startswith(b"COPY "):
                match = COPY_RE.match(line.decode("utf-8").rstrip("\n"))
                if match is None:
                    raise BackupError(f"pg_restore wrote an unexpected line: {line[:80]!r}")
                table = match.group("table")
                plain = table.strip('"').replace('""', '"')
                if plain in SKIPPED_TABLES or plain not in here:
                    if plain not in SKIPPED_TABLES:
                        skipped.append(plain)
                    _skip_block(script)
                    continue
                statement = f"COPY {table} {match.group('columns') or ''}FROM STDIN"
                with cursor.copy(statement) as copy:
                    _copy_block(script, copy)
            elif line.startswith(b"SELECT pg_catalog.setval("):
                found = SETVAL_RE.match(line.decode("utf-8").rstrip("\n"))
                if found is not None:
                    cursor.execute(
                        "SELECT setval(to_regclass(%s), %s, %s) WHERE to_regclass(%s) IS NOT NULL",
                        (
                            found["seq"],
                            int(found["value"]),
                            found["called"] == "true",
                            found["seq"],
                        ),
                    )
    for _drop, add in foreign_keys:
        conn.execute(text(str(add)))
    return skipped


def _skip_block(script: IO[bytes]) -> None:
    for line in script:
        if line == END_OF_COPY:
            return
    raise BackupError("pg_restore's output ended inside a table's rows")


def _copy_block(script: IO[bytes], copy: Any) -> None:
    batch: list[bytes] = []
    size = 0
    for line in script:
        if line == END_OF_COPY:
            if batch:
                copy.write(b"".join(batch))
            return
        batch.append(line)
        size += len(line)
        if size >= BATCH:
            copy.write(b"".join(batch))
            batch, size = [], 0
    raise BackupError("pg_restore's output ended inside a table's rows")
