"""What a trading partner accepts, in business terms: the only partner facts the rules read.

Profiles (mappings/) hold everything else (identities, versions, codes); they hand the rules a
``PartnerTerms`` so that the rules never see a standard or a partner's name.
"""

from __future__ import annotations

from engine.model.common import Model


class PartnerTerms(Model):
    accepts_backorders: bool = False
    accepts_partial_line_cancel: bool = True
    requires_reason_on_every_cancelled_line: bool = False
    send_order_ack_on_receipt: bool = False
    reject_duplicate_po: bool = False
    test_mode: bool = False  # everything from and to this partner stays in its test space
