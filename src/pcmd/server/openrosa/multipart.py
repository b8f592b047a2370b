"""Streaming multipart/form-data reader for OpenRosa submissions.

Attachments go to temporary files in the file store as they arrive (hashed on the way), so a
large upload is never held in memory; the XML part, which must be parsed and stored anyway, is
kept in memory. The byte limit is enforced while reading, not after.

The common upload is the XML alone (Collect sends photos with it only when a form has them):
`split_small` reads such a body, already in memory, by splitting it at its boundaries, and
hands anything else (a file part, anything unusual) back to the streaming reader.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from pcmd.errors import IngestError, StorageError
from pcmd.ingest.files import FileStore, safe_filename, storage_error
from pcmd.ingest.incoming import IncomingFile

XML_PART = "xml_submission_file"
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class Upload:
    xml: bytes | None = None
    files: list[IncomingFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    temp_paths: list[Path] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        return self.fields.get("*isIncomplete*", "").lower() == "yes"

    def cleanup(self) -> None:
        """Remove temporary files ingest did not move into the store."""
        for path in self.temp_paths:
            path.unlink(missing_ok=True)


class _Reader:
    def __init__(self, store: FileStore) -> None:
        self.store = store
        self.upload = Upload()
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.filename: str | None = None
        self.buffer = bytearray()
        self.handle: BinaryIO | None = None
        self.temp: Path | None = None
        self.sha = hashlib.sha256()
        self.size = 0
        self.error: IngestError | None = None

    # python-multipart callbacks ------------------------------------------------------------
    def on_part_begin(self) -> None:
        self.headers = {}
        self.name, self.filename = "", None
        self.buffer = bytearray()
        self.handle, self.temp = None, None
        self.sha, self.size = hashlib.sha256(), 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.strip().lower()] = self.header_value.strip()
        self.header_field, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if raw_filename is not None and self.name != XML_PART:
            self.filename = safe_filename(raw_filename.decode("utf-8", "replace"))
            handle, temp = self.store.temp_file()
            self.handle, self.temp = handle, temp
            self.upload.temp_paths.append(temp)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.handle is not None:
            self.handle.write(chunk)
            self.sha.update(chunk)
            self.size += len(chunk)
            return
        self.buffer += chunk
        if self.name != XML_PART and len(self.buffer) > MAX_FIELD_BYTES:
            raise IngestError(f"Trường {self.name!r} quá dài (form field too long).", status=400)

    def on_part_end(self) -> None:
        if self.handle is not None and self.temp is not None and self.filename is not None:
            self.handle.close()
            content_type = self.headers.get(b"content-type", b"application/octet-stream")
            self.upload.files.append(
                IncomingFile(
                    filename=self.filename,
                    content_type=content_type.decode("latin-1").split(";")[0].strip(),
                    sha256=self.sha.hexdigest(),
                    size=self.size,
                    temp_path=self.temp,
                )
            )
        elif self.name == XML_PART:
            self.upload.xml = bytes(self.buffer)
        else:
            self.upload.fields[self.name] = self.buffer.decode("utf-8", "replace")
        self.handle = None


def split_small(content_type: str, body: bytes) -> Upload | None:
    """The upload of a body holding only the XML part (and small text fields), or None when the
    streaming reader must read it: a file part, or anything it would judge differently."""
    kind, options = parse_options_header(content_type.encode("latin-1"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        return None
    delimiter = b"--" + boundary
    if not body.startswith(delimiter + b"\r\n"):
        return None
    close = body.find(b"\r\n" + delimiter + b"--")
    if close < 0 or body[close + len(delimiter) + 4 :] not in (b"", b"\r\n"):
        return None
    upload = Upload()
    for part in body[len(delimiter) + 2 : close].split(b"\r\n" + delimiter + b"\r\n"):
        head, blank, content = part.partition(b"\r\n\r\n")
        if not blank:
            return None
        headers = {}
        for line in head.split(b"\r\n"):
            name, colon, value = line.partition(b":")
            if not colon:
                return None
            headers[name.strip().lower()] = value.strip()
        _disposition, params = parse_options_header(headers.get(b"content-disposition", b""))
        field_name = params.get(b"name", b"").decode("utf-8", "replace")
        if field_name == XML_PART and upload.xml is None:
            upload.xml = content
        elif field_name == XML_PART or b"filename" in params or len(content) > MAX_FIELD_BYTES:
            return None
        else:
            upload.fields[field_name] = content.decode("utf-8", "replace")
    return upload if upload.xml is not None else None


def _close_quietly(reader: _Reader) -> None:
    if reader.handle is not None:
        # closing flushes, and the disk that failed the write may fail this too
        with contextlib.suppress(OSError):
            reader.handle.close()


async def read_upload(
    content_type: str, chunks: AsyncIterator[bytes], store: FileStore, limit: int
) -> Upload:
    """Read a multipart body; raise IngestError 400/413 (temporary files removed) on bad input."""
    kind, options = parse_options_header(content_type.encode("latin-1"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise IngestError(
            "Phiếu phải gửi dạng multipart/form-data (a submission must be multipart/form-data "
            "with a boundary).",
            status=400,
        )
    reader = _Reader(store)
    callbacks = {
        "on_part_begin": reader.on_part_begin,
        "on_part_data": reader.on_part_data,
        "on_part_end": reader.on_part_end,
        "on_header_field": reader.on_header_field,
        "on_header_value": reader.on_header_value,
        "on_header_end": reader.on_header_end,
        "on_headers_finished": reader.on_headers_finished,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise IngestError(
                    f"Phiếu quá lớn: hơn {limit:,} byte (submission larger than {limit:,} bytes): "
                    "send fewer or smaller photos.",
                    status=413,
                )
            parser.write(chunk)
        parser.finalize()
    except IngestError:
        reader.upload.cleanup()
        if reader.handle is not None:
            reader.handle.close()
        raise
    except OSError as exc:  # writing a file: the disk, not the request (503, send again)
        _close_quietly(reader)
        reader.upload.cleanup()
        raise (storage_error(exc) or StorageError(str(exc))) from exc
    except Exception as exc:  # python-multipart raises its own parse errors
        reader.upload.cleanup()
        if reader.handle is not None:
            reader.handle.close()
        raise IngestError(
            f"Nội dung multipart bị lỗi (malformed multipart body): {exc}.", status=400
        ) from exc
    if reader.upload.xml is None:
        reader.upload.cleanup()
        raise IngestError(
            f"Thiếu phần {XML_PART} (the request has no {XML_PART} part).", status=400
        )
    return reader.upload
