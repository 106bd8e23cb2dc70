"""Forms of the profile pages: the editor and the rollback confirmation.

The forms only turn what a browser sends into values; every rule is the service's. ``save()``
calls the service and puts each ``FieldError`` next to the field it names, so a page says
exactly what the API would say. Numbers stay text until the service parses them, so "3.5" and
"3.50" and an out-of-range value get the same message as over the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.urls import reverse
from django.utils.html import format_html

from engine.context import Context
from engine.profile import CONSTRAINT_FIELDS
from profiles import selectors, services
from profiles.presentation import (
    FIELD_GROUPS,
    FIELD_SPECS,
    MM_STEP,
    FieldSpec,
    HistoryRow,
    display_value,
    field_label,
    history_rows,
    same_value,
)
from rmos_site.errors import ApplicationError, Conflict, ValidationFailed

if TYPE_CHECKING:  # the model instances profiles.selectors returns
    from profiles.models import ConstraintProfile

NOTE_HELP = "Required. Say why: the note is kept with the new version in the history."
# The service checks the note before anything else; when the note is missing we still want every
# field's problems at once, so we validate with a stand-in note in a dry run.
STAND_IN_NOTE = "(validation only)"


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _message(text: str) -> str:
    """Service messages are fragments ("must be ..."): shown on their own, they start upper-case."""
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


#: A constraint field's name inside a service message ("must be at least min_rings (5)").
_FIELD_NAME = re.compile(r"\b(" + "|".join(sorted(CONSTRAINT_FIELDS, key=len, reverse=True)) + r")\b")


def _in_words(text: str) -> str:
    """A service message for the page: the fields it names by their labels, as the form shows
    them ("must be at least fewest rings (5)"); the API keeps the names its clients send."""
    return _FIELD_NAME.sub(lambda match: field_label(match.group(1)).lower(), text)


def _constraint_field(spec: FieldSpec, palette_choices: list[tuple[str, str]]) -> forms.Field:
    if spec.kind == "text":
        return forms.CharField(
            label=spec.label,
            required=False,
            strip=False,
            help_text=spec.limits,
            widget=forms.Textarea(attrs={"rows": 2}),
        )
    if spec.kind == "bool":
        return forms.BooleanField(label=spec.label, required=False, help_text=spec.help)
    if spec.kind == "palette":
        return forms.ChoiceField(label=spec.label, required=False, choices=palette_choices, help_text=spec.help)
    attrs: dict[str, Any] = {"min": spec.low, "max": spec.high}
    if spec.kind == "int":
        attrs.update(step=1, inputmode="numeric")
    else:
        attrs.update(step="0.01", inputmode="decimal")
    return forms.CharField(
        label=spec.label,
        help_text=spec.limits,
        widget=forms.NumberInput(attrs=attrs),
        error_messages={"required": f"Enter a value ({spec.limits})."},
    )


@dataclass(frozen=True)
class StaleEdit:
    """Someone saved a newer version while this form was being filled in."""

    edited_version: int | None
    current_version: int
    current: dict[str, Any]  # the newer saved values (JSON-ready, as the 409 body has them)
    latest: HistoryRow | None  # the newest journal entry: who, when, why
    adopted: frozenset[str]  # fields the user had not changed, now showing the newer value
    both_changed: frozenset[str]  # fields changed on both sides to different values


@dataclass(frozen=True)
class FieldRow:
    field: forms.BoundField
    spec: FieldSpec
    saved_value: str  # the newer saved value, on a stale edit
    stale_state: str  # on a stale edit: same | adopted | both_changed | yours


def _form_value(field: str, value: Any) -> Any:
    """A saved (JSON-ready) value as the editor's inputs hold it; None for an unticked box."""
    kind = FIELD_SPECS[field].kind
    if kind == "bool":
        return "on" if value else None
    if kind == "mm":
        return str(Decimal(str(value)).quantize(MM_STEP))
    return "" if value is None else str(value)


class ProfileForm(forms.Form):
    note = forms.CharField(
        label="Change note",
        help_text=NOTE_HELP,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write a change note: say why you make this change."},
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": "This form lost the version you were editing; reload the page and make your change again.",
            "invalid": "This form lost the version you were editing; reload the page and make your change again.",
        },
    )

    def __init__(
        self,
        data=None,
        *,
        profile: ConstraintProfile,
        palette_keys: set[str],
        values: dict[str, Any] | None = None,
        propose: bool = False,
    ):
        self.profile = profile
        self.stale: StaleEdit | None = None
        self.previewing = False  # problems found by a what-if preview, not by a save
        self.protected_refusal = False  # a save refused because the profile is protected (409)
        # A protected profile's editor proposes a change request instead of saving (DESIGN §10).
        self.propose = propose
        initial = {**selectors.profile_values(profile), **(values or {}), "version": profile.version}
        super().__init__(data, initial=initial)
        choices = [("", "Any catalog material")] + [(k, k) for k in sorted(palette_keys)]
        if profile.palette_key and profile.palette_key not in palette_keys:
            choices.append((profile.palette_key, f"{profile.palette_key} (no longer in the catalog)"))
        constraint_fields = {name: _constraint_field(FIELD_SPECS[name], choices) for name in CONSTRAINT_FIELDS}
        # Constraint fields first, in canonical order; the note and the version last.
        self.fields = {**constraint_fields, "note": self.fields["note"], "version": self.fields["version"]}

    def clean_description(self) -> str:
        # Browsers send a textarea's line breaks as CRLF; stored text uses LF. Without this every
        # save would "change" a multi-line description.
        return self.cleaned_data["description"].replace("\r\n", "\n").replace("\r", "\n")

    # -- saving -----------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """The constraint values that could be read; fields with a form error are left out (the
        service then keeps their saved values and checks the rest)."""
        data = getattr(self, "cleaned_data", {})
        return {f: data[f] for f in CONSTRAINT_FIELDS if f in data and f not in self.errors}

    def save(self, *, user) -> services.ProfileChange | None:
        """Save through the service; on any problem return None with the problems on the form."""
        self.is_valid()
        note = self.cleaned_data.get("note", "")
        version = self.cleaned_data.get("version")
        problems_already = bool(self.errors)
        try:
            change = services.profile_update(
                name=self.profile.name,
                changes=self.changes(),
                note=STAND_IN_NOTE if problems_already else note,
                version=version,
                user=user,
                dry_run=problems_already,
            )
        except Conflict as exc:
            if exc.extra.get("protected"):
                self.refuse_protected()
            else:
                self._mark_stale(exc)
            return None
        except ValidationFailed as exc:
            self.attach(exc)
            return None
        return None if problems_already else change

    def refuse_protected(self) -> None:
        self.protected_refusal = True
        self.add_error(
            None,
            format_html(
                '{} is protected: its values change only through an approved change request. <a href="{}">Propose '
                "this change as a request</a> instead.",
                self.profile.name,
                reverse("change-request-new") + f"?profile={self.profile.name}",
            ),
        )

    def what_if(self, *, context: Context, n_samples: int, seed: int) -> dict[str, Any] | None:
        """Sample ``context`` under this form's values and under the saved profile, side by side
        (``profiles.selectors.snapshot_preview``). Nothing is saved and no note is needed. On a
        problem return None with the problems on the form, worded as a save would word them."""
        self.previewing = True
        self.is_valid()
        self.errors.pop("note", None)
        try:
            preview = selectors.snapshot_preview(
                context=context, changes=self.changes(), n_samples=n_samples, seed=seed, profile_name=self.profile.name
            )
        except ApplicationError as exc:
            self.attach(exc)
            return None
        return None if self.errors else preview

    def attach(self, exc: ApplicationError) -> None:
        """Put a service error's items next to their fields (unknown fields: at the top).
        A preview names the fields as ``changes.<field>``."""
        for error in exc.errors:
            name = error.field.removeprefix("changes.") if error.field else error.field
            field = name if name in self.fields else None
            if field is not None and field in self.errors:
                continue  # the form already says what is wrong with it
            message = _in_words(error.message)
            self.add_error(field, _message(message) if field or not name else f"{name}: {message}")
        if not exc.errors:
            self.add_error(None, exc.detail)

    def _mark_stale(self, exc: Conflict) -> None:
        """Keep the user's changes, take the newer version's value for every field the user had
        not changed (a three-way merge against the version they edited), and point the next save
        at the newer version, so that saving again is deliberate and reverts nobody's work."""
        current_version = exc.extra.get("current_version")
        current = exc.extra.get("current", {})
        edited_version = self.cleaned_data.get("version")
        base = (
            selectors.profile_values_at_version(profile=self.profile, version=edited_version)
            if edited_version
            else None
        )
        data = self.data.copy()
        adopted, both_changed = set(), set()
        for name in CONSTRAINT_FIELDS:
            if name not in current:
                continue
            mine, theirs = self._typed(name), current[name]
            if same_value(name, mine, theirs):
                continue
            if base is not None and same_value(name, mine, base[name]):
                adopted.add(name)
                value = _form_value(name, theirs)
                if value is None:
                    data.pop(name, None)
                else:
                    data[name] = value
            elif base is None or not same_value(name, theirs, base[name]):
                both_changed.add(name)
        data["version"] = str(current_version)
        self.data = data
        history = selectors.profile_history(name=self.profile.name, limit=1)
        self.stale = StaleEdit(
            edited_version=edited_version,
            current_version=current_version,
            current=current,
            latest=history_rows(history, current_version=current_version)[0] if history else None,
            adopted=frozenset(adopted),
            both_changed=frozenset(both_changed),
        )

    def _typed(self, name: str) -> Any:
        value = self[name].value()
        return bool(value) if FIELD_SPECS[name].kind == "bool" else value

    # -- rendering --------------------------------------------------------------------------

    def fieldsets(self) -> list[tuple[str, list[FieldRow]]]:
        groups = []
        for legend, names in FIELD_GROUPS:
            rows = []
            for name in names:
                saved, state = "", ""
                if self.stale is not None and name in self.stale.current:
                    saved = display_value(name, self.stale.current[name])
                    if name in self.stale.adopted:
                        state = "adopted"
                    elif name in self.stale.both_changed:
                        state = "both_changed"
                    elif same_value(name, self._typed(name), self.stale.current[name]):
                        state = "same"
                    else:
                        state = "yours"
                rows.append(FieldRow(self[name], FIELD_SPECS[name], saved, state))
            groups.append((legend, rows))
        return groups

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, label, message) for the summary at the top of the form."""
        items = []
        # In the order of the form, whichever check (the form's or the service's) found them.
        order = list(self.fields)
        for name, errors in sorted(self.errors.items(), key=lambda item: _position(order, item[0])):
            if name == "__all__":
                continue
            anchor = self[name].id_for_label if name != "version" else ""
            for message in errors:
                items.append((anchor, field_label(name) if name != "note" else "Change note", message))
        return items


class ReviewForm(forms.Form):
    # The revision on the page the reviewer read: a revision made since refuses the review (409).
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label="Your review",
        choices=[
            ("approve", "Approve"),
            ("request_changes", "Request changes"),
            ("comment", "Comment only"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose your review: approve, request changes or comment only."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you request changes or comment; kept with your review.",
    )

    def attach(self, exc: ApplicationError) -> None:
        for error in exc.errors:
            field = error.field if error.field in self.fields else None
            self.add_error(field, _message(error.message))
        if not exc.errors:
            self.add_error(None, exc.detail)


class RollbackForm(forms.Form):
    note = forms.CharField(
        label="Why roll back?",
        help_text="Required. Kept in the history as the reason for the new version.",
        max_length=services.NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write a note: say why you roll back."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    next = forms.CharField(widget=forms.HiddenInput, required=False)

    def attach(self, exc: ApplicationError) -> None:
        for error in exc.errors:
            field = error.field if error.field in ("note",) else None
            self.add_error(field, _message(error.message))
        if not exc.errors:
            self.add_error(None, exc.detail)


def change_message(change: services.ProfileChange, *, previous_version: int) -> str:
    """What to tell the user after a save or a rollback."""
    if not change.changed:
        return (
            f"Nothing changed: the values already match version {previous_version} of "
            f"{change.profile.name}, so no new version was saved."
        )
    parts = [
        f"{field_label(c['field']).lower()} {display_value(c['field'], c['before'])} → {display_value(c['field'], c['after'])}"
        for c in change.changes[:3]
    ]
    more = f" and {len(change.changes) - 3} more" if len(change.changes) > 3 else ""
    return f"Saved {change.profile.name} as version {change.profile.version}: {'; '.join(parts)}{more}."
