"""The order commands end to end through ``engine.cli.main`` on a workspace in a temporary folder:
exit codes, JSON shapes, and the documents in the outbox read back and validated."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from edi.x12.reader import X12Reader
from edi.x12.structures import GroupEnd, InterchangeEnd, TransactionSet
from edi.x12.validate import validated_events
from engine.cli import main
from engine.config import CONFIG_NAME, load_workspace
from engine.model import Acknowledgement, AckType, LineAckStatus, ShipNotice
from engine.rules import NO_BACKORDERS
from mappings.profiles import example_partners
from mappings.x12 import ack855, ack865, asn856
from tests.pipeline_fixtures import database_url, migrated_postgres, migrated_sqlite_template

__all__ = ["database_url", "migrated_postgres", "migrated_sqlite_template"]  # fixtures

FUTURE = (date.today() + timedelta(days=30)).isoformat()
#: ACK01 codes read back as these: cancelled (ID) or rejected (IR, R2), as the partner's crosswalk says.
NOT_SHIPPING = (LineAckStatus.CANCELLED, LineAckStatus.REJECTED)
#: Valid SSCC-18 carton labels (GS1 mod-10 check digits).
CARTON_A, CARTON_B = "001234567890123452", "001234567890123469"

#: An 850 for the order the sample 860-line-changes changes (which no sample creates):
#: 36 mugs, 12 coaster sets, 12 bowl sets.
PO_850_LINES = [
    "ST*850*0001",
    "BEG*00*SA*NW5002001**20240304",
    "CUR*BY*USD",
    "REF*IA*V48213",
    "DTM*010*20240308",
    "N1*ST*NORTHWIND DC EAST*92*DC01",
    "N3*210 COMMERCE PKWY*DOCK 4",
    "N4*ALLENTOWN*PA*18106*US",
    "PO1*1*36*EA*3.25*PE*BP*NW-200117*VP*AC-MUG-CER-WH*UP*081234500047",
    "PID*F****CERAMIC MUG, WHITE, 12 OZ",
    "PO1*2*12*EA*8.40*PE*BP*NW-200245*VP*AC-CST-SLT*UP*081234500054",
    "PID*F****SLATE COASTER SET OF 4",
    "PO1*3*12*EA*13.50*PE*BP*NW-200390*VP*AC-BWL-SET4*UP*081234500061",
    "PID*F****STONEWARE BOWL SET OF 4",
    "CTT*3*60",
]


# -- running the command line -------------------------------------------------------------------------
class Cli:
    """The workspace and a way to run `edi-engine` in it, keeping exit code, output and errors."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys
        self.err = ""

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*argv, "--workspace", str(self.root)])
        out, err = self.capsys.readouterr()
        self.err = err
        return code, out, err

    def json(self, *argv: str, expect: int = 0) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == expect, f"exit {code}: {err}{out}"
        return json.loads(out)

    def fails(self, *argv: str, code: int = 1) -> str:
        got, out, err = self.run(*argv)
        assert got == code, f"exit {got}, not {code}: {err}{out}"
        assert err.strip(), "errors go to standard error"
        return err

    def sample(self, partner: str, name: str) -> str:
        return str(next((self.root / "partners" / partner / "samples").glob(f"{name}*.x12")))

    def ingest(self, *paths: str) -> list[dict[str, Any]]:
        reports: list[dict[str, Any]] = self.json("ingest", *paths)
        return reports

    def outbox(self, **filters: str) -> list[dict[str, Any]]:
        options = [part for key, value in filters.items() for part in (f"--{key}", value)]
        rows: list[dict[str, Any]] = self.json("outbox", "list", *options)
        return rows

    def sets(self, row: dict[str, Any]) -> list[TransactionSet]:
        """The transaction sets of an outbox document, validated: no finding anywhere."""
        path = Path(row["path"])
        assert path.is_file(), path
        sets = []
        for event in validated_events(X12Reader(path.read_bytes(), name=str(path))):
            if isinstance(event, TransactionSet):
                assert event.findings == [], [str(f) for f in event.findings]
                sets.append(event)
            elif isinstance(event, GroupEnd):
                assert event.group.findings == [], [str(f) for f in event.group.findings]
            elif isinstance(event, InterchangeEnd):
                assert event.interchange.findings == [], [str(f) for f in event.interchange.findings]
        return sets

    def ack(self, row: dict[str, Any]) -> Acknowledgement:
        (ts,) = self.sets(row)
        assert ts.group is not None
        profile = example_partners()[row["partner"]]
        reader = ack855 if ts.id == "855" else ack865
        return reader.read_ack(ts, profile, version=ts.group.version)

    def notice(self, row: dict[str, Any]) -> ShipNotice:
        (ts,) = self.sets(row)
        assert ts.group is not None
        return asn856.read_ship_notice(ts, example_partners()[row["partner"]], version=ts.group.version)

    def last(self, kind: str, partner: str) -> dict[str, Any]:
        return self.outbox(kind=kind, partner=partner)[-1]

    def order(self, po: str) -> dict[str, Any]:
        order: dict[str, Any] = self.json("orders", "show", po)
        return order

    def line(self, po: str, number: str) -> dict[str, Any]:
        return next(line for line in self.order(po)["lines"] if line["line_number"] == number)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], database_url: str) -> Cli:
    """A workspace made by `edi-engine init`, on its own SQLite file or, for PostgreSQL, with its
    configuration pointed at a fresh database of the test server."""
    root = tmp_path / "ws"
    capsys.readouterr()
    assert main(["init", str(root), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["partners"] == ["contoso", "fabrikam", "northwind"]
    assert created["database"].startswith("sqlite:///")
    if not database_url.startswith("sqlite"):
        config = root / CONFIG_NAME
        text = config.read_text()
        assert '"sqlite:///var/engine.db"' in text
        config.write_text(text.replace('"sqlite:///var/engine.db"', f'"{database_url}"', 1))
        assert load_workspace(root).database_url == database_url
    return Cli(root, capsys)


@pytest.fixture
def orders(cli: Cli) -> Cli:
    """Both retailers' sample 850s ingested: NW5001234 (northwind), CT5001234 (contoso)."""
    reports = cli.ingest(cli.sample("northwind", "850"), cli.sample("contoso", "850"))
    assert [(r["status"], r["orders"]) for r in reports] == [
        ("processed", ["NW5001234"]),
        ("processed", ["CT5001234"]),
    ]
    return cli


def write_x12(path: Path, sender: str, control: str, groups: list[tuple[str, str, list[str]]]) -> str:
    """An interchange from ``sender`` to us, 004010, with each group's one set (SE counted here)."""
    isa = f"ISA*00*          *00*          *ZZ*{sender:<15}*ZZ*ACMESUPPLY     *240304*0900*U*00401*{control}*0*P*>"
    segments = [isa]
    for number, (functional_id, gs_sender, body) in enumerate(groups, start=1):
        gs06 = f"{control[-6:-1]}{number}"
        segments.append(f"GS*{functional_id}*{gs_sender}*ACMESUPPLY*20240304*0900*{gs06}*X*004010")
        segments += body
        segments += [f"SE*{len(body) + 1}*0001", f"GE*1*{gs06}"]
    segments.append(f"IEA*{len(groups)}*{control}")
    path.write_text("~\n".join(segments) + "~\n")
    return str(path)


def set_body(sample: str) -> list[str]:
    """The segments of a sample's (only) set, ST included, SE left out."""
    text = Path(sample).read_text()
    segments = [s.strip() for s in text.split("~") if s.strip()]
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    return segments[start:end]


# -- workspace, ingest, list, show ------------------------------------------------------------------
def test_ingest_reports_every_set_and_the_documents_written(cli: Cli) -> None:
    (report,) = cli.ingest(cli.sample("northwind", "850"))
    assert set(report) == {"file", "status", "interchange_id", "partner_id", "sets", "orders", "documents", "messages"}
    assert report["status"] == "processed" and report["partner_id"] == "northwind"
    assert report["sets"] == [{"position": 1, "set": "850", "control_number": "0001", "status": "applied"}]
    assert [d.split()[0] for d in report["documents"]] == ["997", "855"]  # northwind: 855 on receipt
    (again,) = cli.ingest(cli.sample("northwind", "850"))
    assert again["status"] == "duplicate" and again["documents"] == []
    err = cli.fails("ingest", str(cli.root / "missing.x12"), code=2)
    assert "no such file" in err


def test_orders_list_filters_and_show(orders: Cli) -> None:
    rows = orders.json("orders", "list")
    assert {r["po_number"]: r["status"] for r in rows} == {"NW5001234": "acknowledged", "CT5001234": "new"}
    assert {"id", "partner_id", "po_number", "status", "ordered_qty", "open_qty", "total"} <= set(rows[0])
    assert [r["po_number"] for r in orders.json("orders", "list", "--partner", "contoso")] == ["CT5001234"]
    assert [r["po_number"] for r in orders.json("orders", "list", "--status", "new")] == ["CT5001234"]
    assert [r["po_number"] for r in orders.json("orders", "list", "--po", "NW5")] == ["NW5001234"]
    assert orders.json("orders", "list", "--status", "shipped") == []
    shown = orders.order("NW5001234")
    assert shown["partner_id"] == "northwind" and shown["status"] == "acknowledged"
    assert [(line["line_number"], line["ordered_qty"], line["uom"]) for line in shown["lines"]] == [
        ("1", "2", "EA"),
        ("2", "1", "EA"),
        ("3", "4", "EA"),
    ]
    code, out, _ = orders.run("orders", "show", "NW5001234")
    assert code == 0 and "line 1: ordered 2 EA, open 2" in out
    assert "no order 'NOPE'" in orders.fails("orders", "show", "NOPE")


# -- supplier cancels ----------------------------------------------------------------------------------
def test_cancel_lines_with_a_reason_per_line(orders: Cli) -> None:
    result = orders.json(
        "orders", "cancel", "NW5001234", "--reason", "out_of_stock",
        "--line", "1", "--qty", "1", "--line", "3", "--qty", "4", "--line-reason", "discontinued",
    )  # fmt: skip
    assert result["status"] == "acknowledged" and result["events"] == ["items_cancelled"]
    assert orders.line("NW5001234", "1")["cancel_reason"] == "out_of_stock"
    assert orders.line("NW5001234", "3")["cancel_reason"] == "discontinued"  # the line's own reason
    ack = orders.ack(orders.last("855", "northwind"))
    assert ack.ack_type is AckType.ACCEPTED_WITH_CHANGES
    cancelled = {a.line_number: (a.quantity, a.reason) for a in ack.lines if a.status in NOT_SHIPPING}
    assert cancelled == {"1": (Decimal(1), "out_of_stock"), "3": (Decimal(4), "discontinued")}
    (ts,) = orders.sets(orders.last("855", "northwind"))
    text = "~".join("*".join(s.fields) for s in ts.segments)
    assert "CXSS" in text and "CXSD" in text  # northwind's own codes for the two reasons
    err = orders.fails("orders", "cancel", "NW5001234", "--reason", "other", "--line", "9")
    assert "Line 9 is not on purchase order NW5001234" in err


def test_per_line_options_must_follow_their_line(orders: Cli) -> None:
    err = orders.fails("orders", "cancel", "NW5001234", "--reason", "other", "--qty", "1", "--line", "1", code=2)
    assert "--qty 1 comes before any --line" in err
    err = orders.fails("orders", "cancel", "NW5001234", "--reason", "other", "--line", "1", "--qty", "x", code=2)
    assert "'x' is not a quantity" in err
    assert "name one PO" in orders.fails("orders", "cancel", "NW5001234", "CT5001234", "--reason", "other", code=2)


def test_bulk_cancel_cancels_each_order_on_its_own(orders: Cli) -> None:
    orders.ingest(orders.sample("contoso", "860"))  # contoso's cancel now waits for an answer
    before = len(orders.outbox(kind="855"))
    result = orders.json("orders", "cancel", "--bulk", "NW5001234", "CT5001234", "--reason", "out_of_stock", expect=1)
    assert [c["po_number"] for c in result["cancelled"]] == ["NW5001234"]
    assert result["cancelled"][0]["status"] == "cancelled"
    assert [r["po_number"] for r in result["refused"]] == ["CT5001234"]
    assert "cancel from the retailer waiting for your answer" in result["refused"][0]["reason"]
    assert "CT5001234" in orders.err
    assert orders.order("CT5001234")["status"] == "retailer_cancel_pending"  # nothing of it applied
    written = orders.outbox(kind="855")
    assert len(written) == before + 1 and written[-1]["po_number"] == "NW5001234"
    ack = orders.ack(written[-1])
    assert ack.ack_type is AckType.REJECTED
    assert all(a.status in NOT_SHIPPING and a.reason == "out_of_stock" for a in ack.lines)


# -- backorders ----------------------------------------------------------------------------------------
def test_backorder_is_accepted_for_northwind_and_refused_for_contoso(orders: Cli) -> None:
    result = orders.json("orders", "backorder", "NW5001234", "--line", "2", "--ship-date", FUTURE)
    assert result["status"] == "backordered" and result["documents"][0].startswith("855")
    (ts,) = orders.sets(orders.last("855", "northwind"))
    acks = [s.fields for s in ts.segments if s.tag == "ACK"]
    assert ["ACK", "IB", "1", "EA", "079", FUTURE.replace("-", "")] in acks  # northwind's date qualifier
    documents = len(orders.outbox())
    err = orders.fails("orders", "backorder", "CT5001234", "--line", "1", "--ship-date", FUTURE)
    assert err.strip() == f"edi-engine: {NO_BACKORDERS}"
    assert len(orders.outbox()) == documents
    assert "is not a date" in orders.fails(
        "orders", "backorder", "NW5001234", "--line", "1", "--ship-date", "31/12/2030", code=2
    )


# -- acknowledge ---------------------------------------------------------------------------------------
def test_ack_accepts_every_line_or_with_changes_per_line(orders: Cli) -> None:
    result = orders.json(
        "orders", "ack", "CT5001234",
        "--line", "2", "--qty", "0", "--line-reason", "out_of_stock",
        "--line", "3", "--price", "6.25", "--date", FUTURE,
    )  # fmt: skip
    assert result["status"] == "acknowledged" and result["events"] == ["items_cancelled", "acknowledged"]
    ack = orders.ack(orders.last("855", "contoso"))
    assert ack.ack_type is AckType.ACCEPTED_WITH_CHANGES
    by_line = {a.line_number: a for a in ack.lines}
    assert (by_line["1"].status, by_line["1"].quantity) == (LineAckStatus.ACCEPTED, 2)
    assert (by_line["2"].status, by_line["2"].quantity, by_line["2"].reason) in [
        (status, 1, "out_of_stock") for status in NOT_SHIPPING
    ]
    changed = by_line["3"]
    assert changed.status is LineAckStatus.ACCEPTED_WITH_CHANGES
    assert (changed.unit_price, changed.ship_date) == (Decimal("6.25"), date.fromisoformat(FUTURE))
    err = orders.fails("orders", "ack", "CT5001234", "--line", "1", "--qty", "1", "--line-reason", "out_of_stock")
    assert "does not accept partial line cancels" in err
    plain = orders.json("orders", "ack", "NW5001234")
    assert plain["events"] == ["acknowledged"]
    assert orders.ack(orders.last("855", "northwind")).ack_type is AckType.ACCEPTED
    err = orders.fails("orders", "ack", "CT5001234", "--line", "2", code=2)
    assert "say what changes on line 2" in err


# -- ship ----------------------------------------------------------------------------------------------
def test_ship_with_cartons_writes_an_sopi_856_and_without_an_soi(orders: Cli) -> None:
    result = orders.json(
        "orders", "ship", "NW5001234", "--carrier", "UPSN", "--tracking", "1Z999AA10123456784",
        "--sscc", CARTON_A, "--line", "1", "--qty", "2", "--line", "3", "--qty", "1",
        "--sscc", CARTON_B, "--line", "3", "--qty", "1", "--ship-date", date.today().isoformat(),
    )  # fmt: skip
    assert result["status"] == "partially_shipped" and result["events"] == ["shipped"]
    row = orders.last("856", "northwind")
    (ts,) = orders.sets(row)
    assert ts.segments[1].element(5) == "0001"  # BSN05: Shipment, Order, Packaging, Item
    notice = orders.notice(row)
    assert notice.routing is not None and notice.routing.carrier_code == "UPSN"
    assert "1Z999AA10123456784" in notice.tracking_numbers
    (shipped,) = notice.orders
    assert shipped.po_number == "NW5001234"
    assert {pack.sscc: [(i.line_number, i.quantity, i.uom) for i in pack.items] for pack in shipped.packs} == {
        CARTON_A: [("1", 2, "EA"), ("3", 1, "EA")],
        CARTON_B: [("3", 1, "EA")],
    }
    assert orders.line("NW5001234", "3")["shipped_qty"] == "2"

    rest = orders.json("orders", "ship", "NW5001234", "--carrier", "FDEG", "--tracking", "7712")
    assert rest["status"] == "shipped"  # everything still open: lines 2 and 3
    notice = orders.notice(orders.last("856", "northwind"))
    (ts,) = orders.sets(orders.last("856", "northwind"))
    assert ts.segments[1].element(5) == "0004"  # Shipment, Order, Item
    assert [(i.line_number, i.quantity) for i in notice.orders[0].items] == [("2", 1), ("3", 2)]
    assert notice.shipment_id == "NW5001234-2"

    err = orders.fails(
        "orders", "ship", "CT5001234", "--carrier", "UPSN", "--tracking", "1", "--line", "1", "--qty", "3"
    )
    assert "Line 1 has only 2 open" in err
    err = orders.fails(
        "orders", "ship", "CT5001234", "--carrier", "UPSN", "--tracking", "1",
        "--sscc", "001234567890123450", "--line", "1",
    )  # fmt: skip
    assert "check digit is 2" in err


# -- retailer cancels and changes ------------------------------------------------------------------------
def test_cancels_list_ack_and_refuse(orders: Cli) -> None:
    orders.ingest(orders.sample("northwind", "860-cancel"), orders.sample("contoso", "860"))
    waiting = orders.json("cancels", "list")
    assert {r["po_number"]: [(w["line_number"], w["pending_cancel_qty"]) for w in r["lines"]] for r in waiting} == {
        "NW5001234": [("1", "2"), ("2", "1"), ("3", "4")],
        "CT5001234": [("1", "2"), ("2", "1"), ("3", "4")],
    }
    done = orders.json("cancels", "ack", "NW5001234")
    assert done["refused"] == [] and done["acknowledged"][0]["status"] == "cancelled"
    ack = orders.ack(orders.last("865", "northwind"))  # northwind takes an 865 for its cancels
    assert ack.of_change and ack.ack_type is AckType.ACCEPTED
    assert {a.line_number for a in ack.lines if a.status is LineAckStatus.CANCELLED} == {"1", "2", "3"}

    refused = orders.json("cancels", "refuse", "CT5001234", "--reason", "Already picked and packed")
    assert refused["status"] == "new" and refused["events"] == ["retailer_cancel_refused"]
    ack = orders.ack(orders.last("855", "contoso"))  # contoso takes an 855 for everything
    assert ack.ack_type is AckType.REJECTED
    assert orders.json("cancels", "list") == []
    again = orders.json("cancels", "ack", "CT5001234", expect=1)
    assert "no cancel from the retailer waiting" in again["refused"][0]["reason"]


def test_changes_list_accept_and_reject(cli: Cli) -> None:
    order = write_x12(cli.root / "nw5002001.x12", "NORTHWIND", "000041099", [("PO", "NORTHWIND", PO_850_LINES)])
    cli.ingest(order, cli.sample("northwind", "860-line-changes"))
    (waiting,) = cli.json("changes", "list")
    assert waiting["po_number"] == "NW5002001"
    assert [(c["line_number"], c["kind"], c["unit_price"], c["quantity"]) for c in waiting["lines"]] == [
        ("3", "price_change", "14.75", None),
        ("13", "add_item", "21.30", "12"),
    ]
    accepted = cli.json("changes", "accept", "NW5002001", "--line", "3")
    assert accepted["events"] == ["change_accepted"]
    assert cli.line("NW5002001", "3")["unit_price"] == "14.75"
    ack = cli.ack(cli.last("865", "northwind"))
    assert [a.line_number for a in ack.lines] == ["3"] and ack.lines[0].status not in NOT_SHIPPING
    assert ack.ack_type is AckType.ACCEPTED
    rejected = cli.json("changes", "reject", "NW5002001")
    assert rejected["events"] == ["change_rejected"]
    ack = cli.ack(cli.last("865", "northwind"))
    assert [(a.line_number, a.status) for a in ack.lines] == [("13", LineAckStatus.REJECTED)]
    assert cli.json("changes", "list") == []
    assert "no change from the retailer waiting" in cli.fails("changes", "accept", "NW5002001")


# -- outbox, interchanges, quarantine ------------------------------------------------------------------
def test_outbox_and_interchanges_list(orders: Cli) -> None:
    rows = orders.outbox()
    assert [(r["partner"], r["kind"], r["status"], r["po_number"]) for r in rows] == [
        ("northwind", "997", "sent", None),
        ("northwind", "855", "sent", "NW5001234"),
        ("contoso", "999", "sent", None),
    ]
    assert {"id", "file", "path", "created_at", "interchange_control_number"} <= set(rows[0])
    for row in rows:
        assert orders.sets(row)
    assert [r["kind"] for r in orders.outbox(partner="contoso")] == ["999"]
    assert orders.outbox(status="pending") == []
    interchanges = orders.json("interchanges", "list")
    assert [(i["partner"], i["control_number"], i["status"]) for i in interchanges] == [
        ("contoso", "000051001", "committed"),
        ("northwind", "000041001", "committed"),
    ]
    assert interchanges[0]["sets"] == [{"position": 1, "set": "850", "control_number": "0001", "status": "accepted"}]
    assert orders.json("interchanges", "list", "--partner", "northwind")[0]["file"] == "850-dropship.x12"
    code, out, _ = orders.run("outbox", "list")
    assert code == 0 and "northwind-855-" in out


# -- preview -------------------------------------------------------------------------------------------
def test_preview_prints_the_document_and_its_diff_and_stores_nothing(orders: Cli) -> None:
    outbox_files = sorted((orders.root / "var" / "outbox").rglob("*"))
    documents, order = orders.outbox(), orders.order("NW5001234")
    shown = orders.json("orders", "preview", "NW5001234", "backorder", "--line", "1", "--ship-date", FUTURE)
    assert shown["stored"] is False and shown["status"] == "backordered"
    (document,) = shown["documents"]
    assert document["set"] == "855" and document["previous"]["file"] == documents[1]["file"]
    assert "-ACK*IA*2*EA" in document["diff"].splitlines()
    assert f"+ACK*IB*2*EA*079*{FUTURE.replace('-', '')}" in document["diff"].splitlines()
    assert sorted((orders.root / "var" / "outbox").rglob("*")) == outbox_files
    assert orders.outbox() == documents and orders.order("NW5001234") == order

    code, out, _ = orders.run("orders", "preview", "NW5001234", "cancel", "--reason", "other", "--line", "2")
    assert code == 0 and "nothing was stored or sent" in out and "difference from the last 855" in out
    first = orders.json("orders", "preview", "CT5001234", "ack")["documents"][0]
    assert first["previous"] is None and first["diff"] == ""
    # The control numbers the preview took were given back: the real 855 carries the same ISA13.
    isa13 = first["content"].split("*")[13]
    orders.json("orders", "ack", "CT5001234")
    assert orders.last("855", "contoso")["interchange_control_number"] == int(isa13)
    assert NO_BACKORDERS in orders.fails(
        "orders", "preview", "CT5001234", "backorder", "--line", "1", "--ship-date", FUTURE
    )


# -- reprocess -----------------------------------------------------------------------------------------
def test_reprocess_applies_what_was_held_and_never_what_was_applied(cli: Cli) -> None:
    # One interchange: the 860 for NW5002001 before the 850 that creates it.
    changes = set_body(cli.sample("northwind", "860-line-changes"))
    both = write_x12(
        cli.root / "both.x12", "NORTHWIND", "000041097",
        [("PC", "NORTHWIND", changes), ("PO", "NORTHWIND", PO_850_LINES)],
    )  # fmt: skip
    (report,) = cli.ingest(both)
    assert [s["status"] for s in report["sets"]] == ["quarantined", "applied"]
    (held,) = cli.json("quarantine", "list")
    assert (held["interchange"], held["set"]) == (report["interchange_id"], "860")
    assert "no order 'NW5002001'" in held["reason"]
    acks = len(cli.outbox(kind="997"))

    again = cli.json("reprocess", str(report["interchange_id"]))
    assert [s["status"] for s in again["sets"]] == ["applied", "already applied"]
    assert again["released"] == [held["id"]] and cli.json("quarantine", "list") == []
    order = cli.order("NW5002001")
    assert [e["kind"] for e in order["events"]].count("received") == 1  # the 850 was not applied twice
    assert order["status"] == "retailer_cancel_pending"
    assert len(cli.outbox(kind="997")) == acks  # the file was acknowledged once
    assert "nothing in quarantine" in cli.fails("reprocess", str(report["interchange_id"]))
    assert "there is no interchange 99" in cli.fails("reprocess", "99")
    (duplicate,) = cli.ingest(both)
    assert duplicate["status"] == "duplicate"
    assert "repeats interchange" in cli.fails("reprocess", str(duplicate["interchange_id"]))


def test_reprocess_after_adding_the_missing_partner_profile(cli: Cli) -> None:
    stranger = write_x12(
        cli.root / "stranger.x12", "STRANGER", "000000777", [("PO", "STRANGER", PO_850_LINES)]
    )  # fmt: skip
    (report,) = cli.json("ingest", stranger, expect=1)
    assert report["status"] == "unknown_partner" and cli.json("orders", "list") == []
    assert "still no partner profile has the ISA identity ZZ:STRANGER" in cli.fails(
        "reprocess", str(report["interchange_id"])
    )
    folder = cli.root / "partners" / "stranger"
    shutil.copytree(cli.root / "partners" / "northwind", folder)
    profile = (folder / "profile.yaml").read_text()
    profile = profile.replace("id: northwind", "id: stranger").replace("NORTHWIND", "STRANGER")
    (folder / "profile.yaml").write_text(profile)
    again = cli.json("reprocess", str(report["interchange_id"]))
    assert again["status"] == "reprocessed" and again["partner_id"] == "stranger"
    assert [s["status"] for s in again["sets"]] == ["applied"]
    assert [d.split()[0] for d in again["documents"]] == ["997", "855"]
    assert [r["po_number"] for r in cli.json("orders", "list", "--partner", "stranger")] == ["NW5002001"]
    (row,) = cli.json("interchanges", "list", "--partner", "stranger")
    assert row["status"] == "committed"
    for document in cli.outbox(partner="stranger"):
        assert cli.sets(document)
    (duplicate,) = cli.ingest(stranger)
    assert duplicate["status"] == "duplicate"  # applied once, by the reprocess


# -- send a supplier a purchase order ------------------------------------------------------------------
def test_orders_send_writes_an_850_for_a_supplier_and_refuses_what_cannot_be_sent(cli: Cli, tmp_path: Path) -> None:
    given = cli.root / "partners" / "fabrikam" / "samples" / "expected" / "given" / "PO7001234.json"
    result = cli.json("orders", "send", str(given), "--user", "dana")
    assert (result["po_number"], result["partner_id"], result["status"]) == ("PO7001234", "fabrikam", "new")
    assert result["events"] == ["sent"] and result["documents"][0].startswith("850 (fabrikam-850-")
    row = cli.last("850", "fabrikam")
    assert row["po_number"] == "PO7001234" and row["status"] == "sent"
    (ts,) = cli.sets(row)
    assert ts.id == "850" and ts.segments[1].fields[:4] == ["BEG", "00", "SA", "PO7001234"]
    assert cli.order("PO7001234")["events"][0]["kind"] == "sent"

    code, out, err = cli.run("orders", "send", str(given))
    assert code == 1 and out == "" and "PO7001234 is already on file for Fabrikam Textiles" in err
    other = tmp_path / "PO7009999.json"
    other.write_text(given.read_text().replace("PO7001234", "PO7009999"))
    code, out, err = cli.run("orders", "send", str(other), "--partner", "northwind")
    assert code == 1 and "northwind is a retailer, not a supplier" in err
    text = cli.run("orders", "send", str(other), "--partner", "fabrikam")[1]
    assert text.splitlines()[0] == "PO PO7009999 (fabrikam): new" and "wrote 850" in text
    assert len(cli.outbox(kind="850")) == 2

    broken = tmp_path / "broken.json"
    broken.write_text('{"po_number": "PO1", "lines": []}')
    assert "is not a canonical order: partner_id: Field required" in cli.fails("orders", "send", str(broken), code=2)
    assert "no such file" in cli.fails("orders", "send", str(tmp_path / "nothing.json"), code=2)
    empty = tmp_path / "empty.json"
    empty.write_text('{"partner_id": "fabrikam", "po_number": "PO7000001", "order_type": "SA", "lines": []}')
    assert "has no lines" in cli.fails("orders", "send", str(empty))
