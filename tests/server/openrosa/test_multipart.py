"""The lean reading of an XML-only upload gives what the streaming reader gives, and hands
everything else back to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pcmd.ingest.files import FileStore
from pcmd.server.openrosa.multipart import Upload, read_upload, split_small

TYPE = "multipart/form-data; boundary=XyZ"
XML = b'<?xml version="1.0"?><f id="f"><a>1\r\n--Xy</a></f>'


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    file = f'; filename="{filename}"' if filename else ""
    head = f'--XyZ\r\nContent-Disposition: form-data; name="{name}"{file}\r\n'
    return head.encode() + b"Content-Type: text/xml\r\n\r\n" + content + b"\r\n"


def streamed(body: bytes, tmp_path: Path) -> Upload:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 7):  # small chunks: boundaries split across them
            yield body[i : i + 7]

    return asyncio.run(read_upload(TYPE, chunks(), FileStore(tmp_path), 1 << 20))


@pytest.mark.parametrize(
    "body",
    [
        part("xml_submission_file", XML, "instance.xml") + b"--XyZ--\r\n",
        part("xml_submission_file", XML) + b"--XyZ--",
        part("*isIncomplete*", b"yes") + part("xml_submission_file", XML) + b"--XyZ--\r\n",
    ],
)
def test_split_small__xml_only__as_the_streaming_reader(body: bytes, tmp_path: Path) -> None:
    lean = split_small(TYPE, body)
    assert lean is not None
    assert lean.xml == XML
    full = streamed(body, tmp_path)
    assert (lean.xml, lean.fields, lean.files) == (full.xml, full.fields, full.files)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            part("xml_submission_file", XML) + part("p.jpg", b"\xff\xd8", "p.jpg") + b"--XyZ--",
            "a file",
        ),
        (
            part("xml_submission_file", XML) + part("xml_submission_file", XML) + b"--XyZ--",
            "two XML",
        ),
        (part("other", b"x") + b"--XyZ--", "no XML part"),
        (part("xml_submission_file", XML), "no closing boundary"),
        (b"preamble\r\n" + part("xml_submission_file", XML) + b"--XyZ--", "a preamble"),
        (part("xml_submission_file", XML) + b"--XyZ--\r\nepilogue", "an epilogue"),
        (b"--XyZ\r\nno blank line--XyZ--", "no headers' end"),
    ],
)
def test_split_small__anything_else__left_to_the_streaming_reader(body: bytes, why: str) -> None:
    assert split_small(TYPE, body) is None, why


def test_split_small__not_multipart__left_to_the_streaming_reader() -> None:
    body = part("xml_submission_file", XML) + b"--XyZ--"
    assert split_small("text/xml", body) is None
    assert split_small("multipart/form-data", body) is None
