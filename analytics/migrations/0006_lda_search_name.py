"""A search for less discriminatory alternatives is an `LdaSearch`: "alternative" alone means alternative data."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0005_fairness_reports_on_workers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="AlternativeSearch", new_name="LdaSearch"),
        migrations.AlterField(
            model_name="ldasearch",
            name="base_version",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="lda_searches", to="analytics.modelversion"
            ),
        ),
    ]
