"""The OData service document and `$metadata` (EDMX, CSDL 4.0) of a form, shaped as ODK
Central shapes them: `__system` of type `org.opendatakit.submission.metadata`, groups as
complex types, each repeat an entity type and set `Submissions.<path>` reached from its parent
by a navigation property. Enum members carry their (default) values, which CSDL allows and
some clients require. Pure: fields in, text out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from pcmd.server.central.schema import Field, repeat_tables, sanitize

FQDN_ROOT = "org.opendatakit.user"
TYPES = {
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
}

EDM = "http://docs.oasis-open.org/odata/ns/edm"
SYSTEM_SCHEMA = f"""    <Schema xmlns="{EDM}" Namespace="org.opendatakit.submission">
      <ComplexType Name="metadata">
        <Property Name="submissionDate" Type="Edm.DateTimeOffset"/>
        <Property Name="updatedAt" Type="Edm.DateTimeOffset"/>
        <Property Name="submitterId" Type="Edm.String"/>
        <Property Name="submitterName" Type="Edm.String"/>
        <Property Name="attachmentsPresent" Type="Edm.Int64"/>
        <Property Name="attachmentsExpected" Type="Edm.Int64"/>
        <Property Name="status" Type="org.opendatakit.submission.Status"/>
        <Property Name="reviewState" Type="org.opendatakit.submission.ReviewState"/>
        <Property Name="deviceId" Type="Edm.String"/>
        <Property Name="edits" Type="Edm.Int64"/>
        <Property Name="formVersion" Type="Edm.String"/>
      </ComplexType>
      <EnumType Name="Status">
        <Member Name="notDecrypted" Value="0"/>
        <Member Name="missingEncryptedFormData" Value="1"/>
      </EnumType>
      <EnumType Name="ReviewState">
        <Member Name="hasIssues" Value="0"/>
        <Member Name="edited" Value="1"/>
        <Member Name="rejected" Value="2"/>
        <Member Name="approved" Value="3"/>
      </EnumType>
    </Schema>
"""

CAP = "Org.OData.Capabilities.V1"
CAPABILITIES = f"""          <Annotation Term="{CAP}.ConformanceLevel"
            EnumMember="{CAP}.ConformanceLevelType/Minimal"/>
          <Annotation Term="{CAP}.BatchSupported" Bool="false"/>
          <Annotation Term="{CAP}.CountRestrictions">
            <Record><PropertyValue Property="Countable" Bool="true"/></Record>
          </Annotation>
          <Annotation Term="{CAP}.FilterRestrictions">
            <Record>
              <PropertyValue Property="Filterable" Bool="true"/>
              <PropertyValue Property="RequiresFilter" Bool="false"/>
              <PropertyValue Property="NonFilterableProperties">
                <Collection>
{{paths}}                </Collection>
              </PropertyValue>
            </Record>
          </Annotation>
          <Annotation Term="{CAP}.SortRestrictions">
            <Record><PropertyValue Property="Sortable" Bool="false"/></Record>
          </Annotation>
          <Annotation Term="{CAP}.ExpandRestrictions">
            <Record><PropertyValue Property="Expandable" Bool="false"/></Record>
          </Annotation>
"""


@dataclass
class _Bag:
    name: str
    path: str | None
    repeat: bool = False
    properties: list[tuple[str, str, bool]] = field(default_factory=list)  # name, type, nav


def _parts(path: str) -> list[str]:
    return [sanitize(p) for p in path.split("/")]


def _types(form_id: str, fields: tuple[Field, ...]) -> tuple[list[_Bag], list[_Bag]]:
    """Entity types (Submissions and one per repeat) and complex types (one per group)."""
    base = f"{FQDN_ROOT}.{sanitize(form_id)}"
    submissions = _Bag("Submissions", None)
    entities, complexes, stack = [submissions], [], [submissions]
    for f in fields:
        while stack[-1].path is not None and not f.path.startswith(f"{stack[-1].path}/"):
            stack.pop()
        out = stack[-1]
        name = sanitize(f.name)
        type_name = ".".join(_parts(f.path))
        if f.kind == "structure":
            bag = _Bag(type_name, f.path)
            complexes.append(bag)
            stack.append(bag)
            out.properties.append((name, f"{base}.{type_name}", False))
        elif f.kind == "repeat":
            parents = [b for b in stack if b.repeat]
            id_parts = ["Submissions"] + (_parts(parents[-1].path or "") if parents else [])
            bag = _Bag(f"Submissions.{type_name}", f.path, repeat=True)
            bag.properties.append((f"__{'-'.join(id_parts)}-id", "Edm.String", False))
            entities.append(bag)
            stack.append(bag)
            out.properties.append((name, f"Collection({base}.Submissions.{type_name})", True))
        else:
            out.properties.append((name, TYPES.get(f.kind, "Edm.String"), False))
    return entities, complexes


def _properties(bag: _Bag, indent: str) -> str:
    tag = {True: "NavigationProperty", False: "Property"}
    return "".join(
        f'{indent}<{tag[nav]} Name="{name}" Type="{kind}"/>\n' for name, kind, nav in bag.properties
    )


def edmx(form_id: str, fields: tuple[Field, ...]) -> str:
    """The `$metadata` document of a form."""
    base = f"{FQDN_ROOT}.{sanitize(form_id)}"
    entities, complexes = _types(form_id, fields)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">\n',
        "  <edmx:DataServices>\n",
        SYSTEM_SCHEMA,
        f'    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{base}">\n',
    ]
    for bag in entities:
        out.append(f'      <EntityType Name="{bag.name}">\n')
        out.append('        <Key><PropertyRef Name="__id"/></Key>\n')
        out.append('        <Property Name="__id" Type="Edm.String"/>\n')
        if not bag.repeat:
            out.append(
                '        <Property Name="__system" Type="org.opendatakit.submission.metadata"/>\n'
            )
        out.append(_properties(bag, "        "))
        out.append("      </EntityType>\n")
    for bag in complexes:
        out.append(f'      <ComplexType Name="{bag.name}">\n')
        out.append(_properties(bag, "        "))
        out.append("      </ComplexType>\n")
    out.append(f"      <EntityContainer Name={quoteattr(form_id)}>\n")
    for bag in entities:
        out.append(f'        <EntitySet Name="{bag.name}" EntityType="{base}.{bag.name}">\n')
        if not bag.repeat:
            paths = "".join(
                f"                  <PropertyPath>{name}</PropertyPath>\n"
                for name, _kind, _nav in bag.properties
            )
            out.append(CAPABILITIES.replace("{paths}", paths))
        out.append("        </EntitySet>\n")
    out.append("      </EntityContainer>\n    </Schema>\n  </edmx:DataServices>\n</edmx:Edmx>")
    return "".join(out)


def service_document(metadata_url: str, fields: tuple[Field, ...]) -> dict[str, Any]:
    """The service document: one entity set for the submissions and one per repeat."""
    tables = ["Submissions"] + [name for name, _path in repeat_tables(fields)]
    return {
        "@odata.context": metadata_url,
        "value": [{"name": t, "kind": "EntitySet", "url": t} for t in tables],
    }
