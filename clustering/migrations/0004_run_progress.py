"""A run's progress in percent of its training epochs, for the progress bar of experiments started from the web;
runs finished before it existed are complete."""

from django.db import migrations, models


def finished_runs_complete(apps, schema_editor):
    apps.get_model("clustering", "ClusteringRun").objects.filter(status="finished").update(progress=100)


class Migration(migrations.Migration):
    dependencies = [("clustering", "0003_berka_tables_to_lending")]

    operations = [
        migrations.AddField(
            model_name="clusteringrun",
            name="progress",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Percent of the training epochs done; 100 when finished. For the progress bar."
            ),
        ),
        migrations.AddConstraint(
            model_name="clusteringrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("progress__lte", 100)), name="clustering_run_progress_percent"
            ),
        ),
        migrations.RunPython(finished_runs_complete, migrations.RunPython.noop),
    ]
