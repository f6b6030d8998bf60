"""The Berka tables belong to lending now: they leave clustering's state only, their tables and rows
stay, and lending's 0004 takes them over."""

from django.db import migrations

# Referring tables first, so no model left in the state points at one already gone.
BERKA_MODELS = (
    "BerkaTransaction",
    "BerkaOrder",
    "BerkaLoan",
    "BerkaCard",
    "BerkaDisposition",
    "BerkaClientProtectedAttributes",
    "BerkaClient",
    "BerkaAccount",
    "BerkaDistrict",
)


class Migration(migrations.Migration):
    dependencies = [
        ("clustering", "0002_segments_and_protected_birth_data"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name=name) for name in BERKA_MODELS],
        ),
    ]
