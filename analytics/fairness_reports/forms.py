"""Forms of the fair-lending report pages and of the search for less discriminatory alternatives."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from analytics.engine.dataset_schema import DatasetSchema
from analytics.engine.lda_plans import DEFAULT_TOLERANCE
from analytics.models import ModelVersion
from analytics.services.dataset_schemas import MAX_SCHEMA_BYTES, dataset_schema_parse, dataset_schemas_known
from analytics.services.lda_searches import MAX_TOLERANCE
from finai.errors import ApplicationError
from finai.forms import ServiceErrorsMixin
from finai.uploads import CSV_UPLOAD, YAML_UPLOAD


def _decisions_schema_choices() -> list[tuple[str, str]]:
    return [
        (schema.name, schema.description or schema.name)
        for schema in dataset_schemas_known()
        if schema.kind == "decisions"
    ]


def _control_choices() -> list[tuple[str, str]]:
    """Every feature of the decisions schemas; the service checks them against the chosen schema."""
    return [
        (column.name, f"{column.name.replace('_', ' ')} ({schema.name})")
        for schema in dataset_schemas_known()
        if schema.kind == "decisions"
        for column in schema.features
    ]


class DecisionsUploadForm(ServiceErrorsMixin, forms.Form):
    """Bring your own decisions: a CSV, the schema that reads it, and the declared legitimate credit factors."""

    file = forms.FileField(label="Decisions file (CSV)", validators=[CSV_UPLOAD])
    schema = forms.ChoiceField(
        label="Dataset schema",
        required=False,
        help_text="Which columns hold the decision, the protected attributes and the credit factors.",
    )
    schema_file = forms.FileField(
        label="Or upload its schema (YAML)",
        required=False,
        help_text="A schema written as data/README.md describes; kept with the report.",
        validators=[YAML_UPLOAD],
    )
    controls = forms.MultipleChoiceField(
        label="Legitimate credit factors to control for",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="With any, each protected attribute also gets its regression-adjusted disparity.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schema"].choices = [("", "Upload a schema instead"), *_decisions_schema_choices()]
        self.fields["controls"].choices = _control_choices()

    def clean_file(self) -> UploadedFile:
        """Bounded, so one upload cannot hold a web worker or fill the disk; the audit itself runs on the workers."""
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.FAIRNESS_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is larger than {limit / (1024 * 1024):g} MB ({upload.size / (1024 * 1024):.1f} MB): "
                "split it, or ask an administrator to raise FAIRNESS_UPLOAD_MAX_BYTES."
            )
        return upload

    def clean_schema_file(self) -> DatasetSchema | None:
        upload: UploadedFile | None = self.cleaned_data.get("schema_file")
        if upload is None:
            return None
        if upload.size > MAX_SCHEMA_BYTES:
            raise forms.ValidationError(f"The schema is larger than {MAX_SCHEMA_BYTES // 1024} KiB.")
        try:
            return dataset_schema_parse(text=upload.read().decode("utf-8-sig"), origin="the uploaded file")
        except UnicodeDecodeError:
            raise forms.ValidationError("The schema is not UTF-8 text.") from None
        except ApplicationError as error:
            raise forms.ValidationError(list(map(str, error.details.values()))) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "schema_file" in cleaned and bool(cleaned.get("schema_file")) == bool(cleaned.get("schema")):
            self.add_error("schema", "Choose a dataset schema or upload one (one of the two).")
        return cleaned


class VersionReportForm(forms.Form):
    """A trained version to report on; it starts on the version deciding the default product (else any champion,
    else the newest), and offers no empty choice since one is required."""

    version = forms.ModelChoiceField(label="Model version", queryset=ModelVersion.objects.none(), empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        trained = ModelVersion.objects.exclude(
            status__in=(ModelVersion.Status.TRAINING, ModelVersion.Status.FAILED)
        ).order_by("-created_at", "-pk")
        self.fields["version"].queryset = trained
        self.fields["version"].label_from_instance = lambda v: (
            f"v{v.pk} · {v.product} · {v.family} · {v.get_status_display()}"
        )
        champions = trained.filter(status=ModelVersion.Status.CHAMPION)
        default = champions.filter(product=settings.DEFAULT_PRODUCT).first() or champions.first() or trained.first()
        if default is not None:
            self.initial.setdefault("version", default.pk)


class LdaSearchForm(forms.Form):
    tolerance = forms.FloatField(
        label="AUC tolerance",
        initial=DEFAULT_TOLERANCE,
        min_value=0,
        max_value=MAX_TOLERANCE,
        help_text="Flag alternatives whose lowest adverse impact ratio is higher and whose AUC is at most this "
        "much lower than the base's.",
    )
