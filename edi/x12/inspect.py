"""Inspection: a streaming walk over a file that reports envelopes, counts and every finding.

The report is built as a stream of plain dictionaries (interchange -> groups -> sets ->
findings) so that a file of any size can be inspected in bounded memory: only the summaries of
sets with findings are kept whole; clean sets are counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from edi.findings import Finding
from edi.x12.reader import Source, X12Reader
from edi.x12.schema import SchemaSet
from edi.x12.structures import GroupEnd, GroupStart, InterchangeEnd, InterchangeStart, TransactionSet
from edi.x12.validate import validated_events

#: Version of the JSON shape `edi-engine inspect --json` prints; bumped on incompatible changes.
REPORT_VERSION = 1


@dataclass(slots=True)
class Totals:
    interchanges: int = 0
    groups: int = 0
    sets: int = 0
    segments: int = 0
    errors: int = 0
    warnings: int = 0
    sets_by_id: dict[str, int] = field(default_factory=dict)

    def count(self, findings: list[Finding]) -> None:
        for finding in findings:
            if finding.is_error:
                self.errors += 1
            else:
                self.warnings += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "interchanges": self.interchanges,
            "groups": self.groups,
            "sets": self.sets,
            "segments": self.segments,
            "errors": self.errors,
            "warnings": self.warnings,
            "sets_by_id": dict(sorted(self.sets_by_id.items())),
        }


def _findings(findings: list[Finding], name: str | None) -> list[dict[str, Any]]:
    out = []
    for finding in findings:
        if finding.file is None:
            finding.file = name
        data = finding.to_dict()
        data.pop("file", None)
        data["location"] = finding.location()
        out.append(data)
    return out


def inspect_stream(
    source: Source, *, name: str | None = None, schemas: SchemaSet | None = None, totals: Totals | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (kind, summary) as the file streams past, in bounded memory.

    Kinds, in file order: 'interchange' (header), 'group' (header), 'set' (one per set, with its
    findings), 'group_end' and 'interchange_end' (trailer counts and envelope findings), and last
    'file' (findings about the file itself). ``assemble`` turns them into one nested dictionary.
    """
    totals = totals if totals is not None else Totals()
    reader = X12Reader(source, name=name)
    name = reader.name
    for event in validated_events(reader, schemas, name):
        if isinstance(event, InterchangeStart):
            ich = event.interchange
            totals.interchanges += 1
            yield (
                "interchange",
                {
                    "control_number": ich.control_number,
                    "offset": ich.offset,
                    "version": ich.version,
                    "sender": {"qualifier": ich.sender[0], "id": ich.sender[1]},
                    "receiver": {"qualifier": ich.receiver[0], "id": ich.receiver[1]},
                    "usage": ich.usage,
                    "ack_requested": ich.ack_requested,
                    "delimiters": {
                        "element": ich.delimiters.element,
                        "component": ich.delimiters.component,
                        "repetition": ich.delimiters.repetition,
                        "segment": ich.delimiters.segment,
                    },
                },
            )
        elif isinstance(event, GroupStart):
            grp = event.group
            totals.groups += 1
            yield (
                "group",
                {
                    "control_number": grp.control_number,
                    "functional_id": grp.functional_id,
                    "version": grp.version,
                    "sender": grp.gs.element(2),
                    "receiver": grp.gs.element(3),
                },
            )
        elif isinstance(event, TransactionSet):
            totals.sets += 1
            totals.segments += event.segment_count
            totals.sets_by_id[event.id] = totals.sets_by_id.get(event.id, 0) + 1
            totals.count(event.findings)
            yield (
                "set",
                {
                    "id": event.id,
                    "control_number": event.control_number,
                    "segments": event.segment_count,
                    "offset": event.segments[0].offset,
                    "in_group": event.group is not None,
                    "findings": _findings(event.findings, name),
                },
            )
        elif isinstance(event, GroupEnd):
            grp = event.group
            totals.count(grp.findings)
            yield (
                "group_end",
                {
                    "declared_sets": grp.ge.element(1) if grp.ge else None,
                    "sets_read": grp.set_count,
                    "findings": _findings(grp.findings, name),
                },
            )
        elif isinstance(event, InterchangeEnd):
            ich = event.interchange
            totals.count(ich.findings)
            yield (
                "interchange_end",
                {
                    "declared_groups": ich.iea.element(1) if ich.iea else None,
                    "groups_read": ich.group_count,
                    "findings": _findings(ich.findings, name),
                },
            )
    totals.count(reader.findings)
    yield "file", {"findings": _findings(reader.findings, name)}


def assemble(stream: Iterator[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Nest a stream from ``inspect_stream`` as {interchanges: [{groups: [{sets: [...]}]}], findings}."""
    result: dict[str, Any] = {"interchanges": [], "findings": []}
    interchange: dict[str, Any] | None = None
    group: dict[str, Any] | None = None
    for kind, data in stream:
        if kind == "interchange":
            interchange = {**data, "groups": [], "findings": []}
            result["interchanges"].append(interchange)
        elif kind == "group" and interchange is not None:
            group = {**data, "sets": [], "findings": []}
            interchange["groups"].append(group)
        elif kind == "set":
            if group is not None and data["in_group"]:
                group["sets"].append(data)
            elif interchange is not None:
                interchange.setdefault("sets_outside_groups", []).append(data)
        elif kind == "group_end" and group is not None:
            group.update(data)
            group = None
        elif kind == "interchange_end" and interchange is not None:
            interchange.update(data)
            interchange = None
        elif kind == "file":
            result["findings"] = data["findings"]
    return result
