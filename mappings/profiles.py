"""Loading partner profiles: YAML or TOML files, layered over defaults, every mistake located.

A partners folder holds one folder per partner, named by the partner's id::

    partners/
      defaults.yaml        optional: what every partner in this folder shares
      <id>/profile.yaml    the partner: only what differs from the defaults (or profile.toml)
      <id>/hooks.py        optional, named by the profile's ``hooks`` key
      <id>/samples/        documents as the partner sends them; tests and the demo read them

Folders whose names start with ``.`` or ``_`` are not partners and are skipped.

Settings are layered as in Bots: the model's built-in defaults, then ``defaults.yaml``, then the
partner's file. Mappings merge key by key, lists are replaced whole, and a key set to ``null``
goes back to the built-in default. A profile without an ``id`` takes its folder's name.

Loading reports every mistake at once, each with the file, line and column of the offending key
(``partners/<id>/profile.yaml:12:5: capabilities.backorder_date_qualifier: ...``), in a
``ProfileError``. Plain YAML scalars are read as the text that was written, so ``version: 004010``
is the string ``"004010"`` (not octal 2056) and ``code: NO`` is ``"NO"`` (not false); numbers
and yes/no become ints and booleans only where the profile model asks for one. TOML has no
positions in ``tomllib``; its keys are located by scanning the file's lines (tables, dotted keys
and one line of inline tables).

Hooks are Python we write for one partner, for what data cannot say: a file in the partner's
folder (configuration, never anything a partner sends us), run from its path and never imported
by name. A hooks module may define any of ``HOOKS``:

``adjust_order(order: Order) -> Order``
    called with each order read from the partner, before the engine stores it;
``adjust_outbound(segments) -> segments``
    called with each X12 transaction set we send the partner (``[['ST', '850'], ['BEG', ...],
    ...]``, no SE, as ``edi.x12.writer.build_interchange`` takes them) before it is enveloped.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import json
import re
import sys
import tomllib
import traceback
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from edi.x12.writer import SegmentFields
from engine.model import Order
from mappings.profile import TAGGED_UNIONS, PartnerProfile

#: The example partners shipped with the engine.
EXAMPLES_DIR = Path(__file__).with_name("partners")
PROFILE_NAMES = ("profile.yaml", "profile.yml", "profile.toml")
DEFAULTS_NAMES = ("defaults.yaml", "defaults.yml", "defaults.toml")
SAMPLES_FOLDER = "samples"
#: The hooks a partner's module may define, and when each is called.
HOOKS = {
    "adjust_order": "adjust_order(order) -> order: each order read from the partner, before it is stored",
    "adjust_outbound": "adjust_outbound(segments) -> segments: each X12 set we send the partner, before enveloping",
}

KeyPath = tuple[str | int, ...]
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"


# -- positions and errors --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in a profile file; line and column count from 1 (0: the file or folder as a whole)."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class ProfileProblem:
    """One mistake: where it is, the setting it concerns (dotted, '' for the file) and what is wrong."""

    position: Position
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.path}: {self.message}" if self.path else f"{self.position}: {self.message}"


class ProfileError(ValueError):
    """A profile, defaults file, partners folder or hooks module is wrong; one line per mistake."""

    def __init__(self, problems: Iterable[ProfileProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.position, p.path))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class HookError(RuntimeError):
    """A partner's hook failed or returned something other than what it was given."""


def dotted(path: Iterable[str | int]) -> str:
    """``capabilities.reasons.out_of_stock.code``; list positions as ``[n]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# -- reading one file ------------------------------------------------------------------------


@dataclass(slots=True)
class _Layer:
    """One file's settings, the position of each key, and the mistakes found reading it."""

    data: dict[str, Any]
    marks: dict[KeyPath, Position]
    root: Position
    problems: list[ProfileProblem]


def _read_layer(path: Path) -> _Layer:
    name = str(path)
    root = Position(name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError([ProfileProblem(root, "", f"cannot be read ({exc.strerror or exc})")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ProfileError([ProfileProblem(Position(name, line, column), "", "is not UTF-8 text")]) from None
    if path.suffix == ".toml":
        return _read_toml(text, name)
    return _read_yaml(text, name)


def _position(name: str, mark: yaml.Mark | None) -> Position:
    return Position(name, mark.line + 1, mark.column + 1) if mark is not None else Position(name)


def _read_yaml(text: str, name: str) -> _Layer:
    layer = _Layer({}, {}, Position(name), [])
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return layer  # an empty file: every setting is the default
        data = _YamlWalker(loader, name, layer).value(node, (), frozenset())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ProfileError([ProfileProblem(_position(name, mark), "", f"is not valid YAML: {message}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        layer.problems.append(
            ProfileProblem(_position(name, node.start_mark), "", "must be a mapping of settings (key: value)")
        )
        return layer
    layer.data = data
    return layer


class _YamlWalker:
    """Turns a composed YAML node tree into plain data, keeping the position of every key."""

    def __init__(self, loader: yaml.SafeLoader, name: str, layer: _Layer) -> None:
        self.loader = loader
        self.name = name
        self.layer = layer

    def value(self, node: yaml.Node, path: KeyPath, open_nodes: frozenset[int]) -> Any:
        if id(node) in open_nodes:
            self.problem(node, path, "refers to itself through an alias")
            return None
        inside = open_nodes | {id(node)}
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, inside)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.layer.marks[(*path, index)] = _position(self.name, item.start_mark)
                items.append(self.value(item, (*path, index), inside))
            return items
        assert isinstance(node, yaml.ScalarNode)
        # The text as written: the profile model decides whether it is a number or a yes/no.
        return None if node.tag == _NULL_TAG else str(node.value)

    def mapping(self, node: yaml.MappingNode, path: KeyPath, inside: frozenset[int]) -> dict[str, Any]:
        own = {id(key) for key, _ in node.value if key.tag != _MERGE_TAG}
        self.loader.flatten_mapping(node)  # resolve YAML merge keys (<<: *shared)
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a key must be a plain word, not a list or mapping")
                continue
            key = str(key_node.value)
            here = (*path, key)
            earlier = seen.get(key)
            # Merged keys come first and the mapping's own keys override them; two own keys clash.
            if earlier is not None and id(earlier) in own and id(key_node) in own:
                first = _position(self.name, earlier.start_mark)
                self.problem(key_node, here, f"is given twice (first at line {first.line}); remove one")
                continue
            seen[key] = key_node
            self.layer.marks[here] = _position(self.name, key_node.start_mark)
            result[key] = self.value(value_node, here, inside)
        return result

    def problem(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        self.layer.problems.append(ProfileProblem(_position(self.name, node.start_mark), dotted(path), message))


_BARE_KEY = r"[A-Za-z0-9_-]+"
_KEY = rf"(?:{_BARE_KEY}|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_DOTTED_KEY = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_TOML_TABLE = re.compile(rf"[ \t]*(\[\[?)[ \t]*({_DOTTED_KEY})[ \t]*\]\]?[ \t]*(?:#.*)?\Z")
_TOML_ASSIGN = re.compile(rf"[ \t]*({_DOTTED_KEY})[ \t]*=")
_TOML_KEY_PART = re.compile(_KEY)


def _read_toml(text: str, name: str) -> _Layer:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "(at line 3, column 7)" in its message and nowhere else.
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = Position(name, int(found[1]), int(found[2])) if found else Position(name)
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ProfileError([ProfileProblem(where, "", f"is not valid TOML: {message}")]) from None
    return _Layer(data, _toml_marks(text, name), Position(name), [])


def _key_parts(text: str) -> list[str]:
    parts: list[str] = []
    for match in _TOML_KEY_PART.finditer(text):
        raw = match.group(0)
        if raw.startswith('"'):
            try:
                parts.append(json.loads(raw))
            except ValueError:
                parts.append(raw[1:-1])
        elif raw.startswith("'"):
            parts.append(raw[1:-1])
        else:
            parts.append(raw)
    return parts


def _toml_marks(text: str, name: str) -> dict[KeyPath, Position]:
    """Where each key of a TOML file is: a line scan good enough to point at a mistake."""
    marks: dict[KeyPath, Position] = {}
    table: KeyPath = ()
    array_items: dict[KeyPath, int] = {}
    open_quotes: str | None = None  # inside a multi-line string
    for number, line in enumerate(text.splitlines(), start=1):
        if open_quotes is not None:
            if line.count(open_quotes) % 2:
                open_quotes = None
            continue
        header = _TOML_TABLE.match(line)
        if header:
            keys: KeyPath = tuple(_key_parts(header.group(2)))
            where = Position(name, number, header.start(2) + 1)
            for size in range(1, len(keys) + 1):
                marks.setdefault(keys[:size], where)
            if header.group(1) == "[[":
                index = array_items.get(keys, -1) + 1
                array_items[keys] = index
                keys = (*keys, index)
            marks[keys] = where
            table = keys
            continue
        assignment = _TOML_ASSIGN.match(line)
        if not assignment:
            continue
        keys = (*table, *_key_parts(assignment.group(1)))
        where = Position(name, number, assignment.start(1) + 1)
        for size in range(len(table) + 1, len(keys) + 1):
            marks.setdefault(keys[:size], where)
        marks[keys] = where
        rest = line[assignment.end() :]
        for quotes in ('"""', "'''"):
            if rest.count(quotes) % 2:
                open_quotes = quotes
        if rest.lstrip().startswith("{"):
            _inline_table_marks(line, assignment.end(), keys, number, name, marks)
    return marks


def _inline_table_marks(
    line: str, start: int, path: KeyPath, number: int, name: str, marks: dict[KeyPath, Position]
) -> None:
    tables: list[KeyPath] = []
    last = path
    arrays = 0
    i = start
    while i < len(line):
        char = line[i]
        if char in "\"'":
            i = _string_end(line, i)
            continue
        if char == "#":
            return
        if arrays:
            arrays += {"[": 1, "]": -1}.get(char, 0)
        elif char == "[":
            arrays = 1
        elif char == "}":
            tables.pop()
            if not tables:
                return
        elif char == "{" or (char == "," and tables):
            if char == "{":
                tables.append(last)
            key = _TOML_ASSIGN.match(line, i + 1)
            if key:
                last = (*tables[-1], *_key_parts(key.group(1)))
                marks[last] = Position(name, number, key.start(1) + 1)
                i = key.end()
                continue
        i += 1


def _string_end(line: str, i: int) -> int:
    quote = line[i]
    j = i + 1
    while j < len(line):
        if line[j] == "\\" and quote == '"':
            j += 2
            continue
        if line[j] == quote:
            return j + 1
        j += 1
    return j


# -- layering ----------------------------------------------------------------------------------


def _overlay(
    base: dict[str, Any],
    base_marks: dict[KeyPath, Position],
    over: Mapping[str, Any],
    over_marks: Mapping[KeyPath, Position],
    path: KeyPath = (),
) -> None:
    """Lay ``over`` on ``base``: mappings key by key, anything else replaced, null back to the default."""
    for key, value in over.items():
        here = (*path, key)
        if not isinstance(value, dict) or not isinstance(base.get(key), dict):
            for mark in [mark for mark in base_marks if mark[: len(here)] == here]:
                del base_marks[mark]
        if here in over_marks:
            base_marks[here] = over_marks[here]  # kept for a null too, so "required" points at it
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(base.get(key), dict):
                base[key] = {}
            _overlay(base[key], base_marks, value, over_marks, here)
        else:
            base[key] = value
            base_marks.update((mark, at) for mark, at in over_marks.items() if mark[: len(here)] == here)


# -- validating --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Loaded:
    profile: PartnerProfile
    path: Path
    marks: dict[KeyPath, Position]
    root: Position

    def position(self, *path: str | int) -> Position:
        return _located(path, self.marks, self.root)


def _located(path: Sequence[str | int], marks: Mapping[KeyPath, Position], root: Position) -> Position:
    """The position of the longest part of ``path`` that is written somewhere, else the file."""
    for size in range(len(path), 0, -1):
        found = marks.get(tuple(path[:size]))
        if found is not None:
            return found
    return root


def load_profile(path: Path | str, *, defaults: Sequence[Path | str] = ()) -> PartnerProfile:
    """Read, layer and validate one partner's profile; a ``ProfileError`` lists every mistake."""
    return _load(Path(path), [Path(d) for d in defaults], expected_id=None).profile


def _load(path: Path, defaults: Sequence[Path], expected_id: str | None) -> _Loaded:
    layers = [_read_layer(layer) for layer in (*defaults, path)]
    data: dict[str, Any] = {}
    marks: dict[KeyPath, Position] = {}
    problems: list[ProfileProblem] = []
    for layer in layers:
        _overlay(data, marks, layer.data, layer.marks)
        problems += layer.problems
    root = layers[-1].root
    if "id" not in data:
        data["id"] = path.parent.name if path.name in PROFILE_NAMES else path.stem
    elif expected_id is not None and data["id"] != expected_id:
        problems.append(
            ProfileProblem(
                _located(("id",), marks, root),
                "id",
                f"{data['id']!r} differs from its folder's name {expected_id!r}; a partner's folder is named by its id",
            )
        )
    hooks = data.get("hooks")
    if isinstance(hooks, str) and "/" not in hooks and "\\" not in hooks and not (path.parent / hooks).is_file():
        problems.append(
            ProfileProblem(_located(("hooks",), marks, root), "hooks", f"there is no {hooks} beside the profile")
        )
    try:
        profile = PartnerProfile.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc, marks, root)
        raise ProfileError(problems) from None
    if problems:
        raise ProfileError(problems)
    return _Loaded(profile, path, marks, root)


def _problems(exc: ValidationError, marks: Mapping[KeyPath, Position], root: Position) -> list[ProfileProblem]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = _untagged(tuple(part for part in error["loc"] if part != "[key]"))
        written = loc in marks
        problems.append(ProfileProblem(_located(loc, marks, root), dotted(loc), _describe(error, loc, written)))
    return problems


def _untagged(loc: KeyPath) -> KeyPath:
    """The location as the profile's author wrote it: without the tag pydantic puts after a union
    setting to say which of its kinds was tried (``mailbox.sftp.host`` is ``mailbox.host``)."""
    for i in range(1, len(loc)):
        if loc[:i] in TAGGED_UNIONS and loc[i] in TAGGED_UNIONS[loc[:i]]:
            return loc[:i] + loc[i + 1 :]
    return loc


def _describe(error: Any, loc: KeyPath, written: bool) -> str:
    kind: str = error["type"]
    message: str = error["msg"]
    if kind == "missing":
        return "is null, but it is required" if written else "is required"
    if kind == "extra_forbidden":
        allowed = _settings_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else (f" (known: {', '.join(allowed)})" if allowed else "")
        return f"is not a setting here{hint}"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    found = error.get("input")
    if isinstance(found, str | int | float | bool):
        return f"{message} (found {found!r})"
    return message


def _settings_at(path: KeyPath) -> list[str]:
    """The keys the profile model accepts at ``path`` (for suggestions)."""
    current: Any = PartnerProfile
    for part in path:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (dict, list):
            current = get_args(current)[-1]
        else:
            return []
    current = _without_none(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


def dump_profile(profile: PartnerProfile, *, full: bool = False) -> str:
    """The profile as YAML: only what differs from the built-in defaults, unless ``full``."""
    data = profile.model_dump(mode="json", exclude_defaults=not full)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    # PyYAML writes some characters that YAML reads as line breaks (NEL U+0085, U+2028, U+2029)
    # unescaped, and they come back folded into spaces; escaping everything beyond ASCII keeps them.
    if yaml.safe_load(text) != data:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False)
    return text


# -- hooks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerHooks:
    """A partner's hooks; a hook the module does not define leaves its input as it is."""

    source: Path | None = None
    order: Callable[[Order], Order] | None = None
    outbound: Callable[[list[SegmentFields]], Sequence[SegmentFields]] | None = None

    def adjust_order(self, order: Order) -> Order:
        if self.order is None:
            return order
        result = self._call(self.order, "adjust_order", order.model_copy(deep=True))
        if not isinstance(result, Order):
            raise HookError(f"{self.source}: adjust_order returned {type(result).__name__}, not an Order")
        return result

    def adjust_outbound(self, segments: Sequence[SegmentFields]) -> list[SegmentFields]:
        if self.outbound is None:
            return list(segments)
        copied: list[SegmentFields] = [
            [value if isinstance(value, str) else list(value) for value in segment] for segment in segments
        ]
        result = self._call(self.outbound, "adjust_outbound", copied)
        if not isinstance(result, Sequence) or not all(
            isinstance(segment, Sequence) and segment and isinstance(segment[0], str) for segment in result
        ):
            raise HookError(f"{self.source}: adjust_outbound must return a list of segments ['ID', element, ...]")
        return list(result)

    def _call(self, hook: Callable[[Any], Any], name: str, value: Any) -> Any:
        try:
            return hook(value)
        except Exception as exc:
            raise HookError(f"{self.source}: {name} failed: {type(exc).__name__}: {exc}") from exc


def load_hooks(path: Path | str, *, partner_id: str | None = None) -> PartnerHooks:
    """Load a partner's hooks module from its file (it is never importable by name)."""
    path = Path(path)
    where = Position(str(path))
    module_name = "_partner_hooks_" + re.sub(r"\W", "_", partner_id or path.parent.name)
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise ProfileError([ProfileProblem(where, "", f"cannot be read ({exc.strerror or exc})")]) from None
    # Compiled and run here rather than through an import, so no bytecode is written into the
    # partner's folder and nothing can import the module by name.
    spec = importlib.util.spec_from_loader(module_name, loader=None, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        at = Position(str(path), exc.lineno or 1, exc.offset or 1)
        raise ProfileError([ProfileProblem(at, "", f"is not valid Python: {exc.msg}")]) from None
    except Exception as exc:
        sys.modules.pop(module_name, None)
        frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == str(path)]
        at = Position(str(path), frames[-1].lineno or 1) if frames else where
        raise ProfileError([ProfileProblem(at, "", f"fails when loaded: {type(exc).__name__}: {exc}")]) from None
    problems = []
    found: dict[str, Callable[[Any], Any]] = {}
    for name, value in vars(module).items():
        if not name.startswith("adjust_"):
            continue
        line = getattr(getattr(value, "__code__", None), "co_firstlineno", 1)
        at = Position(str(path), line)
        if name not in HOOKS:
            close = difflib.get_close_matches(name, HOOKS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the hooks are {', '.join(HOOKS)}"
            problems.append(ProfileProblem(at, name, f"is not a hook; {hint}"))
        elif not callable(value):
            problems.append(ProfileProblem(at, name, "must be a function"))
        else:
            try:
                inspect.signature(value).bind(None)
            except TypeError:
                problems.append(ProfileProblem(at, name, f"must take one argument: {HOOKS[name]}"))
            except ValueError:  # pragma: no cover - a builtin without a signature
                pass
            found[name] = value
    if problems:
        raise ProfileError(problems)
    return PartnerHooks(source=path, order=found.get("adjust_order"), outbound=found.get("adjust_outbound"))


# -- a folder of partners ------------------------------------------------------------------------


class Partners(dict[str, PartnerProfile]):
    """Profiles by id, with the folder each came from and the lookups the pipeline needs."""

    def __init__(self, profiles: Mapping[str, PartnerProfile] | None = None, folders: Mapping[str, Path] | None = None):
        super().__init__(profiles or {})
        self.folders: dict[str, Path] = dict(folders or {})
        self._hooks: dict[str, PartnerHooks] = {}

    def by_isa(self, qualifier: str, isa_id: str) -> PartnerProfile | None:
        """The partner with this interchange identity (ISA05/ISA06 or ISA07/ISA08; padding ignored)."""
        wanted = (qualifier.strip(), isa_id.strip())
        return next((p for p in self.values() if p.x12 and p.x12.interchange == wanted), None)

    def by_gs(self, gs_code: str) -> PartnerProfile | None:
        """The partner with this application code (GS02 / GS03)."""
        return next((p for p in self.values() if p.x12 and p.x12.gs_code == gs_code.strip()), None)

    def folder(self, partner_id: str) -> Path:
        return self.folders[partner_id]

    def samples(self, partner_id: str) -> list[Path]:
        """The partner's sample documents, by name."""
        folder = self.folders[partner_id] / SAMPLES_FOLDER
        return sorted(path for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []

    def hooks(self, partner_id: str) -> PartnerHooks:
        """The partner's hooks, loaded from its folder on first use (no-ops when it has none)."""
        if partner_id not in self._hooks:
            profile = self[partner_id]
            if profile.hooks is None:
                self._hooks[partner_id] = PartnerHooks()
            else:
                path = self.folders[partner_id] / profile.hooks
                self._hooks[partner_id] = load_hooks(path, partner_id=partner_id)
        return self._hooks[partner_id]


def _one_of(folder: Path, names: Sequence[str]) -> tuple[Path | None, list[ProfileProblem]]:
    present = [folder / name for name in names if (folder / name).is_file()]
    if len(present) > 1:
        listed = ", ".join(path.name for path in present)
        return None, [ProfileProblem(Position(str(folder), 0, 0), "", f"has {listed}; keep one")]
    return (present[0] if present else None), []


def load_partners(folder: Path | str, *more: Path | str, ours: tuple[str, str] | None = None) -> Partners:
    """Every partner in one or more partners folders, each ``<folder>/<id>/profile.yaml``.

    Refuses, listing every case at once: a profile with mistakes, a partner folder without a
    profile, the same id twice, and two partners (or a partner and ``ours``, our own ISA
    qualifier and id) with the same ISA identity or the same GS code.
    """
    problems: list[ProfileProblem] = []
    loaded: dict[str, _Loaded] = {}
    for base in (Path(folder), *(Path(f) for f in more)):
        if not base.is_dir():
            problems.append(ProfileProblem(Position(str(base), 0, 0), "", "is not a folder of partners"))
            continue
        defaults, found = _one_of(base, DEFAULTS_NAMES)
        problems += found
        for partner_folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name[0] not in "._"):
            path, found = _one_of(partner_folder, PROFILE_NAMES)
            problems += found
            if path is None:
                if not found:
                    problems.append(
                        ProfileProblem(Position(str(partner_folder), 0, 0), "", "has no profile.yaml (or profile.toml)")
                    )
                continue
            try:
                partner = _load(path, [defaults] if defaults else [], expected_id=partner_folder.name)
            except ProfileError as exc:
                problems += exc.problems
                continue
            earlier = loaded.get(partner.profile.id)
            if earlier is not None:
                problems.append(
                    ProfileProblem(
                        partner.position("id"),
                        "id",
                        f"partner {partner.profile.id!r} is already defined at {earlier.position('id')}",
                    )
                )
                continue
            loaded[partner.profile.id] = partner
    problems += _identity_clashes(list(loaded.values()), ours)
    if problems:
        raise ProfileError(problems)
    return Partners(
        {pid: partner.profile for pid, partner in loaded.items()},
        {pid: partner.path.parent for pid, partner in loaded.items()},
    )


def _identity_clashes(partners: Sequence[_Loaded], ours: tuple[str, str] | None) -> list[ProfileProblem]:
    problems = []
    by_isa: dict[tuple[str, str], _Loaded] = {}
    by_gs: dict[str, _Loaded] = {}
    for partner in partners:
        x12 = partner.profile.x12
        if x12 is None:
            continue
        isa = x12.interchange
        if ours is not None and isa == (ours[0], ours[1].strip()):
            problems.append(
                ProfileProblem(
                    partner.position("x12", "isa_id"),
                    "x12.isa_id",
                    f"ISA identity {isa[0]}:{isa[1]} is our own; a partner needs its own",
                )
            )
        other = by_isa.setdefault(isa, partner)
        if other is not partner:
            problems.append(
                ProfileProblem(
                    partner.position("x12", "isa_id"),
                    "x12.isa_id",
                    f"ISA identity {isa[0]}:{isa[1]} is also partner {other.profile.id!r}'s "
                    f"({other.position('x12', 'isa_id')}); each partner needs its own, or inbound "
                    "interchanges cannot be told apart",
                )
            )
        other = by_gs.setdefault(x12.gs_code, partner)
        if other is not partner:
            problems.append(
                ProfileProblem(
                    partner.position("x12", "gs_code"),
                    "x12.gs_code",
                    f"GS code {x12.gs_code!r} is also partner {other.profile.id!r}'s "
                    f"({other.position('x12', 'gs_code')}); each partner needs its own",
                )
            )
    return problems


def example_partners() -> Partners:
    """The example partners shipped with the engine (``mappings/partners``)."""
    return load_partners(EXAMPLES_DIR)
