"""Values every business document shares: parties, addresses, references, notes, routing, actors.

Names here are business English, not X12 or EDIFACT: mappings translate standard qualifiers
(N101 ST, BEG02 DS, PO106 UP, ...) to these and back.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from types import UnionType
from typing import Annotated, Any, Self, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticUndefined


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_aware_utc)]
Quantity = Annotated[Decimal, Field(ge=0)]
Money = Decimal


def utc_now() -> datetime:
    return datetime.now(UTC)


def empty_list() -> Any:
    """A list field's default: a new list per value, not a ``= []`` that pydantic deep-copies
    (``copy.deepcopy``, the slowest part of making a model) on every validation. The published
    schema still says ``"default": []``."""
    return Field(default_factory=list, json_schema_extra={"default": []})


def empty_dict() -> Any:
    """As ``empty_list``, for a dict field."""
    return Field(default_factory=dict, json_schema_extra={"default": {}})


#: Per model class, found once (validation runs for every value and, with validate_assignment,
#: for every assignment): its computed field names, and the fields a copy must copy.
_DERIVED: dict[type, frozenset[str]] = {}
_MUTABLE: dict[type, tuple[tuple[str, bool], ...]] = {}
#: Every canonical model class: found in a set faster than by isinstance (BaseModel is an ABC).
_MODELS: set[type] = set()
#: Values that never change in place: a copy shares them with the original.
_ATOMS = frozenset({str, int, float, bool, type(None), Decimal, date, datetime})


def _is_atom_type(annotation: Any) -> bool:
    """True when a field so annotated holds only immutable values (``Money | None``, an enum)."""
    if get_origin(annotation) is Annotated:
        return _is_atom_type(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return all(_is_atom_type(arg) for arg in get_args(annotation))
    return annotation in _ATOMS or (isinstance(annotation, type) and issubclass(annotation, Enum))


def _is_shallow_container(annotation: Any) -> bool:
    """A ``list[str]`` or ``dict[str, str]``: copying the container copies the value."""
    origin = get_origin(annotation)
    return origin in (list, dict) and all(_is_atom_type(arg) for arg in get_args(annotation))


def _mutable_fields(cls: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The fields a copy must copy, each with whether a shallow copy of it is a deep one."""
    fields = _MUTABLE.get(cls)
    if fields is None:
        fields = _MUTABLE[cls] = tuple(
            (name, _is_shallow_container(info.annotation))
            for name, info in cls.__pydantic_fields__.items()
            if not _is_atom_type(info.annotation)
        )
    return fields


def _clone(value: Any, memo: dict[int, Any]) -> Any:
    """A deep copy of a value that copies only what can change: lists, dicts and models."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is list:
        if not value:
            return []
        return [item if type(item) in _ATOMS else _clone(item, memo) for item in value]
    if kind in _MODELS or isinstance(value, BaseModel):
        copied = memo.get(id(value))
        return copied if copied is not None else value.__deepcopy__(memo)
    if kind is dict:
        return {key: item if type(item) in _ATOMS else _clone(item, memo) for key, item in value.items()}
    if isinstance(value, Enum):
        return value
    return copy.deepcopy(value, memo)


class Model(BaseModel):
    """Base of every canonical value: strict about unknown fields, JSON-friendly.

    Derived values (statuses, open quantities) are written to JSON for readers and dropped
    again when JSON is read back: they are always recomputed, never trusted.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        derived = _DERIVED.get(cls)
        if derived is None:
            derived = _DERIVED[cls] = frozenset(cls.__pydantic_computed_fields__)
        if derived and isinstance(data, dict):
            for name in derived:
                if name in data:
                    kept = dict(data)  # a copy, and two deletions: cheaper than a comprehension
                    for key in derived:
                        kept.pop(key, None)
                    return kept
        return data

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _MODELS.add(cls)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        """A deep copy that copies lists, dicts and models and shares the immutable values.

        The rules copy every order they change (``model_copy(deep=True)``), and ``copy.deepcopy``
        visiting every string, Decimal and date cost more than the rules themselves. Fields typed
        as immutable (``str``, ``Decimal | None``, enums ...) are shared without being looked at.
        """
        if memo is None:
            memo = {}
        cls = type(self)
        copied = cls.__new__(cls)
        memo[id(self)] = copied
        state = self.__dict__.copy()
        fields = _MUTABLE.get(cls)
        if fields is None:
            fields = _mutable_fields(cls)
        for name, shallow in fields:
            value = state.get(name)
            if value is not None:
                state[name] = value.copy() if shallow and type(value) in (list, dict) else _clone(value, memo)
        extra = self.__pydantic_extra__
        if extra is not None:
            extra = _clone(extra, memo)
        private = self.__pydantic_private__
        if private is not None:
            private = {k: _clone(v, memo) for k, v in private.items() if v is not PydanticUndefined}
        _set = object.__setattr__
        _set(copied, "__dict__", state)
        _set(copied, "__pydantic_extra__", extra)
        _set(copied, "__pydantic_fields_set__", self.__pydantic_fields_set__.copy())
        _set(copied, "__pydantic_private__", private)
        return copied


class PartyRole(StrEnum):
    SHIP_TO = "ship_to"
    BILL_TO = "bill_to"
    BUYING_PARTY = "buying_party"
    SHIP_FROM = "ship_from"
    VENDOR = "vendor"
    REMIT_TO = "remit_to"
    STORE = "store"
    MARK_FOR = "mark_for"
    OTHER = "other"


class Address(Model):
    lines: list[str] = empty_list()
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Contact(Model):
    function: str | None = None  # e.g. buyer, delivery contact (as the partner's code)
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    fax: str | None = None


class Party(Model):
    role: PartyRole
    name: str | None = None
    id_qualifier: str | None = None  # whose code list ``id`` comes from (DUNS, store number, ...)
    id: str | None = None
    address: Address | None = None
    contacts: list[Contact] = empty_list()


class Reference(Model):
    qualifier: str  # what kind of reference (the partner's code: IA vendor number, DP department, ...)
    value: str
    description: str | None = None


class Note(Model):
    code: str | None = None  # what kind of note (gift message, instructions, ...)
    text: str


class Routing(Model):
    carrier_code: str | None = None  # SCAC
    carrier_name: str | None = None
    service_level: str | None = None
    transport_method: str | None = None
    routing: str | None = None


class Charge(Model):
    """An allowance or charge (freight, handling, discount)."""

    kind: str  # "allowance" or "charge"
    code: str | None = None
    amount: Money | None = None
    description: str | None = None


class ActorKind(StrEnum):
    SUPPLIER_USER = "supplier_user"
    RETAILER_DOCUMENT = "retailer_document"
    PARTNER_DOCUMENT = "partner_document"
    ENGINE = "engine"


class Actor(Model):
    """Who changed an order: a portal or CLI user, a partner's document, or the engine itself."""

    kind: ActorKind
    id: str | None = None  # user name, or the document's id


#: Our own names for item identifiers; mappings translate each partner's qualifiers to these.
ITEM_ID_KINDS = ("buyer_part", "vendor_part", "upc", "gtin", "ean", "sku", "isbn", "manufacturer_part", "style")
