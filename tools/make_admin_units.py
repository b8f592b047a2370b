"""Generate src/pcmd/masterdata/data/admin_units_2025.csv.

Vietnam's administrative units in force since 2025-07-01 (two-level system): 34 provinces
and 3,321 commune-level units (xã, phường, đặc khu), with GSO/NSO codes and official names.

Source: the PyPI package ``vietnam-provinces`` 2026.9.0 (data retrieved 2026-09-20),
license GPL-3.0-or-later. It is a TOOL-TIME dependency only: pcmd never imports it and it
is not listed in pyproject. Only the generated facts (codes and names) ship in the package.
Its newest releases need Python >= 3.12.

Run from the repository root:

    /root/.pyenv/versions/3.12.1/bin/python -m venv /tmp/vp-venv   # any Python >= 3.12
    /tmp/vp-venv/bin/pip install vietnam-provinces==2026.9.0
    /tmp/vp-venv/bin/python tools/make_admin_units.py

Output: UTF-8 (no BOM), LF line endings, header ``code,name,level,parent``; one country row,
then provinces (2-digit code, parent VN) by code, then communes (5-digit code, parent =
2-digit province code) by code.
"""

from __future__ import annotations

import csv
from pathlib import Path

from vietnam_provinces import Province, Ward, __data_version__, __version__

EXPECTED_VERSION = "2026.9.0"
EXPECTED_PROVINCES = 34
EXPECTED_COMMUNES = 3321
OUT = Path(__file__).resolve().parent.parent / "src/pcmd/masterdata/data/admin_units_2025.csv"


def _capitalised(name: str) -> str:
    """The package spells one unit "xã Bắc Sơn" (06325); every other name starts "Xã", "Phường"
    or "Đặc khu", and forms list names as labels, so the unit type is capitalised."""
    return name[:1].upper() + name[1:]


def build_rows() -> list[tuple[str, str, str, str]]:
    """Return the CSV rows (without header) in their final order, after checking them."""
    provinces = sorted(Province.iter_all(), key=lambda p: int(p.code))
    communes = sorted(Ward.iter_all(), key=lambda w: int(w.code))
    assert len(provinces) == EXPECTED_PROVINCES, f"{len(provinces)} provinces"
    assert len(communes) == EXPECTED_COMMUNES, f"{len(communes)} communes"

    rows = [("VN", "Việt Nam", "country", "")]
    rows += [(f"{int(p.code):02d}", p.name, "province", "VN") for p in provinces]
    rows += [
        (f"{int(w.code):05d}", _capitalised(w.name), "commune", f"{int(w.province_code):02d}")
        for w in communes
    ]

    codes = [r[0] for r in rows]
    assert len(set(codes)) == len(codes), "duplicate codes"
    province_codes = {r[0] for r in rows if r[2] == "province"}
    assert all(len(c) == 2 for c in province_codes), "province code width"
    for code, name, level, parent in rows:
        assert name, f"empty name for {code}"
        assert name.strip() == name, f"untrimmed name for {code}"
        if level == "commune":
            assert len(code) == 5, f"commune code width: {code}"
            assert parent in province_codes, f"commune {code} has unknown parent {parent}"
    return rows


def main() -> None:
    """Write the CSV and print a one-line summary."""
    if __version__ != EXPECTED_VERSION:
        print(f"warning: vietnam-provinces {__version__} installed, expected {EXPECTED_VERSION}")
    rows = build_rows()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("code", "name", "level", "parent"))
        writer.writerows(rows)
    n_prov = sum(r[2] == "province" for r in rows)
    n_comm = sum(r[2] == "commune" for r in rows)
    print(
        f"wrote {OUT.name}: 1 country, {n_prov} provinces, {n_comm} communes "
        f"(vietnam-provinces {__version__}, data {__data_version__})"
    )


if __name__ == "__main__":
    main()
