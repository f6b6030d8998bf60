"""The experiment form: what `cluster_grid` offers on the command line, validated at the edge with defaults that
finish in minutes on the shipped Berka accounts."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from clustering.experiments import (
    DISTANCES,
    ENCODERS,
    HEADS,
    PRETEXTS,
    REDUCTIONS,
    ExperimentConfig,
    config_grid,
)
from clustering.models import ClusteringExperiment
from finai.errors import ApplicationError
from finai.forms import ServiceErrorsMixin

# The reference grid (4 encoders x 3 pretexts x 5 heads x 3 k x 5 seeds) is 900 runs: a form that asks for
# more is a typo in k or seeds, not a plan.
MAX_RUNS = 900
MAX_K = 20
MAX_SEEDS = 10
MAX_EPOCHS = 500

ENCODER_LABELS = {
    "fc": "Fully connected",
    "resnet": "ResNet (1-D convolutions)",
    "lstm": "LSTM",
    "dtc": "DTC encoder (convolution + BiLSTM)",
}
PRETEXT_LABELS = {"mse": "Reconstruction (MSE)", "multi_rec": "Multi-task reconstruction", "vae": "Variational (VAE)"}
HEAD_LABELS = {"kmeans": "k-means on the latents", "dtc": "Deep Temporal Clustering layer"}
DISTANCE_LABELS = {"euclidean": "Euclidean", "cid": "Complexity-invariant (CID)"}
REDUCTION_LABELS = {"none": "None", "pca": "PCA", "umap": "UMAP (for analysis: cannot be chosen)"}
SERVICE_FIELDS = {
    "encoder": "encoders",
    "pretext": "pretexts",
    "head": "heads",
    "distance": "distances",
    "reduction": "reductions",
    "k": "ks",
    "seed": "seeds",
}
NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


def _choices(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(value, labels.get(value, value)) for value in values]


def _whole_numbers(text: str, *, minimum: int, maximum: int, most: int) -> list[int]:
    """ "2 4, 6" -> [2, 4, 6]: distinct whole numbers in a range, at most `most` of them."""
    tokens = [token for token in NUMBER_SEPARATORS.split(text.strip()) if token]
    if not tokens:
        raise forms.ValidationError("Enter at least one whole number.")
    wrong = [token for token in tokens if not token.isdigit()]
    if wrong:
        raise forms.ValidationError(f"Not a whole number: {', '.join(wrong[:3])}.")
    numbers = sorted({int(token) for token in tokens})
    outside = [number for number in numbers if not minimum <= number <= maximum]
    if outside:
        raise forms.ValidationError(f"Each must be from {minimum} to {maximum}; got {outside[0]}.")
    if len(numbers) > most:
        raise forms.ValidationError(f"At most {most} values.")
    return numbers


class ExperimentForm(ServiceErrorsMixin, forms.Form):
    """A grid of clustering configurations: every combination of the choices, one run each."""

    name = forms.CharField(label="Name", max_length=200, help_text="To find the experiment again, e.g. “fc k=2..6”.")
    dataset = forms.ChoiceField(label="Data set")
    series = forms.ChoiceField(
        label="Series", choices=ClusteringExperiment.Series.choices, initial=ClusteringExperiment.Series.AMOUNTS
    )
    series_length = forms.IntegerField(
        label="Series length",
        required=False,
        min_value=2,
        max_value=10_000,
        help_text="Amount series: keep each account's last N transactions. Empty: the longest account's length.",
    )
    encoders = forms.MultipleChoiceField(
        label="Encoders",
        choices=_choices(ENCODERS, ENCODER_LABELS),
        initial=["fc"],
        widget=forms.CheckboxSelectMultiple,
    )
    pretexts = forms.MultipleChoiceField(
        label="Pretext losses",
        choices=_choices(PRETEXTS, PRETEXT_LABELS),
        initial=["mse"],
        widget=forms.CheckboxSelectMultiple,
    )
    heads = forms.MultipleChoiceField(
        label="Clustering heads",
        choices=_choices(HEADS, HEAD_LABELS),
        initial=["kmeans"],
        widget=forms.CheckboxSelectMultiple,
    )
    reductions = forms.MultipleChoiceField(
        label="Reductions (k-means head)",
        required=False,
        help_text="None when left empty.",
        choices=_choices(REDUCTIONS, REDUCTION_LABELS),
        initial=["none"],
        widget=forms.CheckboxSelectMultiple,
    )
    distances = forms.MultipleChoiceField(
        label="Distances (DTC head)",
        required=False,
        help_text="Euclidean when left empty.",
        choices=_choices(DISTANCES, DISTANCE_LABELS),
        initial=["euclidean"],
        widget=forms.CheckboxSelectMultiple,
    )
    ks = forms.CharField(
        label="Numbers of segments (k)",
        initial="2 4",
        max_length=100,
        help_text=f"Whole numbers from 2 to {MAX_K}, separated by spaces or commas.",
    )
    seeds = forms.CharField(
        label="Seeds",
        initial="0",
        max_length=100,
        help_text=f"Up to {MAX_SEEDS}; each seed repeats every configuration with another split and initialisation.",
    )
    epochs = forms.IntegerField(
        label="Training epochs",
        min_value=0,
        max_value=MAX_EPOCHS,
        initial=ExperimentConfig.epochs,
        help_text="Passes of the autoencoder over the training half.",
    )
    cluster_epochs = forms.IntegerField(
        label="Clustering epochs (DTC head)",
        min_value=0,
        max_value=MAX_EPOCHS,
        initial=ExperimentConfig.cluster_epochs,
    )
    latent_dim = forms.IntegerField(
        label="Latent dimensions", min_value=1, max_value=256, initial=ExperimentConfig.latent_dim
    )

    GRID_FIELDS = ("encoders", "pretexts", "heads", "reductions", "distances")  # shown as groups of boxes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        datasets = list(settings.CLUSTERING_DATASETS)
        self.fields["dataset"].choices = [(name, name) for name in datasets]
        self.fields["dataset"].initial = datasets[0] if datasets else None
        self.configs: list[ExperimentConfig] = []

    def clean_ks(self) -> list[int]:
        return _whole_numbers(self.cleaned_data["ks"], minimum=2, maximum=MAX_K, most=MAX_K)

    def clean_seeds(self) -> list[int]:
        return _whole_numbers(self.cleaned_data["seeds"], minimum=0, maximum=2**31 - 1, most=MAX_SEEDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("series_length") is not None and data.get("series") != ClusteringExperiment.Series.AMOUNTS:
            self.add_error("series_length", "applies to amount series only; leave it empty")
        needed = ("encoders", "pretexts", "heads", "ks", "seeds", "epochs", "cluster_epochs", "latent_dim")
        if any(data.get(name) in (None, "", []) for name in needed):
            return data  # the fields' own errors say what is missing
        try:
            self.configs = config_grid(
                encoders=data["encoders"],
                pretexts=data["pretexts"],
                heads=data["heads"],
                distances=(data.get("distances") or ["euclidean"]) if "dtc" in data["heads"] else ["euclidean"],
                reductions=(data.get("reductions") or ["none"]) if "kmeans" in data["heads"] else ["none"],
                ks=data["ks"],
                seeds=data["seeds"],
                epochs=data["epochs"],
                cluster_epochs=data["cluster_epochs"],
                latent_dim=data["latent_dim"],
            )
        except ApplicationError as error:
            self.add_service_errors(error)
            return data
        if len(self.configs) > MAX_RUNS:
            self.add_error(
                None, f"This grid makes {len(self.configs):,} runs; at most {MAX_RUNS} may be started at once."
            )
        return data

    def service_error_field(self, name: str) -> str:
        """A configuration's field names the grid field it came from (encoder -> encoders)."""
        return SERVICE_FIELDS.get(name, name)
