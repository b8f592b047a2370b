"""What a stored attachment is, decided by pcmd — never by the phone that sent it.

A phone (or a file in an instance folder) names any Content-Type it likes; a file that claims
to be a photo may be a web page with script in it. So a file is served inline only when its
first bytes are an image, audio or video format a browser plays safely, and the form's
question asks for that kind (an image question for an image, …); it is then given the type
its bytes show. Everything else — HTML, SVG, XML, PDF, unknown bytes, a video sent to a photo
question — is served as `application/octet-stream`, to be downloaded. Pure functions: bytes in.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 64  # enough of a file's start for every signature below
DOWNLOAD = "application/octet-stream"
KINDS = ("image", "audio", "video")

# ISO base media (MP4, 3GP, M4A, QuickTime): the brand after "ftyp" says which.
_AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ")
_3GP_BRANDS = (b"3gp", b"3gg", b"3ge", b"3gs", b"3gr")
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


@dataclass(frozen=True)
class Served:
    """How a file goes to a browser: its type, and whether it may be shown in the page."""

    media_type: str
    inline: bool


def asked_kind(mediatype: str | None) -> str | None:
    """The kind a question's `mediatype` asks for (`image/*` → image), or None for any file."""
    if not mediatype:
        return None
    kind = mediatype.split("/", 1)[0].strip().lower()
    return kind if kind in KINDS else None


def _iso_media(head: bytes) -> dict[str, str] | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"avif", b"avis"):
        return {"image": "image/avif"}
    if brand in _HEIF_BRANDS:
        return {"image": "image/heic"}
    if brand in _AUDIO_BRANDS:
        return {"audio": "audio/mp4"}
    if brand.startswith(_3GP_BRANDS):
        return {"audio": "audio/3gpp", "video": "video/3gpp"}
    if brand.startswith(b"3g2"):
        return {"audio": "audio/3gpp2", "video": "video/3gpp2"}
    if brand == b"qt  ":
        return {"video": "video/quicktime"}
    return {"audio": "audio/mp4", "video": "video/mp4"}


def _mpeg_audio(head: bytes) -> dict[str, str] | None:
    if head.startswith(b"ID3"):
        return {"audio": "audio/mpeg"}
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = head[1] & 0x06
        # layer bits 00 mark ADTS (AAC); 01/10/11 are MPEG layers III/II/I (MP3 and kin)
        return {"audio": "audio/aac" if layer == 0 else "audio/mpeg"}
    return None


def sniff(head: bytes) -> dict[str, str]:
    """The types a file's first bytes show, by kind (`{"image": "image/png"}`); {} = unknown.

    A container that holds sound or pictures (MP4, 3GP, Ogg, WebM) answers for both kinds;
    the question's kind picks one.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return {"image": "image/jpeg"}
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return {"image": "image/png"}
    if head.startswith((b"GIF87a", b"GIF89a")):
        return {"image": "image/gif"}
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return {"image": "image/webp"}
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return {"audio": "audio/wav"}
    if head.startswith(b"#!AMR-WB\n"):
        return {"audio": "audio/amr-wb"}
    if head.startswith(b"#!AMR\n"):
        return {"audio": "audio/amr"}
    if head.startswith(b"OggS"):
        return {"audio": "audio/ogg", "video": "video/ogg"}
    if head.startswith(b"fLaC"):
        return {"audio": "audio/flac"}
    if head.startswith(b"\x1aE\xdf\xa3"):
        return {"audio": "audio/webm", "video": "video/webm"}
    return _iso_media(head) or _mpeg_audio(head) or {}


def served_type(head: bytes, mediatype: str | None) -> Served:
    """How to serve a file whose first bytes are `head`, sent for a question asking for
    `mediatype` (`image/*`, `audio/*`, `video/*`; None when no question names the file)."""
    kind = asked_kind(mediatype)
    found = sniff(head[:HEAD_BYTES]).get(kind) if kind else None
    return Served(found, True) if found else Served(DOWNLOAD, False)
