"""Partner profiles: layering, located mistakes, TOML, folders of partners, lookups, hooks, the
cancel-reason crosswalk, and the example partners with their sample documents.

The example partners' samples are fixtures re-enveloped with the partner's identities; they are
written, never hand-edited: ``EDI_REGEN_GOLDENS=1 pytest tests/test_profiles.py``.
"""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from edi.x12.control_numbers import CountingControlNumbers
from edi.x12.reader import X12Reader, read_interchanges
from edi.x12.schema import default_schemas
from edi.x12.structures import Interchange
from edi.x12.validate import validated_events
from edi.x12.writer import GroupSpec, SegmentFields, build_interchange, write_interchange
from engine.model import Order, OrderLine
from engine.model.common import ITEM_ID_KINDS
from engine.model.reasons import CancelReason
from mappings.profile import (
    AckPolicy,
    Capabilities,
    Deadlines,
    Delimiters,
    Document,
    DocumentSetting,
    DuplicatePolicy,
    LocalFolders,
    PartnerProfile,
    ReasonCode,
    Retries,
    Role,
    Secret,
    SftpServer,
    X12Identity,
    cancelled_line_statuses,
)
from mappings.profiles import (
    EXAMPLES_DIR,
    HOOKS,
    HookError,
    Partners,
    ProfileError,
    dump_profile,
    example_partners,
    load_hooks,
    load_partners,
    load_profile,
)
from tests.conftest import FIXTURES

REGENERATE = os.environ.get("EDI_REGEN_GOLDENS", "") == "1"
#: Our own identity on the wire (the workspace default), the receiver of every sample.
US = ("ZZ", "ACMESUPPLY")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(error: pytest.ExceptionInfo[ProfileError]) -> list[str]:
    return str(error.value).splitlines()


MINIMAL = """
    name: Example Outfitters
    x12: {isa_qualifier: ZZ, isa_id: EXAMPLEOUT, gs_code: EXAMPLEOUT}
    """


# -- defaults and layering --------------------------------------------------------------------


def test_a_profile_holds_only_its_differences_and_takes_its_folders_name_as_id(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path / "outfitters" / "profile.yaml", MINIMAL))
    assert profile.id == "outfitters"
    assert profile.role is Role.RETAILER
    assert profile.capabilities == Capabilities()
    assert profile.acknowledgements == AckPolicy()
    assert profile.deadlines == Deadlines()
    assert profile.usage == "P"


def test_settings_layer_defaults_then_the_partner_file(tmp_path: Path) -> None:
    defaults = write(
        tmp_path / "defaults.yaml",
        """
        documents:
          order: {version: "004010"}
          functional_ack: {version: "004010"}
        deadlines: {order_ack_due_hours: 48, cancel_ack_due_hours: 36}
        capabilities:
          reasons:
            out_of_stock: {code: OOS, text: Out of stock}
        usage: T
        """,
    )
    partner = write(
        tmp_path / "outfitters" / "profile.yaml",
        MINIMAL
        + """
    documents:
      functional_ack: {version: "005010"}
    deadlines: {cancel_ack_due_hours: 12}
    capabilities:
      reasons:
        discontinued: {ack_status: ID, code: DISC}
    usage: null
    """,
    )
    profile = load_profile(partner, defaults=[defaults])
    assert profile.version_of(Document.ORDER) == "004010"  # from the defaults
    assert profile.version_of(Document.FUNCTIONAL_ACK) == "005010"  # the partner's own
    assert profile.deadlines == Deadlines(order_ack_due_hours=48, cancel_ack_due_hours=12)
    assert set(profile.capabilities.reasons) == {CancelReason.OUT_OF_STOCK, CancelReason.DISCONTINUED}
    assert profile.usage == "P"  # null goes back to the built-in default


def test_a_mistake_in_the_defaults_file_is_located_there(tmp_path: Path) -> None:
    defaults = write(tmp_path / "defaults.yaml", "deadlines:\n  order_ack_due_hours: soon\n")
    partner = write(tmp_path / "outfitters" / "profile.yaml", MINIMAL)
    with pytest.raises(ProfileError) as error:
        load_profile(partner, defaults=[defaults])
    assert problems(error) == [
        f"{defaults}:2:3: deadlines.order_ack_due_hours: Input should be a valid integer, unable to parse "
        "string as an integer (found 'soon')"
    ]


def test_numbers_and_yes_no_are_typed_by_the_model_not_by_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path / "outfitters" / "profile.yaml",
        MINIMAL
        + """
    documents: {order: {version: 004010}}
    capabilities:
      accepts_backorders: yes
      backorder_date_qualifier: 079
      reasons: {other: {code: NO}}
      supplier_cancel_document: 865
    deadlines: {order_ack_due_hours: 12}
    """,
    )
    profile = load_profile(path)
    assert profile.version_of(Document.ORDER) == "004010"  # not octal 2056
    assert profile.capabilities.accepts_backorders is True
    assert profile.capabilities.backorder_date_qualifier == "079"
    assert profile.reason(CancelReason.OTHER).code == "NO"  # not false
    assert profile.capabilities.supplier_cancel_document == "865"
    assert profile.deadlines.order_ack_due_hours == 12


# -- every mistake, located -------------------------------------------------------------------

#: One wrong value per setting, the dotted path it is reported under and part of the message.
WRONG: list[tuple[str, str, str]] = [
    ("id: Not An Id", "id", "should match pattern"),
    ("name: ''", "name", "at least 1 character"),
    ("role: wholesaler", "role", "'retailer' or 'supplier'"),
    ("x12: {isa_qualifier: Z, isa_id: EX, gs_code: EX}", "x12.isa_qualifier", "at least 2 characters"),
    ("x12: {isa_qualifier: ZZ, isa_id: ' EX', gs_code: EX}", "x12.isa_id", "leading or trailing spaces"),
    ("x12: {isa_qualifier: ZZ, isa_id: EXAMPLE-OUTFITTERS, gs_code: EX}", "x12.isa_id", "at most 15"),
    ("x12: {isa_qualifier: ZZ, isa_id: EX, gs_code: E}", "x12.gs_code", "at least 2"),
    ("x12: {isa_qualifier: ZZ, isa_id: EX}", "x12.gs_code", "is required"),
    ("documents: {invoice: {}}", "documents.invoice", "Input should be 'order'"),
    ("documents: {order: {standard: tradacoms}}", "documents.order.standard", "'x12' or 'edifact'"),
    ("documents: {order: {version: '004011'}}", "documents.order.version", "has no schemas"),
    ("delimiters: {element: '~'}", "delimiters", "separators are both '~'"),
    ("delimiters: {component: A}", "delimiters", "cannot be a delimiter"),
    ("delimiters: {line_break: ' '}", "delimiters.line_break", "Input should be"),
    ("capabilities: {accepts_backorders: maybe}", "capabilities.accepts_backorders", "valid boolean"),
    ("capabilities: {backorder_date_qualifier: '999'}", "capabilities.backorder_date_qualifier", "element 374"),
    ("capabilities: {accepts_partial_line_cancel: 2}", "capabilities.accepts_partial_line_cancel", "boolean"),
    (
        "capabilities: {requires_reason_on_every_cancelled_line: true}",
        "capabilities.reasons",
        "needs its code; missing: out_of_stock",
    ),
    ("capabilities: {supplier_cancel_document: '860'}", "capabilities.supplier_cancel_document", "'855' or '865'"),
    ("capabilities: {retailer_cancel_ack_document: '997'}", "capabilities.retailer_cancel_ack_document", "'865'"),
    ("capabilities: {change_after_first_ack: '855-04'}", "capabilities.change_after_first_ack", "'855-19'"),
    ("capabilities: {reasons: {lost_in_mail: {}}}", "capabilities.reasons.lost_in_mail", "'out_of_stock'"),
    ("capabilities: {reasons: {other: {ack_status: XX}}}", "capabilities.reasons.other.ack_status", "element 668"),
    ("capabilities: {reasons: {other: {ack_status: IA}}}", "capabilities.reasons.other.ack_status", "Item Accepted"),
    ("capabilities: {reasons: {other: {code: ''}}}", "capabilities.reasons.other.code", "at least 1"),
    ("capabilities: {reasons: {other: {text: ''}}}", "capabilities.reasons.other.text", "at least 1"),
    ("capabilities: {reasons: {other: {label: x}}}", "capabilities.reasons.other.label", "not a setting here"),
    ("capabilities: {item_id_qualifiers: {BP: part}}", "capabilities.item_id_qualifiers", "not an item id kind"),
    ("capabilities: {item_id_qualifiers: {bp: buyer_part}}", "capabilities.item_id_qualifiers", "element 235"),
    ("capabilities: {item_ids_expected: [style]}", "capabilities.item_ids_expected", "'style' cannot be sent"),
    ("acknowledgements: {send_order_ack: sometimes}", "acknowledgements.send_order_ack", "'on_receipt'"),
    ("acknowledgements: {functional_ack_for_005010: '998'}", "acknowledgements.functional_ack_for_005010", "'999'"),
    ("acknowledgements: {reject_duplicate_po: perhaps}", "acknowledgements.reject_duplicate_po", "boolean"),
    (
        "deadlines: {functional_ack_expected_hours: 0}",
        "deadlines.functional_ack_expected_hours",
        "greater than or equal to 1",
    ),
    ("deadlines: {order_ack_due_hours: soon}", "deadlines.order_ack_due_hours", "valid integer"),
    ("deadlines: {cancel_ack_due_hours: -3}", "deadlines.cancel_ack_due_hours", "greater than or equal to 1"),
    ("duplicates: {action: shrug}", "duplicates.action", "'flag'"),
    ("duplicates: {window_days: 0}", "duplicates.window_days", "greater than or equal to 1"),
    ("usage: X", "usage", "'T' or 'P'"),
    ("mailbox: {kind: ftp}", "mailbox", "kind must be local, sftp or as2"),
    ("mailbox: {inbox: [a]}", "mailbox.inbox", "valid string"),
    ("mailbox: {kind: sftp, host: h, username: u, password: hunter2}", "mailbox.password", "never written in the"),
    ("mailbox: {kind: sftp, host: h, username: u, password: {env: A, file: b}}", "mailbox.password", "exactly one"),
    ("mailbox: {kind: sftp, host: h, username: u}", "mailbox", "a key_file or a password"),
    ("mailbox: {kind: sftp, host: h, username: u, key_file: k, after_fetch: move}", "mailbox", "archive_dir"),
    ("mailbox: {after_fetch: move}", "mailbox", "archive folder"),
    ("hooks: ../elsewhere.py", "hooks", "should match pattern"),
    ("hooks: absent.py", "hooks", "no absent.py beside the profile"),
    ("colour: blue", "colour", "not a setting here"),
    ("capabilities: {acept_backorders: true}", "capabilities.acept_backorders", "did you mean 'accepts_backorders'"),
]


@pytest.mark.parametrize(("line", "path", "message"), WRONG, ids=[w[1] + ":" + w[0][:30] for w in WRONG])
def test_every_settings_mistake_names_file_line_and_column(tmp_path: Path, line: str, path: str, message: str) -> None:
    # The mistake goes on line 5, after four lines of comment.
    text = "# a partner\n# with a mistake\n# on the\n# next line\n" + line + "\n"
    if not line.startswith("name"):
        text += "name: Example Outfitters\n"
    if not line.startswith("x12"):
        text += "x12: {isa_qualifier: ZZ, isa_id: EXAMPLEOUT, gs_code: EXAMPLEOUT}\n"
    profile = write(tmp_path / "outfitters" / "profile.yaml", text)
    with pytest.raises(ProfileError) as error:
        load_profile(profile)
    found = [p for p in error.value.problems if p.path == path]
    assert found, f"no problem reported for {path}: {error.value}"
    assert found[0].position.file == str(profile)
    assert found[0].position.line == 5, str(error.value)
    assert message in found[0].message, str(error.value)
    assert str(found[0]).startswith(f"{profile}:5:")


def test_the_column_is_the_offending_keys() -> None:
    text = "name: Example\ncapabilities:\n  backorder_date_qualifier: '068'\n  reasons:\n    other:\n      ack_status: IA\n"
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / "outfitters" / "profile.yaml", text)
        with pytest.raises(ProfileError) as error:
            load_profile(path)
    assert problems(error) == [
        f"{path}:6:7: capabilities.reasons.other.ack_status: ACK01 'IA' means 'Item Accepted', but a cancelled "
        "line needs a rejected or deleted status: ID, IR, R1, R2, R3, R4, R5, R6, R7, R8"
    ]


def test_all_mistakes_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "outfitters" / "profile.yaml",
        """
        name: Example Outfitters
        usage: X
        capabilities:
          backorder_date_qualifier: "68"
        deadlines: {order_ack_due_hours: 0}
        """,
    )
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert [str(p.position) for p in error.value.problems] == [f"{path}:2:1", f"{path}:4:3", f"{path}:5:13"]


def test_a_required_setting_left_out_or_null_is_located(tmp_path: Path) -> None:
    left_out = write(tmp_path / "a" / "profile.yaml", "usage: T\n")
    with pytest.raises(ProfileError) as error:
        load_profile(left_out)
    assert problems(error) == [f"{left_out}:1:1: name: is required"]
    null = write(tmp_path / "b" / "profile.yaml", "usage: T\nname: ~\n")
    with pytest.raises(ProfileError) as error:
        load_profile(null)
    assert problems(error) == [f"{null}:2:1: name: is null, but it is required"]


def test_x12_documents_need_an_x12_identity(tmp_path: Path) -> None:
    path = write(tmp_path / "a" / "profile.yaml", "name: A\ndocuments:\n  order: {}\n  order_ack: {}\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert problems(error) == [
        f"{path}:2:1: documents: order, order_ack are exchanged by X12, so the profile needs an x12 identity "
        "(isa_qualifier, isa_id, gs_code)"
    ]
    edifact = write(
        tmp_path / "b" / "profile.yaml", "name: B\ndocuments: {order: {standard: edifact, version: D96A}}\n"
    )
    assert load_profile(edifact).version_of(Document.ORDER) == "D96A"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("name: A\nname: B\n", 2, 1, "name: is given twice (first at line 1)"),
        ("name: [unclosed\n", 2, 1, "is not valid YAML"),
        ("- name: A\n", 1, 1, "must be a mapping of settings"),
        ("name: A\n---\nname: B\n", 2, 1, "is not valid YAML: expected a single document"),
        ("name: A\n[a, b]: c\n", 2, 1, "a key must be a plain word"),
    ],
)
def test_yaml_mistakes_are_located(tmp_path: Path, text: str, line: int, column: int, message: str) -> None:
    path = write(tmp_path / "a" / "profile.yaml", text)
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert error.value.problems[0].position.line == line, str(error.value)
    assert error.value.problems[0].position.column == column, str(error.value)
    assert message in str(error.value.problems[0])


def test_yaml_merge_keys_override_without_a_duplicate_complaint(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a" / "profile.yaml",
        """
        name: A
        capabilities:
          reasons:
            out_of_stock: &rejected {ack_status: IR, code: GONE, text: Cannot supply}
            discontinued:
              <<: *rejected
              code: DISC
        """,
    )
    profile = load_profile(path)
    assert profile.reason(CancelReason.DISCONTINUED) == ReasonCode(ack_status="IR", code="DISC", text="Cannot supply")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "a" / "profile.yaml", "name: A\nmailbox: &loop {inbox: *loop}\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert "mailbox.inbox: refers to itself through an alias" in str(error.value)


def test_an_empty_file_reports_what_is_required(tmp_path: Path) -> None:
    path = write(tmp_path / "a" / "profile.yaml", "# nothing yet\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert problems(error) == [f"{path}:1:1: name: is required"]


def test_a_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "a" / "profile.yaml"
    path.parent.mkdir()
    path.write_bytes(b"name: A\ntext: caf\xe9\n")
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert problems(error) == [f"{path}:2:10: is not UTF-8 text"]


# -- TOML -------------------------------------------------------------------------------------


def test_a_toml_profile_loads_like_yaml(tmp_path: Path) -> None:
    toml = write(
        tmp_path / "outfitters" / "profile.toml",
        """
        name = "Example Outfitters"

        [x12]
        isa_qualifier = "ZZ"
        isa_id = "EXAMPLEOUT"
        gs_code = "EXAMPLEOUT"

        [documents.order]
        version = "004010"

        [capabilities]
        accepts_backorders = true
        backorder_date_qualifier = "079"
        reasons.out_of_stock = { ack_status = "IR", code = "OOS" }

        [capabilities.reasons.discontinued]
        ack_status = "ID"
        """,
    )
    profile = load_profile(toml)
    yaml_twin = write(
        tmp_path / "twin" / "profile.yaml",
        """
        id: outfitters
        name: Example Outfitters
        x12: {isa_qualifier: ZZ, isa_id: EXAMPLEOUT, gs_code: EXAMPLEOUT}
        documents: {order: {version: "004010"}}
        capabilities:
          accepts_backorders: true
          backorder_date_qualifier: "079"
          reasons:
            out_of_stock: {ack_status: IR, code: OOS}
            discontinued: {ack_status: ID}
        """,
    )
    assert profile == load_profile(yaml_twin)


def test_toml_mistakes_are_located_too(tmp_path: Path) -> None:
    path = write(
        tmp_path / "outfitters" / "profile.toml",
        """
        name = "Example Outfitters"
        usage = "X"

        [capabilities]
        backorder_date_qualifier = "68"
        reasons = { other = { ack_status = "IA" }, bogus = {} }

        [[capabilities.item_ids_expected]]
        """,
    )
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    located = {p.path: (p.position.line, p.position.column) for p in error.value.problems}
    assert located["usage"] == (2, 1)
    assert located["capabilities.backorder_date_qualifier"] == (5, 1)
    assert located["capabilities.reasons.other.ack_status"] == (6, 23)
    assert located["capabilities.reasons.bogus"] == (6, 44)
    assert located["capabilities.item_ids_expected[0]"] == (8, 3)


def test_toml_syntax_errors_are_located(tmp_path: Path) -> None:
    path = write(tmp_path / "a" / "profile.toml", 'name = "A"\nusage = \n')
    with pytest.raises(ProfileError) as error:
        load_profile(path)
    assert problems(error)[0].startswith(f"{path}:2:")
    assert "is not valid TOML" in problems(error)[0]


# -- folders of partners ------------------------------------------------------------------------


def partner_folder(root: Path, partner_id: str, isa_id: str, gs_code: str, extra: str = "") -> Path:
    return write(
        root / partner_id / "profile.yaml",
        f"name: {partner_id.title()}\nx12: {{isa_qualifier: ZZ, isa_id: {isa_id}, gs_code: {gs_code}}}\n" + extra,
    )


def test_a_folder_of_partners_loads_every_partner_with_the_folders_defaults(tmp_path: Path) -> None:
    partner_folder(tmp_path, "alpha", "ALPHA", "ALPHA")
    partner_folder(tmp_path, "beta", "BETA", "BETAGS", "usage: P\n")
    write(tmp_path / "defaults.yaml", "usage: T\n")
    (tmp_path / ".git").mkdir()
    partners = load_partners(tmp_path)
    assert sorted(partners) == ["alpha", "beta"]
    assert isinstance(partners, dict)
    assert partners["alpha"].usage == "T"
    assert partners["beta"].usage == "P"
    assert partners.folder("alpha") == tmp_path / "alpha"


def test_partners_are_found_by_isa_identity_and_gs_code(tmp_path: Path) -> None:
    partner_folder(tmp_path, "alpha", "ALPHA", "ALPHAGS")
    partner_folder(tmp_path, "beta", "BETA", "BETAGS")
    partners = load_partners(tmp_path)
    assert partners.by_isa("ZZ", "ALPHA          ") is partners["alpha"]  # ISA06 as read, padded
    assert partners.by_isa("01", "ALPHA") is None
    assert partners.by_gs("BETAGS") is partners["beta"]
    assert partners.by_gs("ALPHA") is None


def test_a_profile_id_must_be_its_folders_name(tmp_path: Path) -> None:
    path = partner_folder(tmp_path, "alpha", "ALPHA", "ALPHA", "id: beta\n")
    with pytest.raises(ProfileError) as error:
        load_partners(tmp_path)
    assert problems(error) == [
        f"{path}:3:1: id: 'beta' differs from its folder's name 'alpha'; a partner's folder is named by its id"
    ]


def test_duplicate_ids_across_folders_are_refused(tmp_path: Path) -> None:
    first = partner_folder(tmp_path / "one", "alpha", "ALPHA", "ALPHA")
    second = partner_folder(tmp_path / "two", "alpha", "ALPHA2", "ALPHA2")
    with pytest.raises(ProfileError) as error:
        load_partners(tmp_path / "one", tmp_path / "two")
    assert problems(error) == [f"{second}:1:1: id: partner 'alpha' is already defined at {first}:1:1"]


def test_duplicate_identities_are_refused_with_both_places(tmp_path: Path) -> None:
    first = partner_folder(tmp_path, "alpha", "SHARED", "ALPHA")
    second = partner_folder(tmp_path, "beta", "SHARED", "ALPHA")
    with pytest.raises(ProfileError) as error:
        load_partners(tmp_path)
    assert problems(error) == [
        f"{second}:2:26: x12.isa_id: ISA identity ZZ:SHARED is also partner 'alpha''s ({first}:2:26); each "
        "partner needs its own, or inbound interchanges cannot be told apart",
        f"{second}:2:42: x12.gs_code: GS code 'ALPHA' is also partner 'alpha''s ({first}:2:42); each partner "
        "needs its own",
    ]


def test_a_partner_cannot_use_our_own_identity(tmp_path: Path) -> None:
    path = partner_folder(tmp_path, "alpha", "ACMESUPPLY", "ALPHA")
    with pytest.raises(ProfileError) as error:
        load_partners(tmp_path, ours=US)
    assert problems(error) == [
        f"{path}:2:26: x12.isa_id: ISA identity ZZ:ACMESUPPLY is our own; a partner needs its own"
    ]


def test_every_partners_mistakes_are_reported_together(tmp_path: Path) -> None:
    alpha = partner_folder(tmp_path, "alpha", "ALPHA", "ALPHA", "usage: X\n")
    beta = partner_folder(tmp_path, "beta", "BETA", "BETA", "role: buyer\n")
    (tmp_path / "gamma").mkdir()
    write(tmp_path / "delta" / "profile.yaml", "name: D\n")
    write(tmp_path / "delta" / "profile.toml", 'name = "D"\n')
    with pytest.raises(ProfileError) as error:
        load_partners(tmp_path)
    assert [str(p.position) for p in error.value.problems] == [
        f"{alpha}:3:1",
        f"{beta}:3:1",
        str(tmp_path / "delta"),
        str(tmp_path / "gamma"),
    ]
    assert "has profile.yaml, profile.toml; keep one" in str(error.value)
    assert "has no profile.yaml" in str(error.value)


def test_a_missing_partners_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="is not a folder of partners"):
        load_partners(tmp_path / "nowhere")


# -- hooks ------------------------------------------------------------------------------------


def an_order() -> Order:
    return Order(partner_id="alpha", po_number="PO1", lines=[OrderLine(line_number="1", ordered_qty=Decimal(2))])


def test_hooks_load_from_a_file_beside_the_profile(tmp_path: Path) -> None:
    partner_folder(tmp_path, "alpha", "ALPHA", "ALPHA", "hooks: alpha_hooks.py\n")
    write(
        tmp_path / "alpha" / "alpha_hooks.py",
        """
        def adjust_order(order):
            order.po_number = order.po_number + "-A"
            return order

        def adjust_outbound(segments):
            return [s for s in segments if s[0] != "PID"]
        """,
    )
    partners = load_partners(tmp_path)
    hooks = partners.hooks("alpha")
    assert hooks.source == tmp_path / "alpha" / "alpha_hooks.py"
    order = an_order()
    adjusted = hooks.adjust_order(order)
    assert adjusted.po_number == "PO1-A"
    assert order.po_number == "PO1"  # the hook works on a copy
    segments: list[SegmentFields] = [["ST", "850"], ["BEG", "00", "SA", "PO1", "", "20240301"], ["PID", "F"]]
    assert hooks.adjust_outbound(segments) == segments[:2]
    assert partners.hooks("alpha") is hooks  # loaded once


def test_a_partner_without_hooks_gets_ones_that_change_nothing(tmp_path: Path) -> None:
    partner_folder(tmp_path, "alpha", "ALPHA", "ALPHA")
    hooks = load_partners(tmp_path).hooks("alpha")
    order = an_order()
    assert hooks.adjust_order(order) is order
    assert hooks.adjust_outbound([["ST", "850"]]) == [["ST", "850"]]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        (
            "def adjust_orders(order):\n    return order\n",
            1,
            "adjust_orders: is not a hook; did you mean 'adjust_order'?",
        ),
        ("x = 1\n\ndef adjust_order():\n    pass\n", 3, "adjust_order: must take one argument"),
        ("adjust_outbound = 3\n", 1, "adjust_outbound: must be a function"),
        ("x = 1\ndef broken(:\n", 2, "is not valid Python"),
        ("import os\nraise RuntimeError('no config')\n", 2, "fails when loaded: RuntimeError: no config"),
    ],
)
def test_hook_module_mistakes_are_located(tmp_path: Path, source: str, line: int, message: str) -> None:
    path = write(tmp_path / "alpha" / "hooks.py", source)
    with pytest.raises(ProfileError) as error:
        load_hooks(path)
    assert error.value.problems[0].position.line == line, str(error.value)
    assert message in str(error.value)


def test_a_hook_that_fails_or_returns_the_wrong_thing_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "alpha" / "hooks.py", "def adjust_order(order):\n    return None\n")
    with pytest.raises(HookError, match="adjust_order returned NoneType, not an Order"):
        load_hooks(path).adjust_order(an_order())
    path = write(tmp_path / "beta" / "hooks.py", "def adjust_outbound(segments):\n    raise KeyError('REF')\n")
    with pytest.raises(HookError, match="adjust_outbound failed: KeyError"):
        load_hooks(path).adjust_outbound([["ST", "850"]])


def test_the_hook_protocol_is_documented() -> None:
    import mappings.profiles

    assert mappings.profiles.__doc__ is not None
    for name in HOOKS:
        assert name in mappings.profiles.__doc__


# -- crosswalk and terms ------------------------------------------------------------------------


def test_ack01_codes_come_from_the_x12_dictionary() -> None:
    codes = default_schemas().dictionaries["004010"].elements["668"].codes
    assert codes is not None
    assert set(cancelled_line_statuses()) <= set(codes)
    assert {"IR", "ID", "R2"} <= set(cancelled_line_statuses())
    assert "IA" not in cancelled_line_statuses()


def test_a_partner_that_needs_every_reason_must_crosswalk_every_reason() -> None:
    every = {reason: ReasonCode(code=reason.value.upper()) for reason in CancelReason}
    Capabilities(requires_reason_on_every_cancelled_line=True, reasons=every)
    partial = dict(every)
    partial[CancelReason.OTHER] = ReasonCode()  # present, but without a code
    with pytest.raises(ValueError, match="missing: other"):
        Capabilities(requires_reason_on_every_cancelled_line=True, reasons=partial)


def test_the_crosswalk_says_our_reason_in_the_partners_words() -> None:
    partners = example_partners()
    northwind_like = next(p for p in partners.values() if p.capabilities.requires_reason_on_every_cancelled_line)
    crosswalk = northwind_like.crosswalk()
    assert set(crosswalk) == set(CancelReason)
    assert all(code.code for code in crosswalk.values())
    silent = PartnerProfile(id="a", name="A")
    assert silent.reason(CancelReason.OUT_OF_STOCK) == ReasonCode(ack_status="IR")
    assert silent.reason_for_code("X") is None


def test_the_partners_code_reads_back_as_our_reason() -> None:
    profile = PartnerProfile(
        id="a",
        name="A",
        capabilities=Capabilities(
            reasons={
                CancelReason.OUT_OF_STOCK: ReasonCode(code="OOS"),
                CancelReason.INVALID_ITEM: ReasonCode(code="MISC"),
                CancelReason.OTHER: ReasonCode(code="MISC"),
            }
        ),
    )
    assert profile.reason_for_code("OOS") is CancelReason.OUT_OF_STOCK
    assert profile.reason_for_code("MISC") is CancelReason.OTHER  # shared: the general one


@pytest.mark.parametrize("flag", [True, False])
def test_terms_reflect_capabilities(flag: bool) -> None:
    reasons = {reason: ReasonCode(code="X") for reason in CancelReason}
    profile = PartnerProfile(
        id="a",
        name="A",
        capabilities=Capabilities(
            accepts_backorders=flag,
            accepts_partial_line_cancel=not flag,
            requires_reason_on_every_cancelled_line=flag,
            reasons=reasons,
        ),
        acknowledgements=AckPolicy(send_order_ack="on_receipt" if flag else "manual", reject_duplicate_po=flag),
        usage="T" if flag else "P",
    )
    terms = profile.terms
    assert terms.accepts_backorders is flag
    assert terms.accepts_partial_line_cancel is not flag
    assert terms.requires_reason_on_every_cancelled_line is flag
    assert terms.send_order_ack_on_receipt is flag
    assert terms.reject_duplicate_po is flag
    assert terms.test_mode is flag


def test_which_functional_ack_a_group_is_owed() -> None:
    profile = PartnerProfile(id="a", name="A", acknowledgements=AckPolicy(functional_ack_for_005010="999"))
    assert profile.functional_ack_for("004010") == "997"
    assert profile.functional_ack_for("005010X222A1") == "999"
    assert PartnerProfile(id="b", name="B").functional_ack_for("005010") == "997"


def test_who_sends_what() -> None:
    retailer = PartnerProfile(id="a", name="A")
    supplier = PartnerProfile(id="b", name="B", role=Role.SUPPLIER)
    assert retailer.sends(Document.ORDER) and not retailer.sends(Document.ORDER_ACK)
    assert supplier.sends(Document.SHIP_NOTICE) and not supplier.sends(Document.ORDER)


# -- the example partners -----------------------------------------------------------------------


def test_the_example_partners_load_as_described() -> None:
    partners = example_partners()
    assert sorted(partners) == ["contoso", "fabrikam", "northwind"]

    northwind = partners["northwind"]
    assert northwind.version_of(Document.ORDER) == "004010"
    assert northwind.terms.accepts_backorders and northwind.capabilities.backorder_date_qualifier == "079"
    assert northwind.terms.requires_reason_on_every_cancelled_line
    assert northwind.reason(CancelReason.OUT_OF_STOCK) == ReasonCode(ack_status="IR", code="CXSS", text="Out of Stock")
    assert northwind.capabilities.retailer_cancel_ack_document == "865"
    assert northwind.terms.send_order_ack_on_receipt

    contoso = partners["contoso"]
    assert contoso.version_of(Document.ORDER) == "005010"
    assert not contoso.terms.accepts_backorders and not contoso.terms.accepts_partial_line_cancel
    assert contoso.capabilities.change_after_first_ack == "855-19"
    assert contoso.functional_ack_for("005010") == "999"
    assert not contoso.terms.send_order_ack_on_receipt

    fabrikam = partners["fabrikam"]
    assert fabrikam.role is Role.SUPPLIER
    assert fabrikam.sends(Document.ORDER_ACK) and fabrikam.sends(Document.SHIP_NOTICE)
    assert not fabrikam.sends(Document.ORDER)


def test_every_example_profile_opens_with_a_readme_comment() -> None:
    for path in sorted(EXAMPLES_DIR.glob("*/profile.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        first_setting = next(n for n, line in enumerate(lines) if not line.startswith("#"))
        assert first_setting >= 5, f"{path} needs a README-style comment at the top"


def test_an_example_hook_adds_the_vendor_number_and_the_order_still_validates() -> None:
    partners = example_partners()
    hooks = partners.hooks("fabrikam")
    sets = fixture_sets(FIXTURES / "x12/004010/850/pass/dropship.x12")
    without_ref = [seg for seg in sets[0] if seg[:2] != ["REF", "IA"]]
    adjusted = hooks.adjust_outbound(without_ref)
    assert [seg[0] for seg in adjusted[:4]] == ["ST", "BEG", "CUR", "REF"]
    assert adjusted[3] == ["REF", "IA", "V20417"]
    assert hooks.adjust_outbound(adjusted) == adjusted  # once is enough
    fabrikam = partners["fabrikam"]
    assert fabrikam.x12 is not None
    ich = build_interchange(
        US,
        fabrikam.x12.interchange,
        [GroupSpec("PO", "004010", [adjusted], "ACMESUPPLY", fabrikam.x12.gs_code)],
        control_numbers=CountingControlNumbers(),
        now=datetime(2024, 3, 1, 10, 15),
    )
    assert findings_of(write_interchange(ich)) == []


class Sample(NamedTuple):
    partner: str
    name: str
    fixture: str
    #: Text replaced in every element of the body (not the envelope), in order.
    replace: tuple[tuple[str, str], ...] = ()


SAMPLES = [
    Sample("northwind", "850-dropship.x12", "004010/850/pass/dropship.x12"),
    Sample("northwind", "860-cancel.x12", "004010/860/pass/header-cancel.x12"),
    Sample("northwind", "860-line-changes.x12", "004010/860/pass/line-changes.x12"),
    Sample(
        "contoso",
        "850-dropship.x12",
        "005010/850/pass/dropship.x12",
        (("NORTHWIND RETAIL", "CONTOSO HOME"), ("NWR001", "CTH001"), ("NW", "CT")),
    ),
    Sample("contoso", "860-cancel.x12", "005010/860/pass/header-cancel.x12", (("NW", "CT"),)),
    Sample(
        "fabrikam",
        "855-accept.x12",
        "004010/855/pass/accept-all.x12",
        (("AC-", "FB-"), ("NW-", "AC-"), ("NW50", "PO70")),
    ),
    Sample(
        "fabrikam",
        "856-ship-notice.x12",
        "004010/856/pass/soi.x12",
        (
            ("ACME SUPPLY DC 1", "FABRIKAM MILL 3"),
            ("ACME01", "FAB03"),
            ("NORTHWIND DC EAST", "ACME SUPPLY DC 1"),
            ("AC-", "FB-"),
            ("NW-", "AC-"),
            ("NW50", "PO70"),
        ),
    ),
]


def fixture_sets(path: Path, replace: Callable[[str], str] = lambda value: value) -> list[list[SegmentFields]]:
    """A fixture's transaction sets as builder input: ST without ST02, the body, no SE."""
    interchanges, _ = read_interchanges(path)
    sets: list[list[SegmentFields]] = []
    for group in interchanges[0].groups:
        for ts in group.sets:
            body: list[SegmentFields] = [[seg.tag, *map(replace, seg.elements)] for seg in ts.segments[1:-1]]
            sets.append([["ST", ts.id], *body])
    return sets


def build_sample(sample: Sample, partners: Partners) -> bytes:
    """The fixture re-enveloped from the partner to us, with its own date and control numbers."""
    profile = partners[sample.partner]
    assert profile.x12 is not None
    path = FIXTURES / "x12" / sample.fixture
    interchanges, _ = read_interchanges(path)
    original: Interchange = interchanges[0]
    group = original.groups[0]

    def replace(value: str) -> str:
        for old, new in sample.replace:
            value = value.replace(old, new)
        return value

    ich = build_interchange(
        profile.x12.interchange,
        US,
        [GroupSpec(group.functional_id, group.version, fixture_sets(path, replace), profile.x12.gs_code, US[1])],
        control_numbers=CountingControlNumbers(
            interchange_start=int(original.control_number), group_start=int(group.control_number)
        ),
        usage=original.usage,
        now=datetime.strptime(original.isa.element(9) + original.isa.element(10), "%y%m%d%H%M"),
    )
    return write_interchange(ich)


def findings_of(data: bytes) -> list[str]:
    reader = X12Reader(data, keep_tree=True)
    for _ in validated_events(reader):
        pass
    found = [str(f) for f in reader.findings]
    for ich in reader.interchanges:
        found += [str(f) for f in ich.findings]
        for group in ich.groups:
            found += [str(f) for f in group.findings]
            found += [str(f) for ts in group.sets for f in ts.findings]
    return found


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.partner}/{s.name}")
def test_example_samples_are_fixtures_with_the_partners_identities(sample: Sample) -> None:
    partners = example_partners()
    golden = EXAMPLES_DIR / sample.partner / "samples" / sample.name
    expected = build_sample(sample, partners)
    if REGENERATE:
        golden.write_bytes(expected)
    assert golden.exists(), f"{golden} is missing: run EDI_REGEN_GOLDENS=1 pytest {Path(__file__).name}"
    assert golden.read_bytes() == expected


@pytest.mark.parametrize("partner_id", ["northwind", "contoso", "fabrikam"])
def test_every_example_sample_validates_and_names_its_partner(partner_id: str) -> None:
    partners = example_partners()
    samples = partners.samples(partner_id)
    assert samples, f"{partner_id} has no samples"
    assert {s.name for s in samples} == {s.name for s in SAMPLES if s.partner == partner_id}
    profile = partners[partner_id]
    for path in samples:
        data = path.read_bytes()
        assert findings_of(data) == [], path
        interchanges, _ = read_interchanges(data)
        for ich in interchanges:
            assert partners.by_isa(*ich.sender) is profile
            assert ich.receiver == US
            for group in ich.groups:
                assert partners.by_gs(group.gs.element(2)) is profile
                version = default_schemas().version_of(group.version)
                documents = {d for d in Document if profile.exchanges(d) and profile.version_of(d) == version}
                assert documents, f"{path}: {profile.id} exchanges nothing in {version}"


def test_example_samples_are_documents_the_partner_sends_us() -> None:
    sent_as = {
        "850": Document.ORDER,
        "860": Document.ORDER_CHANGE,
        "855": Document.ORDER_ACK,
        "856": Document.SHIP_NOTICE,
    }
    partners = example_partners()
    for partner_id, profile in partners.items():
        for path in partners.samples(partner_id):
            interchanges, _ = read_interchanges(path)
            for ts in (ts for ich in interchanges for g in ich.groups for ts in g.sets):
                assert profile.sends(sent_as[ts.id]), f"{path}: {profile.role} {partner_id} does not send a {ts.id}"
                assert profile.exchanges(sent_as[ts.id])


# -- a profile written out reads back the same ---------------------------------------------------

texts = st.text(min_size=1, max_size=12)
partner_ids = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,12}", fullmatch=True)


@st.composite
def capabilities(draw: st.DrawFn) -> Capabilities:
    every = draw(st.booleans())
    reason_codes = st.builds(
        ReasonCode,
        ack_status=st.sampled_from(sorted(cancelled_line_statuses())),
        code=texts if every else st.none() | texts,
        text=st.none() | texts,
    )
    if every:
        reasons = {reason: draw(reason_codes) for reason in CancelReason}
    else:
        reasons = draw(st.dictionaries(st.sampled_from(list(CancelReason)), reason_codes, max_size=4))
    qualifiers = draw(
        st.dictionaries(
            st.from_regex(r"[A-Z0-9]{2}", fullmatch=True), st.sampled_from(ITEM_ID_KINDS), min_size=1, max_size=5
        )
    )
    return Capabilities(
        accepts_backorders=draw(st.booleans()),
        backorder_date_qualifier=draw(st.sampled_from(["067", "068", "069", "079", "080", "002"])),
        accepts_partial_line_cancel=draw(st.booleans()),
        requires_reason_on_every_cancelled_line=every,
        supplier_cancel_document=draw(st.sampled_from(["855", "865"])),
        retailer_cancel_ack_document=draw(st.sampled_from(["855", "865"])),
        change_after_first_ack=draw(st.sampled_from(["855-05", "855-19", "865"])),
        reasons=reasons,
        item_id_qualifiers=qualifiers,
        item_ids_expected=draw(st.lists(st.sampled_from(sorted(set(qualifiers.values()))), max_size=3)),
    )


def mailboxes() -> st.SearchStrategy[LocalFolders | SftpServer]:
    local = st.builds(LocalFolders, inbox=st.none() | texts, outbox=st.none() | texts, settle_seconds=st.just(0.5))
    secrets = st.builds(Secret, env=st.from_regex(r"[A-Z_][A-Z0-9_]{0,10}", fullmatch=True)) | st.builds(
        Secret, file=texts
    )
    sftp = st.builds(
        SftpServer,
        kind=st.just("sftp"),
        host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
        port=st.integers(1, 65535),
        username=st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
        key_file=st.just("id_ed25519"),
        password=st.none() | secrets,
        inbound_dir=texts,
        pattern=st.sampled_from(["*", "*.edi", "PO_*.x12"]),
        retries=st.builds(Retries, attempts=st.integers(1, 5)),
    )
    return local | sftp


@st.composite
def profiles(draw: st.DrawFn) -> PartnerProfile:
    x12 = draw(
        st.none()
        | st.builds(
            X12Identity,
            isa_qualifier=st.sampled_from(["ZZ", "01", "12", "08"]),
            isa_id=st.from_regex(r"[A-Z0-9]([A-Z0-9 -]{0,13}[A-Z0-9])?", fullmatch=True),
            gs_code=st.from_regex(r"[A-Z0-9]{2,15}", fullmatch=True),
        )
    )
    settings_ = (
        st.builds(DocumentSetting, standard=st.just("x12"), version=st.sampled_from(["004010", "005010", "004010VICS"]))
        if x12 is not None
        else st.nothing()
    ) | st.builds(DocumentSetting, standard=st.just("edifact"), version=st.sampled_from(["D96A", "D01B"]))
    separators = draw(st.permutations(list("*>^~|!:")))
    return PartnerProfile(
        id=draw(partner_ids),
        name=draw(texts),
        role=draw(st.sampled_from(list(Role))),
        x12=x12,
        documents=draw(st.dictionaries(st.sampled_from(list(Document)), settings_, max_size=4)),
        delimiters=Delimiters(
            element=separators[0],
            component=separators[1],
            repetition=separators[2],
            segment=separators[3],
            line_break=draw(st.sampled_from(["", "\n", "\r\n"])),
        ),
        capabilities=draw(capabilities()),
        acknowledgements=AckPolicy(
            send_order_ack=draw(st.sampled_from(["on_receipt", "manual"])),
            functional_ack_for_005010=draw(st.sampled_from(["997", "999"])),
            reject_duplicate_po=draw(st.booleans()),
        ),
        deadlines=Deadlines(
            functional_ack_expected_hours=draw(st.integers(1, 10_000)),
            order_ack_due_hours=draw(st.integers(1, 10_000)),
            cancel_ack_due_hours=draw(st.integers(1, 10_000)),
        ),
        duplicates=DuplicatePolicy(
            action=draw(st.sampled_from(["flag", "reject", "accept"])), window_days=draw(st.integers(1, 3650))
        ),
        usage=draw(st.sampled_from(["T", "P"])),
        mailbox=draw(mailboxes()),
        hooks=draw(st.none() | st.from_regex(r"[a-z_][a-z0-9_]{0,8}\.py", fullmatch=True)),
    )


@settings(max_examples=150, deadline=None)
@given(profile=profiles(), full=st.booleans())
def test_any_profile_written_as_yaml_loads_back_equal(profile: PartnerProfile, full: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partner" / "profile.yaml"
        path.parent.mkdir()
        path.write_text(dump_profile(profile, full=full), encoding="utf-8")
        if profile.hooks:
            (path.parent / profile.hooks).write_text("")
        assert load_profile(path) == profile


def test_a_written_profile_holds_only_its_differences() -> None:
    profile = PartnerProfile(id="a", name="A", usage="T", deadlines=Deadlines(order_ack_due_hours=48))
    assert yaml.safe_load(dump_profile(profile)) == {
        "id": "a",
        "name": "A",
        "deadlines": {"order_ack_due_hours": 48},
        "usage": "T",
    }


def test_the_example_profiles_write_back_to_what_they_load() -> None:
    for profile in example_partners().values():
        data = yaml.safe_load(dump_profile(profile))
        assert PartnerProfile.model_validate(data) == profile
        assert re.fullmatch(r"[a-z0-9_-]+", profile.id)
