"""A living demo province: its real communes, a register, reference data, two years of records.

Everything goes in the way a province's would: the register and denominators as the CSV files
`pcmd establishments import` and `pcmd reference import` read, and every submission as instance
XML through the one ingest function (as if sent from ODK Collect). The generator is seeded, so
two demos are identical. No person is named anywhere: establishments are businesses, and the
forms hold counts only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

DEMO_PROVINCE = "51"  # Tỉnh Quảng Ngãi: 96 communes since 2025-07-01
VERSION = "2026112301"

EST_TYPES = (
    ("karaoke", "Karaoke", 5),
    ("massage_xong_hoi", "Massage", 3),
    ("khach_san_nha_nghi", "Nhà nghỉ", 6),
    ("quan_bar_vu_truong", "Bar", 1),
    ("cafe_giai_khat", "Cà phê", 4),
    ("cat_toc_goi_dau", "Gội đầu", 3),
)
EST_NAMES = (
    "Hoàng Gia",
    "Bình Minh",
    "Sao Mai",
    "Hoa Sen",
    "Phú Quý",
    "Thanh Bình",
    "Ánh Dương",
    "Biển Xanh",
    "Hải Âu",
    "Trường An",
    "Kim Long",
    "Ngọc Lan",
    "Phương Đông",
    "Mỹ Khê",
)
STREETS = (
    "Quang Trung",
    "Lê Lợi",
    "Hùng Vương",
    "Phan Đình Phùng",
    "Nguyễn Huệ",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Bà Triệu",
    "Phạm Văn Đồng",
)
CHANNELS = (
    "hoi_nghi",
    "truc_tiep",
    "loa_dai",
    "bao_chi",
    "mang_xa_hoi",
    "pano_to_roi",
    "van_nghe",
    "tu_van",
)
SETTINGS = ("cong_dong", "co_so_kd", "kcn", "truong_hoc", "truc_tuyen")
TOPICS = (
    "phap_luat",
    "tac_hai",
    "hiv_sti",
    "giam_ky_thi",
    "mua_ban_nguoi",
    "ma_tuy",
    "tinh_duc_an_toan",
    "ho_tro_hoa_nhap",
)
ORGS = ("mttq", "phu_nu", "thanh_nien", "cong_an", "van_hoa_xa_hoi", "y_te", "giao_duc")


@dataclass(frozen=True)
class DemoEstablishment:
    id: str
    name: str
    type: str
    commune: str
    address: str
    workers: int


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def establishments(communes: Sequence[str], rng: random.Random) -> list[DemoEstablishment]:
    out = []
    for commune in communes:
        for i in range(rng.randint(2, 7)):
            kind, prefix, _w = rng.choices(EST_TYPES, weights=[t[2] for t in EST_TYPES])[0]
            out.append(
                DemoEstablishment(
                    id=f"{commune}-{i + 1:03d}",
                    name=f"{prefix} {rng.choice(EST_NAMES)}",
                    type=kind,
                    commune=commune,
                    address=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
                    workers=rng.randint(2, 14),
                )
            )
    return out


def establishments_csv(register: Sequence[DemoEstablishment]) -> str:
    return _csv(
        ("id", "name", "type", "commune", "address", "license_no", "status"),
        [(e.id, e.name, e.type, e.commune, e.address, f"GP-{e.id}", "active") for e in register],
    )


def reference_csv(
    province: str,
    communes: Sequence[str],
    register: Sequence[DemoEstablishment],
    years: Sequence[int],
    rng: random.Random,
) -> str:
    """Denominators: communes' own students and officials; province-level figures otherwise."""
    workers_by_commune: dict[str, int] = {}
    for est in register:
        workers_by_commune[est.commune] = workers_by_commune.get(est.commune, 0) + est.workers
    rows: list[tuple[object, ...]] = []
    for year in years:
        for commune in communes:
            rows.append((commune, year, "students", rng.randint(300, 2600)))
            rows.append((commune, year, "officials_commune", rng.randint(8, 22)))
            rows.append(
                # the register's head count: more work there than any visit finds present
                (
                    commune,
                    year,
                    "establishment_workers",
                    round(workers_by_commune.get(commune, 0) * 2.5),
                )
            )
        rows.append((province, year, "industrial_workers", rng.randint(38_000, 46_000)))
        rows.append((province, year, "officials_province", rng.randint(700, 900)))
        rows.append((province, year, "sex_workers_estimated", rng.randint(250, 400)))
        rows.extend((commune, year, "sex_workers_in_need", 3) for commune in communes)
    return _csv(("org_unit", "year", "key", "value"), rows)


def _meta(instance_id: str, day: dt.date, rng: random.Random) -> str:
    hour = rng.randint(7, 17)
    return (
        f"<start>{day.isoformat()}T{hour:02d}:00:00.000+07:00</start>"
        f"<end>{day.isoformat()}T{hour:02d}:25:00.000+07:00</end><today>{day.isoformat()}</today>"
        f"<deviceid>collect:demo{rng.randint(1000, 9999)}</deviceid><username>demo</username>"
    )


def _where(province: str, commune: str, rng: random.Random) -> str:
    return (
        f"<where><province>{province}</province><commune>{commune}</commune></where>"
        f"<reporter_org>{rng.choice(ORGS)}</reporter_org>"
    )


def outreach(province: str, commune: str, day: dt.date, rng: random.Random) -> bytes:
    iid = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    channel = rng.choice(CHANNELS)
    media = channel in ("loa_dai", "bao_chi", "mang_xa_hoi")
    setting = "truc_tuyen" if channel == "mang_xa_hoi" else rng.choice(SETTINGS)
    parts = (
        [0, 0, 0, 0]
        if media
        else [
            rng.randint(0, 25) if setting == "co_so_kd" else rng.randint(0, 4),
            rng.randint(20, 120) if setting == "kcn" else rng.randint(0, 5),
            rng.randint(40, 300) if setting == "truong_hoc" else rng.randint(0, 10),
            rng.randint(10, 80),
        ]
    )
    female = rng.randint(0, sum(parts)) if sum(parts) else 0
    topics = " ".join(sorted(rng.sample(TOPICS, rng.randint(1, 3))))
    return (
        f'<?xml version="1.0"?><pcmd_outreach id="pcmd_outreach" version="{VERSION}">'
        f"{_meta(iid, day, rng)}{_where(province, commune, rng)}"
        f"<activity_date>{day.isoformat()}</activity_date><channel>{channel}</channel>"
        f"<setting>{setting}</setting><topics>{topics}</topics><integrated>khong</integrated>"
        f"<reach><n_establishment_workers>{parts[0]}</n_establishment_workers>"
        f"<n_industrial_workers>{parts[1]}</n_industrial_workers>"
        f"<n_students>{parts[2]}</n_students><n_general>{parts[3]}</n_general>"
        f"<n_female>{female}</n_female><n_total>{sum(parts)}</n_total></reach>"
        f"<media_items>{rng.randint(1, 6) if media else ''}</media_items>"
        f"<materials>{rng.randint(0, 200)}</materials><photo/><location/><notes/>"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_outreach>"
    ).encode()


def training(province: str, commune: str, day: dt.date, rng: random.Random) -> bytes:
    iid = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    level = "tinh" if rng.random() < 0.3 else "xa"
    prov = rng.randint(10, 40) if level == "tinh" else rng.randint(0, 3)
    comm = rng.randint(5, 30)
    police, collab, other = rng.randint(0, 8), rng.randint(0, 15), rng.randint(0, 5)
    total = prov + comm + police + collab + other
    return (
        f'<?xml version="1.0"?><pcmd_training id="pcmd_training" version="{VERSION}">'
        f"{_meta(iid, day, rng)}{_where(province, commune, rng)}"
        f"<start_date>{day.isoformat()}</start_date><days>{rng.choice(('0.5', '1', '2'))}</days>"
        f"<organizer_level>{level}</organizer_level><topics>nghiep_vu phap_luat</topics>"
        f"<participants><n_province_staff>{prov}</n_province_staff>"
        f"<n_commune_staff>{comm}</n_commune_staff><n_police>{police}</n_police>"
        f"<n_collaborators>{collab}</n_collaborators><n_other>{other}</n_other>"
        f"<new_province_staff>{prov // 3}</new_province_staff>"
        f"<new_commune_staff>{comm // 2}</new_commune_staff>"
        f"<n_female>{rng.randint(0, total)}</n_female><n_total>{total}</n_total>"
        f"</participants><attendance_photo/><notes/>"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_training>"
    ).encode()


def inspection(province: str, est: DemoEstablishment, day: dt.date, rng: random.Random) -> bytes:
    iid = f"uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    violation = rng.random() < 0.12
    action = rng.choice(("phat_tien", "canh_cao", "nhac_nho")) if violation else "khong"
    fine = (
        rng.choice((2_000_000, 5_000_000, 7_500_000, 15_000_000)) if action == "phat_tien" else ""
    )
    workers = max(1, est.workers - rng.randint(0, 3))
    return (
        f'<?xml version="1.0"?><pcmd_inspection id="pcmd_inspection" version="{VERSION}">'
        f"{_meta(iid, day, rng)}{_where(province, est.commune, rng)}"
        f"<inspection_date>{day.isoformat()}</inspection_date>"
        f"<team>{rng.choice(('doi_178_tinh', 'doi_178_xa', 'cong_an'))}</team>"
        f"<establishment><known>yes</known><id>{est.id}</id><name/><address/><license_no/>"
        f"<type>{est.type}</type></establishment>"
        f"<findings><n_workers>{workers}</n_workers>"
        f"<n_female_workers>{rng.randint(0, workers)}</n_female_workers>"
        f"<license_valid>{'no' if violation and rng.random() < 0.3 else 'yes'}</license_valid>"
        f"<violation>{'yes' if violation else 'no'}</violation>"
        f"<violation_types>{'dieu_kien_antt' if violation else ''}</violation_types>"
        f"<action>{action}</action><fine_vnd>{fine}</fine_vnd>"
        f"<n_workers_informed>{rng.randint(0, workers)}</n_workers_informed>"
        f"<commitment_signed>yes</commitment_signed></findings><photo/><location/><notes/>"
        f"<meta><instanceID>{iid}</instanceID></meta></pcmd_inspection>"
    ).encode()


def submissions(
    province: str,
    communes: Sequence[str],
    register: Sequence[DemoEstablishment],
    start: dt.date,
    end: dt.date,
    rng: random.Random,
) -> Iterator[bytes]:
    """Two years of records: most communes active, some lagging, a few silent."""
    activity = {c: rng.choice((0.0, 0.3, 0.7, 1.0, 1.0, 1.4)) for c in communes}
    by_commune: dict[str, list[DemoEstablishment]] = {}
    for est in register:
        by_commune.setdefault(est.commune, []).append(est)
    month = dt.date(start.year, start.month, 1)
    while month <= end:
        nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        days = (min(nxt, end + dt.timedelta(days=1)) - month).days
        for commune in communes:
            rate = activity[commune]
            for _ in range(int(rng.random() * 3 * rate + rate)):
                yield outreach(province, commune, month + dt.timedelta(rng.randrange(days)), rng)
            if rng.random() < 0.08 * rate:
                yield training(province, commune, month + dt.timedelta(rng.randrange(days)), rng)
            for est in by_commune.get(commune, []):
                if rng.random() < 0.05 * rate:
                    day = month + dt.timedelta(rng.randrange(days))
                    yield inspection(province, est, day, rng)
        month = nxt
