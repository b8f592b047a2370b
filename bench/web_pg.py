"""bench/web.py on PostgreSQL: the million kept across runs as a database of its own, named by
the schema's hash, copied for each run with CREATE DATABASE … TEMPLATE (as the SQLite file is
copied), and the generated submissions multiplied in SQL (as on SQLite) instead of generated one
by one; and the CPU of the database's own processes, which are not the server's children."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# never dropped or replaced by the benchmark: the tests' databases and the cluster's own
PROTECTED = ("test", "postgres", "template0", "template1")


def _admin(url: str):  # type: ignore[no-untyped-def]
    """An autocommit engine on the cluster's `postgres` database (CREATE/DROP DATABASE)."""
    return create_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", pool_size=1
    )


def guard(name: str) -> None:
    if name in PROTECTED or name.startswith(("test_gw", "template")):
        raise SystemExit(f"refusing to replace database {name!r}: name one of your own")


def kept_name(url: str, label: str, n: int, schema: str) -> str:
    """The kept database of this URL's name, checkout (work/baseline), size and schema."""
    return f"{make_url(url).database}_kept_{label}_{n}_{schema}"[:63]


def exists(url: str, name: str) -> bool:
    admin = _admin(url)
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        there = found.first() is not None
    admin.dispose()
    return there


def _recreate(url: str, name: str, template: str | None = None) -> str:
    """Database `name` on the URL's server dropped if there and made again, empty or as a copy
    of `template`; its URL."""
    guard(name)
    admin = _admin(url)
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_empty(url: str, name: str) -> str:
    """A new empty database `name` (dropped first if there); its URL."""
    return _recreate(url, name)


def copy_of(url: str, kept: str) -> str:
    """The URL's database made afresh as a copy of the kept one; its URL."""
    return _recreate(url, make_url(url).database or "", kept)


def rename(url: str, old: str, new: str) -> None:
    guard(new)
    admin = _admin(url)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))
    admin.dispose()


def replicate(url: str, copies: int, tables: tuple[str, ...], pointers: dict[str, str]) -> int:
    """Each row of `tables` copied `copies - 1` times under new ids (pointers moved by as much)
    and instanceIDs suffixed ~k, in one transaction; the id sequences moved past them."""
    engine = create_engine(url)
    with engine.begin() as conn:
        # submissions and their versions point at each other: the foreign keys' triggers off
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        top = {t: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()
               for t in tables}  # fmt: skip
        columns = {
            t: list(
                conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = 'public' AND table_name = :t "
                        "ORDER BY ordinal_position"
                    ),
                    {"t": t},
                ).scalars()
            )
            for t in tables
        }
        for k in range(1, copies):
            for table in tables:
                values = []
                for name in columns[table]:
                    if name == "id":
                        values.append(f"id + {k * top[table]}")
                    elif name in pointers:
                        values.append(f"{name} + {k * top[pointers[name]]}")
                    elif name == "instance_id":
                        values.append(f"instance_id || '~{k}'")
                    else:
                        values.append(name)
                conn.execute(
                    text(
                        f"INSERT INTO {table} ({', '.join(columns[table])}) "
                        f"SELECT {', '.join(values)} FROM {table} WHERE id <= {top[table]}"
                    )
                )
        for table in tables:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    engine.dispose()
    return copies


def vacuum(url: str) -> None:
    """The whole database vacuumed and analysed once built (the pipeline's tables too): what
    autovacuum does for a database that has been running a while, so that counts are
    index-only and plans have statistics."""
    engine = create_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def backends(database: str) -> dict[int, float]:
    """CPU seconds (user + system) so far of each PostgreSQL backend serving `database` (a
    backend's command line reads `postgres: … <user> <database> <host> …`)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().split()
            if not words or not words[0].startswith("postgres:") or database not in words[1:5]:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, UnicodeDecodeError):
            continue
        found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


class DatabaseCpu:
    """The CPU the backends of one database have used since this was made. Sampled every
    EVERY seconds in a thread, since a backend that ends (the server's pool closes the
    connections beyond its size) takes its figure with it: what one used in its last EVERY
    seconds is missed."""

    EVERY = 0.1

    def __init__(self, database: str) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._base = backends(database)  # what they had used before
        self._seen = dict(self._base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        now = backends(self.database)
        with self._lock:
            for pid, used in now.items():
                self._seen[pid] = max(used, self._seen.get(pid, 0.0))

    def _run(self) -> None:
        while not self._stop.wait(self.EVERY):
            self._sample()

    def total(self) -> float:
        self._sample()
        with self._lock:
            return sum(used - self._base.get(pid, 0.0) for pid, used in self._seen.items())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
