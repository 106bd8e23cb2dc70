"""The snapshot inspector (dashboard row 1) and the context a what-if preview samples.

The inspector's form is a GET form over the dashboard's own URL parameters: the context fields
(``tool_id`` ... while auto-load is on, ``snap_tool_id`` ... while it is off, see
:mod:`dashboard.url_state`), ``n_samples`` and ``seed``. What the user typed is shown back as
typed, with each problem next to its field; the engine is only asked once the input is valid.
Reads go through ``profiles.selectors`` only.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from dashboard.panels.snapshots import CONTEXT_LABELS, ResolutionView, SnapshotView, resolution_view, snapshot_view
from dashboard.url_state import (
    INSPECTOR_ANCHOR,
    N_SAMPLES_DEFAULT,
    N_SAMPLES_MAX,
    N_SAMPLES_MIN,
    SEED_DEFAULT,
    SEED_MAX,
    DashboardState,
    Problem,
)
from engine.context import CONTEXT_FIELDS, REQUIRED_CONTEXT_FIELDS, WORKFLOW_MODES, Context
from profiles import selectors as profile_selectors
from rmos_site.errors import ApplicationError, ValidationFailed
from rmos_site.numbers import whole_number

EXAMPLES = 3  # sample candidates drawn as rosettes
_DATALISTS = {"tool_id": "catalog-tools", "material_id": "catalog-materials", "machine_id": "catalog-machines"}
_PLACEHOLDERS = {
    "tool_id": "e.g. saw:slitting-0.5",
    "material_id": "e.g. wood:maple-hard",
    "machine_id": "e.g. prod:vmc-3axis",
}


def _id_field(field: str) -> forms.CharField:
    attrs = {
        "autocomplete": "off",
        "spellcheck": "false",
        "placeholder": _PLACEHOLDERS.get(field, "optional, e.g. shapely"),
    }
    if field in _DATALISTS:
        attrs["list"] = _DATALISTS[field]
    return forms.CharField(label=CONTEXT_LABELS[field], required=False, widget=forms.TextInput(attrs=attrs))


def _whole(label: str, help_text: str) -> forms.CharField:
    # Text, not IntegerField: one message that states the range, whatever was typed.
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class InspectorForm(forms.Form):
    tool_id = _id_field("tool_id")
    material_id = _id_field("material_id")
    machine_id = _id_field("machine_id")
    # Blank is the default mode, and stays blank in the selection (where blank means "any").
    workflow_mode = forms.ChoiceField(
        label=CONTEXT_LABELS["workflow_mode"],
        required=False,
        choices=[("", "default")] + [(m, m) for m in WORKFLOW_MODES],
        help_text=f"default: {WORKFLOW_MODES[0]}",
        error_messages={"invalid_choice": f"Choose one of {', '.join(WORKFLOW_MODES)}, not “%(value)s”."},
    )
    geometry_engine = _id_field("geometry_engine")
    n_samples = _whole("Samples", f"{N_SAMPLES_MIN}–{N_SAMPLES_MAX:,}")
    seed = _whole("Seed", "same seed, same sample")

    def __init__(self, query: Mapping[str, Any], *, state: DashboardState):
        self.state = state
        self.context: Context | None = None
        defaults = {"n_samples": str(N_SAMPLES_DEFAULT), "seed": str(SEED_DEFAULT)}
        data = {}
        for name in self.base_fields:
            key = self.add_prefix(name)
            raw = query.get(key)
            data[key] = raw.strip() if isinstance(raw, str) and raw.strip() else defaults.get(name, "")
        super().__init__(data, auto_id="inspector-%s")

    def add_prefix(self, field_name: str) -> str:
        """Context fields carry the ``snap_`` prefix while auto-load is off (the inspector's own)."""
        return self.state.inspector_prefix + field_name if field_name in CONTEXT_FIELDS else field_name

    @property
    def own_parameters(self) -> str:
        """The parameters this form sets, comma-separated: the hidden inputs carry the rest."""
        return ",".join(self.add_prefix(name) for name in self.base_fields)

    def _clean_whole(self, name: str, low: int, high: int) -> int:
        raw = self.cleaned_data[name]
        value = whole_number(raw)
        if value is None or not low <= value <= high:
            raise forms.ValidationError(f"Must be a whole number from {low:,} to {high:,}, got {raw[:40]!r}")
        return value

    def clean_n_samples(self) -> int:
        return self._clean_whole("n_samples", N_SAMPLES_MIN, N_SAMPLES_MAX)

    def clean_seed(self) -> int:
        return self._clean_whole("seed", 0, SEED_MAX)

    def clean(self):
        values = {f: self.cleaned_data.get(f, "") for f in CONTEXT_FIELDS}
        if not any(values[f] for f in REQUIRED_CONTEXT_FIELDS):
            return self.cleaned_data  # nothing chosen yet: an empty state, not an error
        try:
            self.context = profile_selectors.context_parse(values)
        except ValidationFailed as exc:
            for error in exc.errors:
                field = error.field if error.field in self.fields else None
                if field is not None and field in self.errors:
                    continue
                if error.rule == "required":
                    message = f"Choose a {CONTEXT_LABELS[error.field].lower()} from the list, or type its id."
                else:
                    message = error.message[:1].upper() + error.message[1:]
                self.add_error(field, message)
        return self.cleaned_data


@dataclass(frozen=True)
class InspectorPanel:
    form: InspectorForm
    context: Context | None  # what was sampled
    result: dict[str, Any] | None  # snapshot_sample's answer
    snapshot: SnapshotView | None
    resolution: ResolutionView | None
    error: str  # the engine or the rules could not answer (e.g. a palette left the catalog)
    catalog: dict[str, Any]
    new_seed_url: str  # the same view with another seed
    load_selection_url: str  # auto-load off and the selection is elsewhere: load it here ("" otherwise)

    @property
    def status(self) -> int:
        """400 when the parameters are bad. An engine error (say, a palette the catalog lost) is
        not the request's fault: the page is fine and says what went wrong in the panel."""
        return 400 if self.form.errors else 200


def inspector_panel(state: DashboardState, form: InspectorForm) -> InspectorPanel:
    """When the inspector's parameters are valid and name a context, sample it."""
    catalog = profile_selectors.catalog_get().to_dict()
    result = snapshot = resolution = None
    error = ""
    if form.is_valid() and form.context is not None:
        try:
            result = profile_selectors.snapshot_sample(
                context=form.context,
                n_samples=form.cleaned_data["n_samples"],
                seed=form.cleaned_data["seed"],
                examples=EXAMPLES,
            )
        except ApplicationError as exc:
            error = exc.detail if not exc.errors else "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            resolution = _resolution_alone(form.context)
        else:
            snapshot = snapshot_view(result["snapshot"], chart_width=300, candidates=EXAMPLES)
            resolution = resolution_view(result)
    new_seed_url = state.with_sampling(seed=_fresh_seed(state.seed)).url(fragment=INSPECTOR_ANCHOR)
    load_selection_url = ""
    if not state.autoload and not state.selection.is_empty and state.selection != state.pinned:
        load_selection_url = state.inspect(**state.selection.as_dict()).url(fragment=INSPECTOR_ANCHOR)
    return InspectorPanel(
        form, form.context, result, snapshot, resolution, error, catalog, new_seed_url, load_selection_url
    )


def _resolution_alone(context: Context) -> ResolutionView | None:
    """When sampling failed, which profile the context resolves to may still explain why."""
    try:
        return resolution_view(profile_selectors.context_resolve(context=context).summary())
    except ApplicationError:
        return None


def _fresh_seed(current: int) -> int:
    # Short seeds keep URLs readable; any whole number from 0 to 2**63 - 1 is accepted.
    seed = current
    while seed == current:
        seed = random.randrange(1, 1_000_000)
    return seed


def inspector_keys(state: DashboardState) -> set[str]:
    """URL parameters whose problems the inspector's form shows next to its fields."""
    return {state.inspector_prefix + f for f in CONTEXT_FIELDS} | {"n_samples", "seed"}


def split_problems(problems: list[Problem], state: DashboardState) -> list[Problem]:
    """The URL problems for the page's notice: those the inspector shows itself are left out."""
    own = inspector_keys(state)
    return [p for p in problems if p.key not in own]


# ---------------------------------------------------------------------------------------------
# What-if: which context the preview samples


@dataclass(frozen=True)
class PreviewContext:
    context: Context
    source: str  # inspector | profile (a context the rules send to the profile) | catalog (neither)
    rule_name: str  # source "profile": the rule that sends it there ("" for the fallback)
    n_samples: int
    seed: int

    @property
    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.context.as_dict().items() if v]


def preview_context(
    *, profile_name: str, inspector: Context | None = None, n_samples: int = N_SAMPLES_DEFAULT, seed: int = SEED_DEFAULT
) -> PreviewContext:
    """The inspector's context when there is one, else a context that resolves to the profile."""
    if inspector is not None:
        return PreviewContext(inspector, "inspector", "", n_samples, seed)
    chosen = profile_selectors.profile_sample_context(name=profile_name)
    return PreviewContext(
        chosen.context, "profile" if chosen.resolves_here else "catalog", chosen.rule_name, n_samples, seed
    )
