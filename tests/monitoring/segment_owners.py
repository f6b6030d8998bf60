"""Berka account owners with a planted segmentation, for tests of the segment-proxy check."""

from __future__ import annotations

import datetime as dt

from clustering.experiments import ExperimentConfig
from clustering.models import ClusteringRun, SegmentAssignment
from lending.models import (
    BerkaAccount,
    BerkaClient,
    BerkaClientProtectedAttributes,
    BerkaDisposition,
    BerkaDistrict,
)
from tests.clustering.records import finished_run_record

# (segment, sex, born, accounts): segment 1 holds 48 of the 60 women's accounts and 12 of the 140 men's.
PLANTED = ((0, "female", 1960, 12), (1, "female", 1960, 48), (0, "male", 1950, 128), (1, "male", 1990, 12))


def planted_segmentation_record() -> ClusteringRun:
    """A finished run whose segment 1 over-represents women by design (accounts 1..200, one owner each)."""
    district = BerkaDistrict.objects.create(
        district_id=1,
        name="Praha",
        region="Prague",
        inhabitants=1_204_953,
        municipalities_under_500=0,
        municipalities_500_1999=0,
        municipalities_2000_9999=0,
        municipalities_over_10000=1,
        cities=1,
        urban_ratio=100.0,
        average_salary=12_541,
        unemployment_1996=0.43,
        entrepreneurs_per_1000=167,
        crimes_1996=99_107,
    )
    run = finished_run_record(experiment_name="planted", config=ExperimentConfig(k=2))
    number = 0
    for segment, sex, born, accounts in PLANTED:
        for _ in range(accounts):
            number += 1
            account = BerkaAccount.objects.create(
                account_id=number, district=district, frequency="POPLATEK MESICNE", opened_on=dt.date(1995, 1, 1)
            )
            client = BerkaClient.objects.create(client_id=number, district=district)
            BerkaClientProtectedAttributes.objects.create(client=client, sex=sex, birth_date=dt.date(born, 6, 1))
            BerkaDisposition.objects.create(disp_id=number, client=client, account=account, type="OWNER")
            SegmentAssignment.objects.create(
                run=run, account_reference=str(number), segment=segment, in_train=number % 2 == 0
            )
    return run
