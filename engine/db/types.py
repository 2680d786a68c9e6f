"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones, no decimals and no enums; these types make both backends hand back
the same Python values, so the contract suite can hold them to one standard.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Quantities and money: four decimal places, fourteen digits before the point.
AMOUNT_PRECISION = 18
AMOUNT_SCALE = 4
AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_PRECISION - AMOUNT_SCALE)
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)

E = TypeVar("E", bound=StrEnum)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out: ``timestamptz`` on PostgreSQL, naive UTC text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone; the database keeps UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """A quantity or an amount: NUMERIC(18, 4), read back as a Decimal with four places on both backends.

    SQLite keeps NUMERIC as a float; fourteen integer digits and four places stay within the
    fifteen significant digits a float holds exactly, so the value read back is the one written.
    """

    impl = Numeric(AMOUNT_PRECISION, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Read floats and round them ourselves rather than let SQLAlchemy warn on every read.
            return dialect.type_descriptor(Numeric(AMOUNT_PRECISION, AMOUNT_SCALE, asdecimal=False))
        return dialect.type_descriptor(Numeric(AMOUNT_PRECISION, AMOUNT_SCALE))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{value!r} is not a finite Decimal")
        if abs(value) >= AMOUNT_LIMIT:
            raise ValueError(f"{value} does not fit NUMERIC({AMOUNT_PRECISION}, {AMOUNT_SCALE})")
        rounded = value.quantize(_QUANTUM)
        return float(rounded) if dialect.name == "sqlite" else rounded

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(repr(value) if isinstance(value, float) else value).quantize(_QUANTUM)


class EnumText(TypeDecorator[E]):
    """A ``StrEnum`` stored as its value in a VARCHAR (a CHECK constraint in the table keeps it honest).

    Native enum types are avoided: they need their own migrations on PostgreSQL and do not exist on SQLite.
    """

    impl = String()
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class JsonText(str):
    """A JSON document already written out (by pydantic's ``model_dump_json``), stored as it is.

    Writing many orders at once, the canonical JSON is made once, in pydantic's compiled
    serializer, instead of as Python objects that the column then serialises again.
    """


def dump_json(value: Any) -> str:
    """The engines' JSON serializer: ``JsonText`` as it is, anything else by ``json.dumps``."""
    return value if isinstance(value, JsonText) else json.dumps(value)
