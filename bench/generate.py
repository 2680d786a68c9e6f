"""Write a large, realistic, valid 004010 850 (purchase order) file for the benchmarks.

One purchase order per transaction set, ``sets_per_group`` sets per GS group and
``groups_per_interchange`` groups per ISA interchange. Canonical layout: ``*`` between elements,
``>`` between components, ``~`` plus a line break after every segment. Every PO has the same
shape (35 segments with 10 lines) so the segment count is known in advance; the values (names,
addresses, items, quantities, prices, dates) come from a seeded generator, so the same arguments
always give the same bytes.

    python -m bench.generate OUT.x12 [--pos 20000] [--lines 10] [--seed 850]
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

ELEMENT = "*"
COMPONENT = ">"
TERMINATOR = "~\n"
SENDER = "BUYERCO"
RECEIVER = "SUPPLIERCO"

_STREETS = ("MAIN STREET", "OAK AVENUE", "INDUSTRIAL PARKWAY", "COMMERCE DRIVE", "RIVER ROAD", "HIGHWAY 61 SOUTH")
_CITIES = (
    ("SPRINGFIELD", "IL", "62701"),
    ("COLUMBUS", "OH", "43215"),
    ("MEMPHIS", "TN", "38103"),
    ("RENO", "NV", "89501"),
    ("ALBANY", "NY", "12207"),
    ("FRESNO", "CA", "93721"),
    ("TACOMA", "WA", "98402"),
    ("SAVANNAH", "GA", "31401"),
)
_COLOURS = ("BLUE", "BLACK", "RED", "WHITE", "HEATHER GREY", "NAVY", "OLIVE")
_ITEMS = ("COTTON T-SHIRT", "DENIM JEANS", "FLEECE HOODIE", "RUNNING SOCKS 6PK", "CANVAS TOTE BAG", "RAIN JACKET")
_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
_UNITS = ("EA", "EA", "EA", "CA", "DZ")
_CARRIERS = (("UPSN", "U", "UPS GROUND"), ("FDEG", "U", "FEDEX GROUND"), ("ABFS", "M", "ABF FREIGHT"))


@dataclass(frozen=True)
class FileStats:
    path: Path
    segments: int
    transaction_sets: int
    groups: int
    interchanges: int
    bytes: int


def segments_per_po(lines: int) -> int:
    """ST BEG REF REF DTM DTM TD5 (N1 N3 N4) x2, (PO1 PID) per line, CTT SE."""
    return 13 + 2 * lines + 2


def _upc(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(11)]
    check = (10 - (sum(digits[0::2]) * 3 + sum(digits[1::2])) % 10) % 10
    return "".join(map(str, digits)) + str(check)


def _date(day: int) -> str:
    """A CCYYMMDD date ``day`` days into 2024 (kept simple: 28-day months)."""
    day %= 336
    return f"2024{day // 28 + 1:02d}{day % 28 + 1:02d}"


def _purchase_order(rng: random.Random, number: int, control: str, lines: int) -> list[str]:
    day = rng.randrange(300)
    store = rng.randrange(1, 2000)
    city, state, postcode = rng.choice(_CITIES)
    bill_city, bill_state, bill_postcode = _CITIES[number % 3]
    scac, method, carrier = rng.choice(_CARRIERS)
    segs = [
        f"ST*850*{control}",
        f"BEG*00*SA*PO{number:08d}**{_date(day)}",
        f"REF*DP*{rng.randrange(1, 999):03d}",
        f"REF*IA*{rng.randrange(1000000, 9999999)}",
        f"DTM*002*{_date(day + 10)}",
        f"DTM*010*{_date(day + 4)}",
        f"TD5*O*2*{scac}*{method}*{carrier}",
        f"N1*ST*STORE {store:04d}*92*{store:04d}",
        f"N3*{rng.randrange(1, 9999)} {rng.choice(_STREETS)}",
        f"N4*{city}*{state}*{postcode}*US",
        "N1*BT*ACME RETAIL CORPORATION*92*0001",
        "N3*ACCOUNTS PAYABLE*PO BOX 4500",
        f"N4*{bill_city}*{bill_state}*{bill_postcode}*US",
    ]
    total_quantity = 0
    for line in range(1, lines + 1):
        quantity = rng.randrange(1, 240)
        total_quantity += quantity
        price = rng.randrange(99, 12999)
        style = f"{rng.choice('ABCDEFGHJK')}{rng.randrange(100, 9999)}-{rng.choice(_SIZES)}"
        segs.append(
            f"PO1*{line}*{quantity}*{rng.choice(_UNITS)}*{price // 100}.{price % 100:02d}**UP*{_upc(rng)}*VN*{style}"
        )
        segs.append(f"PID*F****{rng.choice(_COLOURS)} {rng.choice(_ITEMS)} SIZE {style.rsplit('-', 1)[1]}")
    segs.append(f"CTT*{lines}*{total_quantity}")
    segs.append(f"SE*{len(segs) + 1}*{control}")
    return segs


def _isa(control: int) -> str:
    isa = f"ISA*00*{'':10}*00*{'':10}*ZZ*{SENDER:15}*ZZ*{RECEIVER:15}*240115*1030*U*00401*{control:09d}*0*P*{COMPONENT}"
    assert len(isa) == 105, len(isa)
    return isa


def generate(
    path: str | Path,
    *,
    pos: int = 20_000,
    lines: int = 10,
    seed: int = 850,
    sets_per_group: int = 1000,
    groups_per_interchange: int = 10,
) -> FileStats:
    """Write ``pos`` purchase orders to ``path``; return what was written."""
    path = Path(path)
    rng = random.Random(seed)
    segments = sets = groups = interchanges = 0
    size = 0
    number = 0
    with open(path, "w", encoding="ascii", newline="\n") as out:
        while number < pos:
            interchanges += 1
            head = [_isa(interchanges)]
            ich_groups = 0
            out_segments: list[str] = head
            while number < pos and ich_groups < groups_per_interchange:
                ich_groups += 1
                groups += 1
                out_segments.append(f"GS*PO*{SENDER}*{RECEIVER}*20240115*1030*{ich_groups}*X*004010")
                in_group = 0
                while number < pos and in_group < sets_per_group:
                    number += 1
                    in_group += 1
                    out_segments.extend(_purchase_order(rng, number, f"{in_group:04d}", lines))
                out_segments.append(f"GE*{in_group}*{ich_groups}")
                sets += in_group
                text = TERMINATOR.join(out_segments) + TERMINATOR
                out.write(text)
                segments += len(out_segments)
                size += len(text)
                out_segments = []
            iea = f"IEA*{ich_groups}*{interchanges:09d}{TERMINATOR}"
            out.write(iea)
            segments += 1
            size += len(iea)
    return FileStats(path, segments, sets, groups, interchanges, size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--pos", type=int, default=20_000, help="purchase orders (one per transaction set)")
    parser.add_argument("--lines", type=int, default=10, help="PO1 lines per purchase order")
    parser.add_argument("--seed", type=int, default=850)
    args = parser.parse_args(argv)
    stats = generate(args.out, pos=args.pos, lines=args.lines, seed=args.seed)
    print(
        f"{stats.path}: {stats.segments:,} segments, {stats.transaction_sets:,} sets, "
        f"{stats.groups} groups, {stats.interchanges} interchanges, {stats.bytes:,} bytes"
    )


if __name__ == "__main__":
    main()
