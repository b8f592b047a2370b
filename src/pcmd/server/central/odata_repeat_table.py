"""A repeat table's rows (`Submissions.hh.people`) across the visible submissions, as Central
lists them: newest submission first, each one's repetitions in document order. Submissions are
read CHUNK at a time, each chunk in a read transaction of its own, so that memory stays flat
however many there are, and a page reads only as far as the rows it shows. A page's cursor
(`$skiptoken`) names its last row and that row's submission, which is found again by an index.
A page's body, and a whole table's as it is read, are made here too; odata_feed.py routes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from pcmd.db.engine import transaction
from pcmd.db.models import Submission
from pcmd.server.central.odata_options import Options, skiptoken_for
from pcmd.server.central.odata_repeats import repeat_rows, repetition_count
from pcmd.server.central.odata_stream import json_body
from pcmd.server.central.problems import Problem
from pcmd.server.central.records import CURRENT, after, visible
from pcmd.server.central.schema import Field

CHUNK = 200  # submissions read at a time


@dataclass(frozen=True)
class RepeatTable:
    """One repeat of one form, as one reader sees it."""

    engine: Engine
    form_pk: int
    communes: list[str] | None  # None: every commune
    fields: tuple[Field, ...]
    path: str  # the repeat's path in the form, e.g. hh/people
    wkt: bool = False

    def submissions(self, start: str | None = None) -> Iterator[tuple[str, str]]:
        """(instanceId, XML) of each visible submission in Central's order, from the
        submission `start` (itself included) or from the newest."""
        query = (
            visible(self.form_pk, self.communes)
            .with_only_columns(
                Submission.submitted_at, Submission.id, Submission.instance_id, CURRENT.xml
            )
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
            .limit(CHUNK)
        )
        key: tuple[Any, int] | None = None
        if start is not None:
            with transaction(self.engine) as session:
                found = session.execute(
                    select(Submission.submitted_at, Submission.id).where(
                        Submission.instance_id == start
                    )
                ).first()
            if found is None:  # the cursor's submission is gone: nothing to resume from
                return
            key = (found[0], found[1])
        first = True
        while True:
            chunk = query
            if key is not None:
                chunk = query.where(after(key[0], key[1], inclusive=first and start is not None))
            with transaction(self.engine) as session:
                rows = session.execute(chunk).all()
            for _at, _sid, instance_id, xml in rows:
                yield instance_id, xml
            if len(rows) < CHUNK:
                return
            key, first = (rows[-1][0], rows[-1][1]), False

    def rows(
        self, instance_id: str | None = None, repeat_id: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(instanceId, row) of every row after the row `repeat_id` of the submission
        `instance_id` (a cursor), or of every row. A repeatId that is not found, as in a
        cursor from another form or a row removed by an edit, is Central's 400.34."""
        seeking = repeat_id
        for iid, xml in self.submissions(instance_id):
            for row in repeat_rows(xml, iid, self.fields, self.path, wkt=self.wkt):
                if seeking is None:
                    yield iid, row
                elif row["__id"] == seeking:
                    seeking = None
            if seeking is not None and instance_id is not None:
                break  # the cursor's row is in its own submission or nowhere
        if seeking is not None:
            raise Problem(
                400.34,
                "Không tìm thấy dòng mà $skiptoken chỉ tới (the row the $skiptoken points to is "
                "no longer there): read the table again from its first page.",
            )

    def count(self) -> int:
        """Every row of the table (`$count`): every visible submission's XML is read."""
        return sum(repetition_count(xml, self.path) for _iid, xml in self.submissions())

    def page(
        self, options: Options, context: str, next_link: Callable[[str], str]
    ) -> dict[str, Any]:
        """One page ($top) of the table, read only as far as it goes; `next_link` makes the
        address of the next page from its $skiptoken."""
        assert options.top is not None
        rows = self.rows(options.skiptoken, options.repeat_id)
        shown = list(itertools.islice(rows, options.skip, options.skip + options.top + 1))
        body: dict[str, Any] = {
            "@odata.context": context,
            "value": [row for _iid, row in shown[: options.top]],
        }
        if len(shown) > options.top and options.top > 0:
            iid, row = shown[options.top - 1]
            body["@odata.nextLink"] = next_link(skiptoken_for(iid, row["__id"]))
        if options.count:
            body["@odata.count"] = self.count()
        return body

    def whole(self, options: Options, context: str) -> Iterator[bytes]:
        """The whole table (no $top) as the pieces of its JSON body, its first row read now,
        so that a failure to read it comes before the status line."""
        walked = 0

        def counted() -> Iterator[dict[str, Any]]:
            nonlocal walked
            for _iid, row in self.rows(options.skiptoken, options.repeat_id):
                walked += 1
                yield row

        rows = itertools.islice(counted(), options.skip, None)
        head = list(itertools.islice(rows, 1))

        def footer() -> dict[str, Any]:
            if not options.count:
                return {}
            # read from the first row to the last: what was walked is the whole table
            whole = options.skiptoken is None and options.repeat_id is None
            return {"@odata.count": walked if whole else self.count()}

        return json_body(context, itertools.chain(head, rows), footer)
