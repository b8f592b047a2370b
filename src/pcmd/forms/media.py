"""The CSV media files forms read with select_one_from_file, generated from the database.

Columns follow DESIGN §6: provinces.csv `name,label`; communes.csv `name,label,province`;
establishments.csv `name,label,commune,type`. Pure functions: rows in, bytes out.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PROVINCES_CSV = "provinces.csv"
COMMUNES_CSV = "communes.csv"
ESTABLISHMENTS_CSV = "establishments.csv"
GENERATED = (PROVINCES_CSV, COMMUNES_CSV, ESTABLISHMENTS_CSV)


@dataclass(frozen=True)
class MediaFile:
    filename: str
    content: bytes
    content_type: str = "text/csv"

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content).hexdigest()  # noqa: S324 - OpenRosa manifest hash


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def provinces_csv(provinces: Iterable[tuple[str, str]]) -> MediaFile:
    """(code, name) of each province."""
    return MediaFile(PROVINCES_CSV, _csv(("name", "label"), sorted(provinces)))


def communes_csv(communes: Iterable[tuple[str, str, str]]) -> MediaFile:
    """(code, name, province code) of each commune; an app user's copy holds only its communes."""
    return MediaFile(COMMUNES_CSV, _csv(("name", "label", "province"), sorted(communes)))


def establishments_csv(rows: Iterable[tuple[str, str, str, str, str]]) -> MediaFile:
    """(id, name, address, commune code, type) of each active establishment of the register."""
    out = []
    for est_id, name, address, commune, kind in sorted(rows):
        label = f"{name} — {address}" if address else name
        out.append((est_id, label, commune, kind))
    return MediaFile(ESTABLISHMENTS_CSV, _csv(("name", "label", "commune", "type"), out))


def _rows(item: MediaFile) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(item.content.decode("utf-8"))))
    return rows[0], rows[1:]


def scope_media(files: dict[str, MediaFile], communes: frozenset[str]) -> dict[str, MediaFile]:
    """The copies an app user limited to `communes` gets.

    communes.csv and establishments.csv keep only those communes' rows, provinces.csv only the
    provinces they belong to; other files are served as they are.
    """
    if not communes:
        return files
    out = dict(files)
    provinces: set[str] = set()
    if COMMUNES_CSV in files:
        header, body = _rows(files[COMMUNES_CSV])
        kept = [r for r in body if r[0] in communes]
        provinces = {r[header.index("province")] for r in kept}
        out[COMMUNES_CSV] = MediaFile(COMMUNES_CSV, _csv(header, kept))
    if ESTABLISHMENTS_CSV in files:
        header, body = _rows(files[ESTABLISHMENTS_CSV])
        kept = [r for r in body if r[header.index("commune")] in communes]
        out[ESTABLISHMENTS_CSV] = MediaFile(ESTABLISHMENTS_CSV, _csv(header, kept))
    if PROVINCES_CSV in files:
        header, body = _rows(files[PROVINCES_CSV])
        kept = [r for r in body if r[0] in provinces]
        out[PROVINCES_CSV] = MediaFile(PROVINCES_CSV, _csv(header, kept))
    return out
