"""Read what pcmd needs from an XForm: id, version, title, field types from the binds, media.

Field paths are relative to the instance root (`reach/n_students`), as DESIGN §6 writes them.
The XForm is ours (built by pyxform) or a user's upload, so it is parsed with defusedxml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from pcmd.errors import FormBuildError

XF = "http://www.w3.org/2002/xforms"
H = "http://www.w3.org/1999/xhtml"
NS = {"xf": XF, "h": H}
# Body controls whose element names tell a select from a free input.
CONTROLS = ("input", "select1", "select", "upload", "trigger", "range", "rank", "odk:rank")
MEDIA_RE = re.compile(r"jr://(?:file-csv|file|images|audio|video)/([^'\"\s)]+)")


@dataclass(frozen=True)
class FieldInfo:
    path: str
    type: str  # XForm bind type: string, int, decimal, date, dateTime, binary, geopoint, …
    control: str | None  # body control: input, select1, select, upload; None for calculate/meta
    calculate: bool
    required: bool
    relevant: str | None = None
    constraint: str | None = None
    # Choice names of a select with a list in the form; None for free input or a CSV file.
    choices: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "control": self.control,
            "calculate": self.calculate,
            "required": self.required,
            "choices": list(self.choices) if self.choices is not None else None,
        }


@dataclass(frozen=True)
class XFormInfo:
    form_id: str
    version: str
    title: str
    root: str
    fields: dict[str, FieldInfo]
    media_files: tuple[str, ...]


def _parse(xml: str | bytes) -> Element:
    try:
        return SafeET.fromstring(xml)  # type: ignore[no-any-return]
    except Exception as exc:  # defusedxml raises several unrelated classes
        raise FormBuildError(
            f"XForm không đọc được (the XForm is not well-formed XML): {exc}"
        ) from exc


def _choice_names(control: Element, instances: dict[str | None, Element]) -> tuple[str, ...] | None:
    """Names of a select's choices: inline <item>s or a secondary instance in the form."""
    items = control.findall("xf:item/xf:value", NS)
    if items:
        return tuple((v.text or "").strip() for v in items)
    itemset = control.find("xf:itemset", NS)
    if itemset is None:
        return None
    match = re.match(r"instance\('([^']+)'\)", itemset.get("nodeset", ""))
    instance = instances.get(match.group(1)) if match else None
    if instance is None or instance.get("src"):  # an external CSV: choices live in media
        return None
    value = itemset.find("xf:value", NS)
    key = value.get("ref", "name") if value is not None else "name"
    names: list[str] = []
    for item in instance.iter():
        if _local(item.tag) == "item":
            names.extend((c.text or "").strip() for c in item if _local(c.tag) == key)
    return tuple(names)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xform(xml: str | bytes) -> XFormInfo:
    root = _parse(xml)
    model = root.find("h:head/xf:model", NS)
    title_el = root.find("h:head/h:title", NS)
    if model is None:
        raise FormBuildError("XForm thiếu <model> (the XForm has no <model> in <h:head>).")
    instance = model.find("xf:instance", NS)
    if instance is None or len(instance) == 0:
        raise FormBuildError("XForm thiếu instance chính (the XForm has no main <instance>).")
    data = instance[0]
    form_id = data.get("id")
    if not form_id:
        raise FormBuildError("XForm thiếu id của biểu mẫu (the main instance has no id attribute).")
    root_name = data.tag.split("}")[-1]
    prefix = f"/{root_name}/"

    instances = {
        inst.get("id"): inst for inst in model.findall("xf:instance", NS) if inst.get("id")
    }
    controls: dict[str, str] = {}
    choices: dict[str, tuple[str, ...]] = {}
    body = root.find("h:body", NS)
    if body is not None:
        for el in body.iter():
            name = el.tag.split("}")[-1]
            ref = el.get("ref")
            if ref and name in ("input", "select1", "select", "upload", "range", "rank", "trigger"):
                controls[ref] = name
                if name in ("select1", "select"):
                    found = _choice_names(el, instances)
                    if found is not None:
                        choices[ref] = found

    fields: dict[str, FieldInfo] = {}
    for bind in model.findall("xf:bind", NS):
        nodeset = bind.get("nodeset", "")
        if not nodeset.startswith(prefix):
            continue
        path = nodeset.removeprefix(prefix)
        fields[path] = FieldInfo(
            path=path,
            type=bind.get("type", "string"),
            control=controls.get(nodeset),
            calculate=bind.get("calculate") is not None,
            required=bind.get("required", "false()").strip() == "true()",
            relevant=bind.get("relevant"),
            constraint=bind.get("constraint"),
            choices=choices.get(nodeset),
        )
    media = sorted(set(MEDIA_RE.findall(SafeET.tostring(root, encoding="unicode"))))
    return XFormInfo(
        form_id=form_id,
        version=data.get("version", ""),
        title=(title_el.text or "").strip() if title_el is not None else form_id,
        root=root_name,
        fields=fields,
        media_files=tuple(media),
    )


@dataclass(frozen=True)
class Labels:
    """Question and choice labels by language, for showing answers to reviewers."""

    questions: dict[str, dict[str, str]]  # path → {language: label}
    choices: dict[str, dict[str, dict[str, str]]]  # path → {choice name → {language: label}}
    languages: tuple[str, ...]

    def question(self, path: str, lang: str) -> str:
        found = self.questions.get(path, {})
        return found.get(lang) or next(iter(found.values()), path)

    def choice(self, path: str, name: str, lang: str) -> str:
        found = self.choices.get(path, {}).get(name, {})
        return found.get(lang) or next(iter(found.values()), name)


def _lang_code(lang: str) -> str:
    """'Vietnamese (vi)' → 'vi'; a language without a code keeps its name."""
    match = re.search(r"\(([a-z]{2,3})\)\s*$", lang)
    return match.group(1) if match else lang


def read_labels(xml: str | bytes) -> Labels:
    root = _parse(xml)
    model = root.find("h:head/xf:model", NS)
    if model is None:
        raise FormBuildError("XForm thiếu <model> (the XForm has no <model>).")
    texts: dict[str, dict[str, str]] = {}
    languages: list[str] = []
    for translation in model.iterfind("xf:itext/xf:translation", NS):
        lang = _lang_code(translation.get("lang", ""))
        languages.append(lang)
        for text in translation.iterfind("xf:text", NS):
            value = text.find("xf:value", NS)
            if value is not None and text.get("id"):
                texts.setdefault(text.get("id", ""), {})[lang] = "".join(value.itertext()).strip()
    data = model.find("xf:instance", NS)
    prefix = f"/{_local(data[0].tag)}/" if data is not None and len(data) else "/"
    instances = {i.get("id"): i for i in model.findall("xf:instance", NS) if i.get("id")}
    questions: dict[str, dict[str, str]] = {}
    choices: dict[str, dict[str, dict[str, str]]] = {}
    body = root.find("h:body", NS)
    for el in body.iter() if body is not None else ():
        ref = el.get("ref", "")
        if not ref.startswith(prefix):
            continue
        path = ref.removeprefix(prefix)
        label = el.find("xf:label", NS)
        if label is not None:
            found = re.match(r"jr:itext\('([^']+)'\)", label.get("ref", ""))
            if found and found.group(1) in texts:
                questions[path] = texts[found.group(1)]
            elif label.text:
                questions[path] = {lang: label.text.strip() for lang in languages or ["default"]}
        itemset = el.find("xf:itemset", NS)
        if itemset is not None:
            match = re.match(r"instance\('([^']+)'\)", itemset.get("nodeset", ""))
            instance = instances.get(match.group(1)) if match else None
            if instance is not None and not instance.get("src"):
                named: dict[str, dict[str, str]] = {}
                for item in instance.iter():
                    if _local(item.tag) != "item":
                        continue
                    fields = {_local(c.tag): (c.text or "").strip() for c in item}
                    name = fields.get("name", "")
                    named[name] = texts.get(fields.get("itextId", ""), {"default": name})
                choices[path] = named
    return Labels(questions, choices, tuple(languages))


def upload_mediatypes(xml: str | bytes) -> dict[str, str]:
    """Each upload question's path and the `mediatype` it asks for (`image/*`, `audio/*`, …)."""
    root = _parse(xml)
    instance = root.find("h:head/xf:model/xf:instance", NS)
    prefix = f"/{_local(instance[0].tag)}/" if instance is not None and len(instance) else "/"
    body = root.find("h:body", NS)
    found: dict[str, str] = {}
    for el in body.iter(f"{{{XF}}}upload") if body is not None else ():
        ref = el.get("ref", "")
        if ref.startswith(prefix):
            found[ref.removeprefix(prefix)] = el.get("mediatype", "")
    return found
