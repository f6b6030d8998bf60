"""The Berka tables, taken over from clustering with their rows.

Lending's state adopts the existing tables under their old names (no database change), then they are
renamed to lending's names: a rename in place on Postgres and SQLite, whatever the number of rows.
"""

import django.db.models.deletion
from django.db import migrations, models

BERKA_MODELS = (
    "berkadistrict",
    "berkaaccount",
    "berkaclient",
    "berkaclientprotectedattributes",
    "berkadisposition",
    "berkacard",
    "berkaloan",
    "berkaorder",
    "berkatransaction",
)


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0003_partner_rate_limit"),
        ("clustering", "0003_berka_tables_to_lending"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BerkaDistrict",
                    fields=[
                        ("district_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("name", models.CharField(max_length=60)),
                        ("region", models.CharField(max_length=60)),
                        ("inhabitants", models.IntegerField()),
                        ("municipalities_under_500", models.IntegerField()),
                        ("municipalities_500_1999", models.IntegerField()),
                        ("municipalities_2000_9999", models.IntegerField()),
                        ("municipalities_over_10000", models.IntegerField()),
                        ("cities", models.IntegerField()),
                        ("urban_ratio", models.FloatField()),
                        ("average_salary", models.IntegerField()),
                        ("unemployment_1995", models.FloatField(blank=True, null=True)),
                        ("unemployment_1996", models.FloatField()),
                        ("entrepreneurs_per_1000", models.IntegerField()),
                        ("crimes_1995", models.IntegerField(blank=True, null=True)),
                        ("crimes_1996", models.IntegerField()),
                    ],
                    options={"db_table": "clustering_berkadistrict"},
                ),
                migrations.CreateModel(
                    name="BerkaAccount",
                    fields=[
                        ("account_id", models.IntegerField(primary_key=True, serialize=False)),
                        (
                            "frequency",
                            models.CharField(
                                help_text="Statement frequency (POPLATEK MESICNE = monthly).", max_length=30
                            ),
                        ),
                        ("opened_on", models.DateField()),
                        (
                            "district",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="accounts",
                                to="lending.berkadistrict",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkaaccount"},
                ),
                migrations.CreateModel(
                    name="BerkaClient",
                    fields=[
                        ("client_id", models.IntegerField(primary_key=True, serialize=False)),
                        (
                            "district",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="clients",
                                to="lending.berkadistrict",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkaclient"},
                ),
                migrations.CreateModel(
                    name="BerkaClientProtectedAttributes",
                    fields=[
                        (
                            "client",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="protected_attributes",
                                serialize=False,
                                to="lending.berkaclient",
                            ),
                        ),
                        ("sex", models.CharField(choices=[("female", "Female"), ("male", "Male")], max_length=6)),
                        ("birth_date", models.DateField()),
                    ],
                    options={"db_table": "clustering_berkaclientprotectedattributes"},
                ),
                migrations.CreateModel(
                    name="BerkaDisposition",
                    fields=[
                        ("disp_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("type", models.CharField(max_length=20)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="dispositions",
                                to="lending.berkaaccount",
                            ),
                        ),
                        (
                            "client",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="dispositions",
                                to="lending.berkaclient",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkadisposition"},
                ),
                migrations.CreateModel(
                    name="BerkaCard",
                    fields=[
                        ("card_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("type", models.CharField(max_length=20)),
                        ("issued_on", models.DateField()),
                        (
                            "disposition",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="cards",
                                to="lending.berkadisposition",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkacard"},
                ),
                migrations.CreateModel(
                    name="BerkaLoan",
                    fields=[
                        ("loan_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("granted_on", models.DateField()),
                        ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("duration_months", models.IntegerField()),
                        ("monthly_payment", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("status", models.CharField(max_length=1)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="loans",
                                to="lending.berkaaccount",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkaloan"},
                ),
                migrations.CreateModel(
                    name="BerkaOrder",
                    fields=[
                        ("order_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("bank_to", models.CharField(max_length=10)),
                        ("account_to", models.CharField(max_length=20)),
                        ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("k_symbol", models.CharField(blank=True, max_length=20)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="orders",
                                to="lending.berkaaccount",
                            ),
                        ),
                    ],
                    options={"db_table": "clustering_berkaorder"},
                ),
                migrations.CreateModel(
                    name="BerkaTransaction",
                    fields=[
                        ("trans_id", models.IntegerField(primary_key=True, serialize=False)),
                        ("booked_on", models.DateField()),
                        (
                            "type",
                            models.CharField(
                                choices=[("PRIJEM", "Credit"), ("VYDAJ", "Debit"), ("VYBER", "Withdrawal in cash")],
                                max_length=10,
                            ),
                        ),
                        ("operation", models.CharField(blank=True, max_length=30)),
                        ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("balance", models.DecimalField(decimal_places=2, max_digits=12)),
                        ("k_symbol", models.CharField(blank=True, max_length=20)),
                        ("bank", models.CharField(blank=True, max_length=10)),
                        ("partner_account", models.CharField(blank=True, max_length=20)),
                        (
                            "account",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="transactions",
                                to="lending.berkaaccount",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "clustering_berkatransaction",
                        "indexes": [
                            models.Index(fields=["account", "booked_on"], name="clustering__account_15e119_idx")
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(("amount__gte", 0)), name="berka_transaction_amount_unsigned"
                            )
                        ],
                    },
                ),
            ],
        ),
        *(migrations.AlterModelTable(name=name, table=None) for name in BERKA_MODELS),
        # The index was named after the old table; its new name is the one Django derives from the new table.
        migrations.RenameIndex(
            model_name="berkatransaction",
            new_name="lending_ber_account_dc3c12_idx",
            old_name="clustering__account_15e119_idx",
        ),
    ]
