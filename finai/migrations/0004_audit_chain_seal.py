"""Seal the audit chain's head with AUDIT_CHAIN_KEY; a chain that already exists is sealed as it stands."""

from django.db import migrations, models


def seal_existing_head(apps, schema_editor):
    from finai.services import audit_chain_seal

    head = apps.get_model("finai", "AuditChainHead").objects.filter(id=1).first()
    if head is not None:
        head.seal = audit_chain_seal(sequence=head.sequence, chain_hash=head.hash)
        head.save(update_fields=["seal"])


class Migration(migrations.Migration):
    dependencies = [("finai", "0003_role_groups")]
    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="seal",
            field=models.CharField(
                blank=True,
                default="",
                help_text="HMAC-SHA256 of sequence and hash under AUDIT_CHAIN_KEY.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(seal_existing_head, migrations.RunPython.noop),
    ]
