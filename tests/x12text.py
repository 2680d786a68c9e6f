"""Small X12 documents written out literally, for reader and validator tests."""

from __future__ import annotations


def isa(
    control: str = "000000001",
    *,
    version: str = "00401",
    element: str = "*",
    component: str = ">",
    repetition: str = "U",
    terminator: str = "~",
    ack: str = "0",
) -> str:
    """A 106-byte ISA with the given delimiters."""
    fields = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "NORTHWIND".ljust(15), "ZZ", "ACMESUPPLY".ljust(15),
        "261128", "1200", repetition, version, control, ack, "P", component,
    ]  # fmt: skip
    return element.join(fields) + terminator


def interchange(
    *sets: list[str],
    control: str = "000000001",
    group: str = "1",
    gs08: str = "004010",
    functional_id: str = "PO",
    sep: str = "\n",
    **isa_options: str,
) -> str:
    """One interchange, one group, the given sets (each a list of segments between ST and SE)."""
    element = isa_options.get("element", "*")
    terminator = isa_options.get("terminator", "~")
    lines = [isa(control, **isa_options)]
    lines.append(element.join(["GS", functional_id, "NORTHWIND", "ACMESUPPLY", "20261128", "1200", group, "X", gs08]))
    for number, body in enumerate(sets, start=1):
        st02 = f"{number:04d}"
        set_id = body[0] if body and body[0].isdigit() else "850"
        segments = [element.join(["ST", set_id, st02])]
        segments += [s.replace("*", element) for s in body if not s.isdigit()]
        segments.append(element.join(["SE", str(len(segments) + 1), st02]))
        lines.extend(segments)
    lines.append(element.join(["GE", str(len(sets)), group]))
    lines.append(element.join(["IEA", "1", control]))
    out = lines[0] + sep
    for line in lines[1:]:
        out += line + terminator + sep
    return out


PO_850 = ["BEG*00*SA*PO123**20261128", "PO1*1*10*EA*9.99**UP*012345678905", "CTT*1"]
