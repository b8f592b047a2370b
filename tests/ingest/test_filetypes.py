"""What a stored file is served as: decided from its first bytes and its question's kind."""

from __future__ import annotations

from pcmd.ingest.filetypes import DOWNLOAD, Served, asked_kind, served_type, sniff

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00"
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00"
THREE_GP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"
AMR = b"#!AMR\n\x3c\x91"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
MP3_FRAME = b"\xff\xfb\x90\x44\x00"  # MPEG-1 layer III
AAC = b"\xff\xf1\x50\x80\x02"  # ADTS
OGG = b"OggS\x00\x02\x00\x00"
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'


def test_asked_kind__from_the_question_mediatype() -> None:
    assert asked_kind("image/*") == "image"
    assert asked_kind("audio/*") == "audio"
    assert asked_kind("video/*") == "video"
    assert asked_kind("application/*") is None
    assert asked_kind("") is None
    assert asked_kind(None) is None


def test_sniff__known_signatures() -> None:
    assert sniff(JPEG) == {"image": "image/jpeg"}
    assert sniff(PNG) == {"image": "image/png"}
    assert sniff(b"GIF89a\x01\x00") == {"image": "image/gif"}
    assert sniff(WEBP) == {"image": "image/webp"}
    assert sniff(HEIC) == {"image": "image/heic"}
    assert sniff(WAV) == {"audio": "audio/wav"}
    assert sniff(AMR) == {"audio": "audio/amr"}
    assert sniff(MP3) == {"audio": "audio/mpeg"}
    assert sniff(MP3_FRAME) == {"audio": "audio/mpeg"}
    assert sniff(AAC) == {"audio": "audio/aac"}
    assert sniff(M4A) == {"audio": "audio/mp4"}
    assert sniff(MP4) == {"audio": "audio/mp4", "video": "video/mp4"}
    assert sniff(THREE_GP) == {"audio": "audio/3gpp", "video": "video/3gpp"}
    assert sniff(OGG) == {"audio": "audio/ogg", "video": "video/ogg"}
    assert sniff(HTML) == {}
    assert sniff(SVG) == {}
    assert sniff(b"") == {}


def test_served_type__inline_only_when_bytes_match_the_question() -> None:
    assert served_type(JPEG, "image/*") == Served("image/jpeg", True)
    assert served_type(THREE_GP, "audio/*") == Served("audio/3gpp", True)
    assert served_type(THREE_GP, "video/*") == Served("video/3gpp", True)
    assert served_type(AMR, "audio/*") == Served("audio/amr", True)
    download = Served(DOWNLOAD, False)
    assert served_type(HTML, "image/*") == download
    assert served_type(SVG, "image/*") == download
    assert served_type(MP4, "image/*") == download  # a video sent to a photo question
    assert served_type(JPEG, "audio/*") == download
    assert served_type(JPEG, None) == download  # no question names the file
    assert served_type(JPEG, "") == download  # a question for any file
