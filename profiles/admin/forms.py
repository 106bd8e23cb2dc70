"""What the admin's profile and rule forms share: the change note, refusals, and showing a service's
errors on the form; and the profile form itself."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from engine.profile import CONSTRAINT_FIELDS
from profiles import selectors, services
from profiles.journal import GOVERNANCE_FIELDS
from profiles.models import ConstraintProfile
from profiles.presentation import display_value
from rmos_site.errors import ApplicationError, Conflict
from rmos_site.roles import permission_refusal

NOTE_HELP = "Why you make this change. Required; it becomes the reason in the history."
FALLBACK_NOT_DELETED = (
    f"The {services.FALLBACK_PROFILE!r} profile is never deleted: it is the resolver's fallback, the profile of every "
    "context that no rule matches. To change what it allows, edit it, or roll it back to an earlier version from its history."
)


def refused(model_admin: admin.ModelAdmin, action: str) -> PermissionDenied:
    """Django's own refusal is a bare 403, which left the page to guess why (it guessed a role).
    ``action`` is "add" or "delete"."""
    perm = f"{model_admin.opts.app_label}.{get_permission_codename(action, model_admin.opts)}"
    doing = {"add": "Adding", "delete": "Deleting"}[action]
    return PermissionDenied(permission_refusal(action=f"{doing} {model_admin.opts.verbose_name_plural}", perm=perm))


def revert_record_id(request) -> int | None:
    """The history record id when this request is simple-history's revert page."""
    match = request.resolver_match
    if match and match.url_name and match.url_name.endswith("_simple_history") and len(match.args) >= 2:
        try:
            return int(match.args[1])
        except ValueError:
            return None
    return None


def read_only_on_revert(form: forms.ModelForm) -> None:
    """A revert restores the record's values: show them, but take only the note (edits made on
    the revert page were silently dropped for profiles, and journaled as a rollback for rules)."""
    if form.request is not None and revert_record_id(form.request) is not None:
        for name, field in form.fields.items():
            if name not in ("change_note", "edited_version"):
                field.disabled = True


def _model_value(obj, name: str):
    value = getattr(obj, name)
    return value.pk if isinstance(value, models.Model) else value


def _shown(form: forms.ModelForm, name: str, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in CONSTRAINT_FIELDS:
        return display_value(name, value)
    if name == "profile":
        return next((label for pk, label in form.fields[name].choices if str(pk) == str(value)), str(value))
    return repr(value) if isinstance(value, str) else str(value)


def rebase_on_newer_version(form: forms.ModelForm, exc: Conflict) -> None:
    """Someone saved a newer version while this form was open. Say what that version changed;
    fields the user had not changed take its values (saving again must not undo it), fields the
    user changed keep theirs; the next save applies them over the newer version, never putting
    back older values of fields the user did not touch."""
    current_version = exc.extra["current_version"]
    model = type(form.instance)
    live = selectors.journaled_live(model=model, pk=form.instance.pk)
    base = selectors.journaled_at_version(model=model, pk=form.instance.pk, version=form.data.get("edited_version"))
    reverting = form.request is not None and revert_record_id(form.request) is not None
    data = form.data.copy()
    data["edited_version"] = str(current_version)
    theirs, adopted = [], []
    for name, field in form.fields.items():
        if live is None or base is None or name in ("change_note", "edited_version") or not hasattr(live, name):
            continue
        now, before = _model_value(live, name), _model_value(base, name)
        if now == before:
            continue
        theirs.append(f"{field.label}: {_shown(form, name, before)} → {_shown(form, name, now)}")
        mine = form.cleaned_data.get(name)
        mine = mine.pk if isinstance(mine, models.Model) else mine
        if mine == before and not field.disabled:  # untouched here: take the newer value
            adopted.append(field.label)
            if isinstance(field, forms.BooleanField):
                data.pop(name, None)
                if now:
                    data[name] = "on"
            else:
                data[name] = "" if now is None else str(now)
    form.data = data
    changed = f": it changed {'; '.join(theirs)}" if theirs else ""
    if reverting:
        message = (
            f"Version {current_version} was saved since this page was opened{changed}. Nothing was reverted; "
            f"revert again to put this record's values back over version {current_version}."
        )
    else:
        kept = (
            f" Fields you had not changed now show version {current_version}'s values ({', '.join(adopted)})."
            if adopted
            else ""
        )
        message = (
            f"Version {current_version} was saved while you were editing{changed}. Nothing was saved.{kept} "
            f"Your own changes are still in the form: save again to apply them over version {current_version}, "
            "or reload the page to start from it."
        )
    form.add_error(None, message)


def version_edited(form: forms.ModelForm) -> int:
    """The version a change form edits: the instance's, or on a revert page (whose instance is
    the historical record) the live object's, so a revert made from a stale page is refused."""
    if form.request is not None and revert_record_id(form.request) is not None:
        live = selectors.journaled_live(model=type(form.instance), pk=form.instance.pk)
        if live is not None:  # else a deleted object: the services refuse that revert themselves
            return live.version
    return form.instance.version


def protected_message(name: str) -> str:
    """The refusal of a protected profile's edit, with a link to open a change request instead."""
    return format_html(
        "{} is protected: its values change only through an approved change request. "
        '<a href="{}?profile={}">Open a change request</a> (or unprotect it first, as an administrator).',
        name,
        reverse("change-request-new"),
        name,
    )


def _attach(form: forms.Form, exc: ApplicationError) -> None:
    if isinstance(exc, Conflict) and "current_version" in exc.extra:
        rebase_on_newer_version(form, exc)
        return
    if isinstance(exc, Conflict) and exc.extra.get("protected"):
        form.protected_refusal = True
        form.add_error(None, protected_message(form.instance.name))
        return
    for error in exc.errors or []:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
    if not exc.errors:
        form.add_error(None, exc.detail)


class ProfileAdminForm(forms.ModelForm):
    change_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text=NOTE_HELP, max_length=services.NOTE_MAX
    )
    edited_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # Set by ProfileAdmin.get_form for the request being served.
    request = None
    protected_refusal = False  # the save was refused because the profile is protected (409)

    class Meta:
        model = ConstraintProfile
        fields = ["name", *CONSTRAINT_FIELDS, *GOVERNANCE_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "required_approvals" in self.fields:
            self.fields["required_approvals"].required = False  # left out: kept as it is
        if self.request is not None and not services.may_govern(self.request.user):
            for name in GOVERNANCE_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text += " Only administrators change this."
        if self.instance.pk:
            self.fields["edited_version"].initial = version_edited(self)
            read_only_on_revert(self)
            if "name" in self.fields:
                self.fields["name"].disabled = True

    def _post_clean(self):
        # The services decide validity (incl. the database's check constraints, which they
        # mirror); skip ModelForm's own instance.full_clean() so messages are not doubled.
        pass

    def clean(self):
        data = super().clean()
        if set(self.errors) - {"change_note"}:
            return data
        values = {f: data.get(f) for f in CONSTRAINT_FIELDS}
        values.update({f: data[f] for f in GOVERNANCE_FIELDS if data.get(f) is not None})
        # A missing note is already reported on its field; check the values anyway, so that one
        # submit lists every problem.
        note = data.get("change_note") or "(note missing)"
        history_id = revert_record_id(self.request) if self.request else None
        user = self.request.user if self.request is not None else None
        try:
            if history_id is not None:
                services.profile_rollback(
                    name=self.instance.name,
                    history_id=history_id,
                    note=note,
                    version=data.get("edited_version"),
                    user=user,
                    dry_run=True,
                )
            elif self.instance.pk:
                services.profile_update(
                    name=self.instance.name,
                    changes=values,
                    note=note,
                    version=data.get("edited_version"),
                    user=user,
                    dry_run=True,
                )
            else:
                services.profile_create(name=data.get("name"), values=values, note=note, user=user, dry_run=True)
        except ApplicationError as exc:
            _attach(self, exc)
        return data
