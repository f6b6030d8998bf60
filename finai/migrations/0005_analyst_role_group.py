"""The analyst role as a group: runs clustering experiments and chooses the segmentation in use."""

from django.db import migrations

NAME = "analyst"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=NAME)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("finai", "0004_audit_chain_seal")]
    operations = [migrations.RunPython(create_group, delete_group)]
