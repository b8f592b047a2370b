"""The support log's UIC (DESIGN §6b): the four answers that identify a person never reach storage.

At ingest, on every route, a `pcmd_support` instance's `uic` group (mother's and father's
initials, birth year, sex) is replaced by one element `uic/key`: the lower-case hex
HMAC-SHA256 of the normalised code (`QX1987NU`) under the installation's secret
`<data_dir>/uic_key`. The key lets the indicators count distinct persons without pcmd holding
who they are; another installation's keys do not match (intended). A lost secret means the
same person gets a new key: counts of distinct persons then start again.

The rewrite is done on the raw bytes (the rest of the document is kept byte for byte, so a
resend of the same upload is still recognised), then the result is parsed again and checked to
hold no answer. Nothing here logs a value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import replace
from pathlib import Path

from pcmd.errors import IngestError
from pcmd.forms import contract
from pcmd.ingest.incoming import Incoming
from pcmd.ingest.instance import Instance, parse_instance
from pcmd.settings import UIC_KEY_FILE_NAME

log = logging.getLogger(__name__)

GROUP = contract.UIC_GROUP
ANSWERS = tuple(p.split("/", 1)[1] for p in contract.UIC_ANSWERS)  # mother_initial, …
KEY_LEAF = contract.UIC_KEY.split("/", 1)[1]
# The whole <uic>…</uic> element (any prefix, attributes), or an empty <uic/>.
GROUP_RE = re.compile(
    rb"<(?P<tag>(?:[A-Za-z_][\w.-]*:)?" + GROUP.encode() + rb")(?:\s[^>]*)?"
    rb"(?:/>|>.*?</(?P=tag)\s*>)",
    re.DOTALL,
)
EARLIEST_BIRTH_YEAR = 1940
MIN_AGE = 15
FIX_VI = "Cách sửa: mở lại phiếu trên điện thoại, sửa mục Mã nhận diện rồi gửi lại."
FIX_EN = "Fix: open the form again on the phone, correct the identifier code section and send it."


def key_file_for(attachments_root: Path) -> Path:
    """The secret's place, beside the attachment store in the data folder."""
    return attachments_root.parent / UIC_KEY_FILE_NAME


def ensure_key(path: Path) -> bool:
    """Create the secret (32 random bytes as hex, mode 0600) unless it exists; True if created.

    Created exclusively (O_EXCL), so two processes starting at once end with one secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    os.chmod(path, 0o600)
    return True


def read_key(path: Path) -> bytes:
    """The secret's bytes; created (with a warning in the log) if the file is missing."""
    if ensure_key(path):
        log.warning(
            "created a new UIC secret at %s: keep it in the backups (pcmd init makes it)", path
        )
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(
            f"Không đọc được khoá mã hoá mã nhận diện {path} (cannot read the UIC secret): "
            f"{exc.__class__.__name__}. Người quản trị cần khôi phục tệp này từ bản sao lưu "
            "(an administrator must restore it from a backup).",
            status=503,
        ) from None
    if len(text) < 32:
        raise IngestError(
            f"Khoá mã hoá mã nhận diện {path} bị hỏng (the UIC secret is damaged). Người quản "
            "trị cần khôi phục tệp này từ bản sao lưu (an administrator must restore it from a "
            "backup).",
            status=503,
        )
    return text.encode("ascii")


def _bad(what_vi: str, what_en: str) -> IngestError:
    return IngestError(
        f"Mã nhận diện không hợp lệ: {what_vi}. {FIX_VI} (The identifier code is not valid: "
        f"{what_en}. {FIX_EN}) Không có gì được lưu (nothing was stored).",
        status=400,
    )


def _initial(text: str | None, which_vi: str, which_en: str) -> str:
    letters = "".join(
        ch
        for ch in unicodedata.normalize("NFD", (text or "").strip().replace("Đ", "D"))
        if not unicodedata.combining(ch)
    )
    letters = letters.replace("đ", "d").upper()
    if len(letters) != 1 or not ("A" <= letters <= "Z"):
        raise _bad(
            f"chữ cái đầu tên {which_vi} phải là đúng một chữ cái",
            f"the first letter of the {which_en}'s given name must be exactly one letter",
        )
    return letters


def normalise_code(
    mother: str | None, father: str | None, birth_year: str | None, sex: str | None, today: dt.date
) -> str:
    """`QX1987NU`: initials upper-cased without diacritics (Đ → D), year, sex choice upper-cased."""
    code = _initial(mother, "của mẹ", "mother") + _initial(father, "của cha", "father")
    year_text = (birth_year or "").strip()
    latest = today.year - MIN_AGE
    if not re.fullmatch(r"\d{4}", year_text) or not (
        EARLIEST_BIRTH_YEAR <= int(year_text) <= latest
    ):
        raise _bad(
            f"năm sinh phải là bốn chữ số từ {EARLIEST_BIRTH_YEAR} đến {latest}",
            f"the year of birth must be four digits from {EARLIEST_BIRTH_YEAR} to {latest}",
        )
    sex_name = (sex or "").strip()
    if sex_name not in contract.UIC_SEXES:
        raise _bad(
            "chưa chọn giới tính (nữ, nam hoặc khác)", "the sex is not chosen (female, male, other)"
        )
    return f"{code}{year_text}{sex_name.upper()}"


def uic_key(code: str, secret: bytes) -> str:
    return hmac.new(secret, code.encode("utf-8"), hashlib.sha256).hexdigest()


def _has_answers(inst: Instance) -> bool:
    return any(path in inst.values for path in contract.UIC_ANSWERS)


def protect_xml(xml: bytes, inst: Instance, key_file: Path, today: dt.date) -> bytes:
    """The instance with its `uic` group replaced by `<uic><key>…</key></uic>`.

    An instance without UIC answers (already protected, or another form) comes back as it was.
    IngestError 400 for a malformed code; nothing is changed then."""
    if not _has_answers(inst):
        return xml
    mother, father, year, sex = (inst.values.get(p) for p in contract.UIC_ANSWERS)
    code = normalise_code(mother, father, year, sex, today)
    key = uic_key(code, read_key(key_file))
    found = list(GROUP_RE.finditer(xml))
    if len(found) != 1:
        raise _bad("phiếu có nhiều hơn một mục mã nhận diện", "the form has more than one")
    match = found[0]
    tag = match.group("tag")
    element = b"<%s><%s>%s</%s></%s>" % (
        tag,
        KEY_LEAF.encode(),
        key.encode(),
        KEY_LEAF.encode(),
        tag,
    )
    out = xml[: match.start()] + element + xml[match.end() :]
    if _has_answers(parse_instance(out)):  # defence: never store an answer
        raise _bad("không đọc được mục mã nhận diện", "the identifier section cannot be read")
    return out


def protect(
    incoming: Incoming, inst: Instance, key_file: Path, today: dt.date
) -> tuple[Incoming, Instance]:
    """`incoming` and its parsed instance with the UIC answers replaced (see `protect_xml`)."""
    if inst.form_id != contract.SUPPORT and not _has_answers(inst):
        return incoming, inst
    xml = protect_xml(incoming.xml, inst, key_file, today)
    if xml is incoming.xml:
        return incoming, inst
    parsed = parse_instance(xml)
    return replace(incoming, xml=xml, parsed=parsed), parsed
