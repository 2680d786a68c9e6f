"""Which map reads and writes each X12 transaction set: a table, so that the pipeline looks a set up
instead of branching on its id.

To add a set, add one ``SetMap`` row to ``MAPS`` (855, 865 and 856 belong here too, beside the
850 and 860): its ST01, the GS01 its group takes, the business document it carries, the canonical
class, and the map's ``read`` and ``write`` functions. Readers are
``read(ts, profile, *, version) -> canonical``; writers are
``write(document, profile, *, version, ...) -> segments`` (ST to the last before SE), and may take
further keyword arguments with defaults (``order=`` for what the document itself lacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from edi.x12.structures import TransactionSet
from engine.model.common import Model
from engine.model.documents import Acknowledgement, OrderChange, ShipNotice
from engine.model.order import Order
from mappings.profile import Document, PartnerProfile
from mappings.x12 import ack855, ack865, asn856, change860, po850
from mappings.x12.common import SegmentFields


class SetReader(Protocol):
    def __call__(self, ts: TransactionSet, profile: PartnerProfile, /, *, version: str) -> Any: ...


class SetWriter(Protocol):
    def __call__(self, document: Any, profile: PartnerProfile, /, *, version: str) -> list[SegmentFields]: ...


@dataclass(frozen=True)
class SetMap:
    """One transaction set's map."""

    set_id: str  # ST01
    functional_id: str  # GS01
    document: Document
    canonical: type[Model]
    read: SetReader
    write: SetWriter


MAPS: tuple[SetMap, ...] = (
    SetMap(po850.SET_ID, po850.FUNCTIONAL_ID, Document.ORDER, Order, po850.read_order, po850.write_order),
    SetMap(
        change860.SET_ID,
        change860.FUNCTIONAL_ID,
        Document.ORDER_CHANGE,
        OrderChange,
        change860.read_change,
        change860.write_change,
    ),
    # The answers and the ship notice (855 / 865 / 856).
    SetMap(ack855.SET_ID, ack855.FUNCTIONAL_ID, Document.ORDER_ACK, Acknowledgement, ack855.read_ack, ack855.write_ack),
    SetMap(
        ack865.SET_ID, ack865.FUNCTIONAL_ID, Document.CHANGE_ACK, Acknowledgement, ack865.read_ack, ack865.write_ack
    ),
    SetMap(
        asn856.SET_ID,
        asn856.FUNCTIONAL_ID,
        Document.SHIP_NOTICE,
        ShipNotice,
        asn856.read_ship_notice,
        asn856.write_ship_notice,
    ),
)

#: ST01 -> its map.
BY_SET_ID: Mapping[str, SetMap] = {m.set_id: m for m in MAPS}
#: Business document -> the map that carries it in X12.
BY_DOCUMENT: Mapping[Document, SetMap] = {m.document: m for m in MAPS}


def map_for(set_id: str) -> SetMap:
    """The map of a transaction set; a KeyError names the sets there are maps for."""
    try:
        return BY_SET_ID[set_id]
    except KeyError:
        raise KeyError(f"no X12 map for transaction set {set_id!r} (maps: {', '.join(sorted(BY_SET_ID))})") from None
