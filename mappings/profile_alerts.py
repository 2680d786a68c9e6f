"""What a partner's profile says about alerts: who else hears about this partner, and which
kinds of alert are not sent for it.

The kinds are named here, beside the profile that turns them off, so that the profile, the
workspace configuration (``edi-engine.toml`` ``[alerts]``) and the database's check constraint
share one list. Turning a kind off never hides it: every alert is recorded and listed by
``edi-engine alerts``; it is only not sent.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

#: An address an alert can be mailed to: one mailbox, no display name, nothing that could end a
#: mail header (a partner's folder is data, and data never writes headers of its own).
EMAIL_ADDRESS = r"^[^@\s<>,;:\"\x00-\x1f\x7f]+@[^@\s<>,;:\"\x00-\x1f\x7f]+$"


def _address(value: str) -> str:
    if re.fullmatch(EMAIL_ADDRESS, value) is None:
        raise ValueError(f"{value!r} is not an e-mail address: write one plain address, such as ops@example.com")
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


class AlertKind(StrEnum):
    """What a person is told about."""

    RETAILER_CANCEL = "retailer_cancel"  # a retailer asked to cancel (860): waits for an answer
    RETAILER_CHANGE = "retailer_change"  # a retailer asked to change an order (860): waits for an answer
    REJECTED_997 = "rejected_997"  # a partner's 997/999 rejected a document we sent
    OVERDUE_997 = "overdue_997"  # the 997 for a document we sent did not come by the partner's deadline
    QUARANTINE = "quarantine"  # an inbound file (or some of its sets) was held for a person
    MAILBOX_FAILING = "mailbox_failing"  # a partner's mailbox keeps failing
    CERTIFICATE = "certificate"  # a partner's or our certificate is close to its expiry


class PartnerAlerts(BaseModel):
    """Alerts about this partner: sent to the workspace's recipients and to ``to``, except the
    kinds in ``off`` (still recorded and listed, never sent for this partner)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: list[EmailAddress] = []  # e-mailed too, beside the workspace's [alerts.email] to
    off: list[AlertKind] = []
