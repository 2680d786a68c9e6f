"""Fabrikam Textiles' hooks: the vendor number in a REF*IA at the head of every 850 we send.

Loaded by file path from this folder (mappings.profiles.load_hooks); nothing imports it by name.
"""

from __future__ import annotations

from collections.abc import Sequence

from edi.x12.writer import SegmentFields

#: The vendor number Fabrikam gave us (REF01 IA = Internal Vendor Number).
VENDOR_NUMBER = "V20417"


def adjust_outbound(segments: Sequence[SegmentFields]) -> list[SegmentFields]:
    adjusted = list(segments)
    if not adjusted or list(adjusted[0][:2]) != ["ST", "850"]:
        return adjusted
    if any(segment[0] == "REF" and len(segment) > 1 and segment[1] == "IA" for segment in adjusted):
        return adjusted
    # The 850 heading runs BEG, CUR, REF...: the new REF goes before the first that comes after.
    position = next((n for n, segment in enumerate(adjusted) if n and segment[0] not in ("BEG", "CUR")), len(adjusted))
    adjusted.insert(position, ["REF", "IA", VENDOR_NUMBER])
    return adjusted
