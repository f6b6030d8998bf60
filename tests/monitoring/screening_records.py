"""A tiny screening case whose evidence can be checked by hand: three cash deposits just under 10,000 on account
ACC-1 (the structuring alert), a transfer out to ACC-2, a small round trip with ACC-3, and bookings outside the
alert's span or of other accounts that must not count.

Net flow by day: 03-01 +9,500; 03-02 +9,600 (19,100); 03-03 +9,700 - 20,000 (8,800); 03-05 +1,000 - 500 (9,300).
Counterparties by amount: cash 28,800 received; ACC-2 20,000 sent; ACC-3 1,000 received and 500 sent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from monitoring.models import ScenarioVersion, ScreenedTransaction, ScreeningAlert, ScreeningCase
from monitoring.services.scenarios import screening_scenarios_ensure

ACCOUNT = "ACC-1"
SPAN = (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), dt.datetime(2025, 3, 8, tzinfo=dt.UTC))
BOOKINGS = [
    # (external id, account, counterparty, amount, direction, kind, day, hour)
    ("t1", ACCOUNT, "", "9500.00", "in", "cash", 1, 10),
    ("t2", ACCOUNT, "", "9600.00", "in", "cash", 2, 11),
    ("t3", ACCOUNT, "", "9700.00", "in", "cash", 3, 12),
    ("t4", ACCOUNT, "ACC-2", "20000.00", "out", "transfer", 3, 15),
    ("t5", ACCOUNT, "ACC-3", "1000.00", "in", "transfer", 5, 9),
    ("t6", ACCOUNT, "ACC-3", "500.00", "out", "transfer", 5, 10),
    ("t7", ACCOUNT, "ACC-9", "100.00", "out", "transfer", 20, 10),  # after the span
    ("t8", "ACC-2", ACCOUNT, "20000.00", "in", "transfer", 3, 15),  # another account's side
]
TRIGGERING = ("t1", "t2", "t3")


def bookings_stored() -> dict[str, ScreenedTransaction]:
    """The bookings above, by external id."""
    return {
        external_id: ScreenedTransaction.objects.create(
            source="test",
            external_id=external_id,
            account=account,
            counterparty=counterparty,
            amount=Decimal(amount),
            direction=direction,
            kind=kind,
            booked_at=dt.datetime(2025, 3, day, hour, tzinfo=dt.UTC),
        )
        for external_id, account, counterparty, amount, direction, kind, day, hour in BOOKINGS
    }


def structuring_case() -> ScreeningCase:
    """ACC-1's open case with one structuring alert over the three deposits (the installed scenarios exist)."""
    screening_scenarios_ensure()
    bookings = bookings_stored()
    version = ScenarioVersion.objects.get(scenario__name="structuring", status=ScenarioVersion.Status.ACTIVE)
    case = ScreeningCase.objects.create(account=ACCOUNT, priority=1.5)
    ScreeningAlert.objects.create(
        account=ACCOUNT,
        scenario_version=version,
        case=case,
        rule=version.rule_name,
        typology="structuring",
        window_start=SPAN[0],
        window_end=SPAN[1],
        transaction_ids=[bookings[external_id].pk for external_id in TRIGGERING],
        score=1.5,
        reason="3 cash deposits between 9,000.00 and 10,000.00 within 7 days",
    )
    return case
