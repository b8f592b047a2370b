"""Reading an XForm: the kind of file each upload question asks for."""

from __future__ import annotations

from pcmd.forms.convert import convert_workbook
from pcmd.forms.xform import upload_mediatypes

MEDIA_FORM = """
| survey |
| | type | name | label |
| | begin_group | findings | Kết quả |
| | image | photo | Ảnh |
| | audio | voice | Ghi âm |
| | end_group | | |
| | video | clip | Video |
| | file | paper | Tệp |
| | text | note | Ghi chú |
| settings |
| | form_id | version |
| | media_kinds | 2026112401 |
"""


def test_upload_mediatypes__each_upload_question_and_its_kind() -> None:
    build = convert_workbook(MEDIA_FORM.encode(), "media_kinds.md", validate=False)
    found = upload_mediatypes(build.xform)
    assert found["findings/photo"] == "image/*"
    assert found["findings/voice"] == "audio/*"
    assert found["clip"] == "video/*"
    assert set(found) == {"findings/photo", "findings/voice", "clip", "paper"}
    assert found["paper"] == "application/*"  # pyxform: a file question
