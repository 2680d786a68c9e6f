"""Transaction-set schemas as values, loaded from the YAML tables in ``edi/x12/data``.

The vocabulary is small (element, composite, segment, loop, transaction set, syntax note) and
every definition is data, so a new transaction set or version is a new file, not new code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

DATA_DIR = Path(__file__).parent / "data"
UNBOUNDED = 999999

Usage = Literal["M", "O", "X"]


class SchemaError(ValueError):
    """A schema file is wrong; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class ElementDef:
    id: str
    name: str
    type: str  # AN, ID, N0..N9, R, DT, TM, B
    min: int
    max: int
    codes: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ElementUse:
    """An element or composite at one position of a segment (or component of a composite)."""

    position: int
    ref: ElementDef | CompositeDef
    usage: Usage
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class SyntaxNote:
    """X12 syntax note: P paired, R required, E exclusion, C conditional, L list conditional."""

    kind: str
    positions: tuple[int, ...]

    def __str__(self) -> str:
        return self.kind + "".join(f"{p:02d}" for p in self.positions)


@dataclass(frozen=True, slots=True)
class CompositeDef:
    id: str
    name: str
    components: tuple[ElementUse, ...]
    syntax: tuple[SyntaxNote, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentDef:
    id: str
    name: str
    elements: tuple[ElementUse, ...]
    syntax: tuple[SyntaxNote, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentUse:
    segment: SegmentDef
    usage: Usage
    max: int

    @property
    def tag(self) -> str:
        return self.segment.id


@dataclass(frozen=True, slots=True)
class LoopDef:
    """A loop, named after its first segment, which starts each repetition."""

    id: str
    usage: Usage
    max: int
    children: tuple[SegmentUse | LoopDef, ...]

    @property
    def tag(self) -> str:
        first = self.children[0]
        return first.tag


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """HL rules: HL03 levels must follow the top-down order the structure code declares."""

    segment: str  # e.g. BSN
    element: int  # e.g. 5
    default: str
    orders: Mapping[str, tuple[str, ...]]
    optional: frozenset[str] = frozenset()  # levels a child may skip over (a tare is optional)


@dataclass(frozen=True, slots=True)
class TransactionSetDef:
    id: str
    name: str
    version: str
    functional_group: str
    root: LoopDef
    hierarchy: Hierarchy | None = None
    tags: frozenset[str] = frozenset()  # every segment id the set defines


@dataclass(slots=True)
class Dictionary:
    elements: dict[str, ElementDef] = field(default_factory=dict)
    composites: dict[str, CompositeDef] = field(default_factory=dict)
    segments: dict[str, SegmentDef] = field(default_factory=dict)


@dataclass(slots=True)
class SchemaSet:
    dictionaries: dict[str, Dictionary]
    sets: dict[tuple[str, str], TransactionSetDef]

    @staticmethod
    def version_of(gs08: str) -> str:
        """GS08 '004010VICS' is version 004010 of the standard, narrowed by an industry."""
        return gs08[:6]

    def knows_version(self, gs08: str) -> bool:
        return self.version_of(gs08) in self.dictionaries

    def transaction_set(self, gs08: str, set_id: str) -> TransactionSetDef | None:
        return self.sets.get((self.version_of(gs08), set_id))

    def segment(self, gs08: str, tag: str) -> SegmentDef | None:
        dictionary = self.dictionaries.get(self.version_of(gs08))
        return dictionary.segments.get(tag) if dictionary else None


# -- loading ----------------------------------------------------------------------------------
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when the wheel has it: 10x faster
_NOTE = re.compile(r"([PRECL])((?:\d\d)+)\Z")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemaError(f"{path}: expected a mapping at the top level")
    return data


@dataclass(slots=True)
class _Raw:
    """Dictionary entries as read, before references are resolved."""

    elements: dict[str, tuple[Path, Any]] = field(default_factory=dict)
    composites: dict[str, tuple[Path, Any]] = field(default_factory=dict)
    segments: dict[str, tuple[Path, Any]] = field(default_factory=dict)

    def add_folder(self, folder: Path) -> None:
        for kind in ("elements", "composites", "segments"):
            path = folder / f"{kind}.yaml"
            if path.exists():
                target: dict[str, tuple[Path, Any]] = getattr(self, kind)
                for key, value in _read_yaml(path).items():
                    target[str(key)] = (path, value)

    def overlaid(self, other: _Raw) -> _Raw:
        return _Raw(
            {**self.elements, **other.elements},
            {**self.composites, **other.composites},
            {**self.segments, **other.segments},
        )


def load_schemas(*folders: Path | str) -> SchemaSet:
    """Load and resolve schema folders; later folders add to or replace entries of earlier ones."""
    paths = [Path(f) for f in folders] or [DATA_DIR]
    base = _Raw()
    overlays: dict[str, _Raw] = {}
    set_files: dict[tuple[str, str], Path] = {}
    for folder in paths:
        base.add_folder(folder / "dictionary")
        versions = folder / "versions"
        if versions.is_dir():
            for vdir in sorted(versions.iterdir()):
                overlays.setdefault(vdir.name, _Raw()).add_folder(vdir)
        set_folder = folder / "sets"
        if set_folder.is_dir():
            for vdir in sorted(p for p in set_folder.iterdir() if p.is_dir()):
                for path in sorted(vdir.glob("*.yaml")):
                    set_files[(vdir.name, path.stem)] = path
    dictionaries: dict[str, Dictionary] = {}
    for version in sorted({v for v, _ in set_files}):
        raw = base.overlaid(overlays[version]) if version in overlays else base
        dictionaries[version] = _resolve(raw)
    sets = {key: _transaction_set(path, key[0], dictionaries[key[0]]) for key, path in sorted(set_files.items())}
    return SchemaSet(dictionaries, sets)


@cache
def default_schemas() -> SchemaSet:
    """The schemas shipped with the engine (loaded once per process)."""
    return load_schemas(DATA_DIR)


def _resolve(raw: _Raw) -> Dictionary:
    dictionary = Dictionary()
    for key, (path, entry) in raw.elements.items():
        dictionary.elements[key] = _element(path, key, entry)
    for key, (path, entry) in raw.composites.items():
        components = _uses(path, key, entry.get("elements", []), dictionary, allow_composites=False)
        dictionary.composites[key] = CompositeDef(
            key, str(entry.get("name", key)), components, _notes(path, key, entry.get("syntax", []))
        )
    for key, (path, entry) in raw.segments.items():
        elements = _uses(path, key, entry.get("elements", []), dictionary, allow_composites=True)
        notes = _notes(path, key, entry.get("syntax", []))
        for note in notes:
            if max(note.positions) > len(elements):
                raise SchemaError(f"{path}: {key}: syntax note {note} names a position the segment lacks")
        dictionary.segments[key] = SegmentDef(key, str(entry.get("name", key)), elements, notes)
    return dictionary


def _element(path: Path, key: str, entry: Any) -> ElementDef:
    try:
        codes = entry.get("codes")
        return ElementDef(
            id=key,
            name=str(entry["name"]),
            type=str(entry["type"]),
            min=int(entry["min"]),
            max=int(entry["max"]),
            codes={str(c): str(m) for c, m in codes.items()} if codes else None,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise SchemaError(f"{path}: element {key}: needs name, type, min and max ({exc})") from exc


def _uses(
    path: Path, owner: str, rows: Iterable[Any], dictionary: Dictionary, *, allow_composites: bool
) -> tuple[ElementUse, ...]:
    uses: list[ElementUse] = []
    for position, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) not in (2, 3):
            raise SchemaError(f"{path}: {owner}{position:02d}: expected [element id, usage(, repeat)], got {row!r}")
        ref_id, usage = str(row[0]), str(row[1])
        repeat = int(row[2]) if len(row) == 3 else 1
        ref: ElementDef | CompositeDef | None = dictionary.elements.get(ref_id)
        if ref is None and allow_composites:
            ref = dictionary.composites.get(ref_id)
        if ref is None:
            raise SchemaError(f"{path}: {owner}{position:02d}: unknown element or composite {ref_id!r}")
        if usage not in ("M", "O", "X"):
            raise SchemaError(f"{path}: {owner}{position:02d}: usage must be M, O or X, not {usage!r}")
        uses.append(ElementUse(position, ref, usage, repeat))  # type: ignore[arg-type]
    return tuple(uses)


def _notes(path: Path, owner: str, rows: Iterable[Any]) -> tuple[SyntaxNote, ...]:
    notes: list[SyntaxNote] = []
    for row in rows:
        match = _NOTE.match(str(row))
        if match is None:
            raise SchemaError(f"{path}: {owner}: {row!r} is not a syntax note like P0203 or L010203")
        digits = match.group(2)
        positions = tuple(int(digits[i : i + 2]) for i in range(0, len(digits), 2))
        notes.append(SyntaxNote(match.group(1), positions))
    return tuple(notes)


def _transaction_set(path: Path, version: str, dictionary: Dictionary) -> TransactionSetDef:
    data = _read_yaml(path)
    tags: set[str] = set()

    def build(rows: Any, where: str) -> tuple[SegmentUse | LoopDef, ...]:
        if not isinstance(rows, list) or not rows:
            raise SchemaError(f"{path}: {where}: structure must be a non-empty list")
        children: list[SegmentUse | LoopDef] = []
        for row in rows:
            if isinstance(row, dict) and "loop" in row:
                loop_id = str(row["loop"])
                body = build(row.get("structure"), f"loop {loop_id}")
                if not isinstance(body[0], SegmentUse):
                    raise SchemaError(f"{path}: loop {loop_id}: must start with a segment")
                children.append(LoopDef(loop_id, _usage(path, row.get("usage", "O")), _max(row.get("max", 1)), body))
            elif isinstance(row, list) and len(row) == 3:
                tag = str(row[0])
                segment = dictionary.segments.get(tag)
                if segment is None:
                    raise SchemaError(f"{path}: {where}: segment {tag} is not in the {version} dictionary")
                tags.add(tag)
                children.append(SegmentUse(segment, _usage(path, row[1]), _max(row[2])))
            else:
                raise SchemaError(f"{path}: {where}: expected [segment, usage, max] or a loop, got {row!r}")
        return tuple(children)

    set_id = str(data.get("id", path.stem))
    root = LoopDef(set_id, "M", 1, build(data.get("structure"), "structure"))
    hierarchy = None
    if "hierarchy" in data:
        h = data["hierarchy"]
        code = str(h["structure_code"])
        hierarchy = Hierarchy(
            segment=code[:-2],
            element=int(code[-2:]),
            default=str(h.get("default", "")),
            orders={str(k): tuple(str(x) for x in v) for k, v in h["orders"].items()},
            optional=frozenset(str(x) for x in h.get("optional", [])),
        )
    return TransactionSetDef(
        id=set_id,
        name=str(data.get("name", set_id)),
        version=version,
        functional_group=str(data.get("functional_group", "")),
        root=root,
        hierarchy=hierarchy,
        tags=frozenset(tags),
    )


def _usage(path: Path, value: Any) -> Usage:
    text = str(value)
    if text not in ("M", "O", "X"):
        raise SchemaError(f"{path}: usage must be M, O or X, not {text!r}")
    return text  # type: ignore[return-value]


def _max(value: Any) -> int:
    return UNBOUNDED if str(value) in (">1", "unbounded") else int(value)
