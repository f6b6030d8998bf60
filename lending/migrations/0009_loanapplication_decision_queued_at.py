from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0008_loan_status_and_end"),
    ]

    operations = [
        migrations.AddField(
            model_name="loanapplication",
            name="decision_queued_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
