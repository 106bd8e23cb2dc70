"""Django admin for profiles and rules: every save, delete and revert goes through the services.

The forms carry a required change note (the journal's reason). ``clean()`` runs the service as a
dry run, so validation messages appear next to their fields; ``save_model`` then makes the real
change. A revert from the history page is a rollback to that record, journaled as one.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin

from engine.profile import CONSTRAINT_FIELDS
from profiles import selectors, services
from profiles.models import ChangeType, ConstraintProfile, ResolutionRule
from profiles.presentation import display_value
from rmos_site.errors import ApplicationError, Conflict
from rmos_site.roles import permission_refusal

NOTE_HELP = "Why you make this change. Required; it becomes the reason in the history."
FALLBACK_NOT_DELETED = (
    f"The {services.FALLBACK_PROFILE!r} profile is never deleted: it is the resolver's fallback, the profile of every "
    "context that no rule matches. To change what it allows, edit it, or roll it back to an earlier version from its history."
)


def _refused(model_admin: admin.ModelAdmin, action: str) -> PermissionDenied:
    """Django's own refusal is a bare 403, which left the page to guess why (it guessed a role).
    ``action`` is "add" or "delete"."""
    perm = f"{model_admin.opts.app_label}.{get_permission_codename(action, model_admin.opts)}"
    doing = {"add": "Adding", "delete": "Deleting"}[action]
    return PermissionDenied(permission_refusal(action=f"{doing} {model_admin.opts.verbose_name_plural}", perm=perm))


def _revert_record_id(request) -> int | None:
    """The history record id when this request is simple-history's revert page."""
    match = request.resolver_match
    if match and match.url_name and match.url_name.endswith("_simple_history") and len(match.args) >= 2:
        try:
            return int(match.args[1])
        except ValueError:
            return None
    return None


def _read_only_on_revert(form: forms.ModelForm) -> None:
    """A revert restores the record's values: show them, but take only the note (edits made on
    the revert page were silently dropped for profiles, and journaled as a rollback for rules)."""
    if form.request is not None and _revert_record_id(form.request) is not None:
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


def _rebase_on_newer_version(form: forms.ModelForm, exc: Conflict) -> None:
    """Someone saved a newer version while this form was open. Say what that version changed;
    fields the user had not changed take its values (saving again must not undo it), fields the
    user changed keep theirs; the next save applies them over the newer version. (Before, the
    form refused every save until reloaded, and then a save put back the older values of fields
    the user never touched.)"""
    current_version = exc.extra["current_version"]
    model = type(form.instance)
    live = selectors.journaled_live(model=model, pk=form.instance.pk)
    base = selectors.journaled_at_version(model=model, pk=form.instance.pk, version=form.data.get("edited_version"))
    reverting = form.request is not None and _revert_record_id(form.request) is not None
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


def _version_edited(form: forms.ModelForm) -> int:
    """The version a change form edits: the instance's, or on a revert page (whose instance is
    the historical record) the live object's, so a revert made from a stale page is refused."""
    if form.request is not None and _revert_record_id(form.request) is not None:
        live = selectors.journaled_live(model=type(form.instance), pk=form.instance.pk)
        if live is not None:  # else a deleted object: the services refuse that revert themselves
            return live.version
    return form.instance.version


def _attach(form: forms.Form, exc: ApplicationError) -> None:
    if isinstance(exc, Conflict) and "current_version" in exc.extra:
        _rebase_on_newer_version(form, exc)
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

    class Meta:
        model = ConstraintProfile
        fields = ["name", *CONSTRAINT_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["edited_version"].initial = _version_edited(self)
            _read_only_on_revert(self)
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
        # A missing note is already reported on its field; check the values anyway, so that one
        # submit lists every problem.
        note = data.get("change_note") or "(note missing)"
        history_id = _revert_record_id(self.request) if self.request else None
        try:
            if history_id is not None:
                services.profile_rollback(
                    name=self.instance.name,
                    history_id=history_id,
                    note=note,
                    version=data.get("edited_version"),
                    dry_run=True,
                )
            elif self.instance.pk:
                services.profile_update(
                    name=self.instance.name, changes=values, note=note, version=data.get("edited_version"), dry_run=True
                )
            else:
                services.profile_create(name=data.get("name"), values=values, note=note, dry_run=True)
        except ApplicationError as exc:
            _attach(self, exc)
        return data


class JournaledAdmin(SimpleHistoryAdmin):
    """simple-history's admin, answering ids that name nothing the way Django's change page does:
    a redirect with "… doesn't exist" (before, ``abc/history/`` and ``3/change/history/`` were a
    500, the library filtering an integer key by the text). A deleted object keeps its history.
    The history list names who acted when no account did, as the dashboard does (not "None")."""

    object_history_list_template = "admin/profiles/journal_history_list.html"

    def _key(self, object_id: str):
        """The primary key ``object_id`` spells, or None when it spells none (``abc``, ``3/change``)."""
        try:
            return self.opts.pk.to_python(unquote(object_id))
        except ValidationError:
            return None

    def _record_key(self, version_id: str):
        try:
            return self.model.history.model._meta.pk.to_python(unquote(version_id))
        except ValidationError:
            return None

    def _journaled_object(self, request, object_id: str):
        """The live object, else the last journaled state of a deleted one, else None."""
        key = self._key(object_id)
        if key is None:
            return None
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            record = self.model.history.filter(**{self.opts.pk.attname: key}).order_by("-history_id").first()
            obj = None if record is None else record.instance
        return obj

    def history_view(self, request, object_id, extra_context=None):
        # Who may not read histories learns nothing from them, not even which ids exist.
        if not self.has_view_history_or_change_history_permission(request):
            raise PermissionDenied
        if self._key(object_id) is not None:
            try:
                return super().history_view(request, object_id, extra_context)
            except Http404:  # neither a live object nor any record of one
                pass
        return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self.has_view_history_or_change_history_permission(request):
            raise PermissionDenied
        if self._key(object_id) is not None and self._record_key(version_id) is not None:
            try:
                return super().history_form_view(request, object_id, version_id, extra_context)
            except Http404:  # no such record of this object
                pass
        obj = self._journaled_object(request, object_id)
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_history_or_change_history_permission(request, obj):
            raise PermissionDenied
        self.message_user(
            request,
            f"{capfirst(self.opts.verbose_name)} “{obj}” has no history record with ID “{unquote(version_id)}”.",
            messages.WARNING,
        )
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(
            reverse("admin:{}_{}_history".format(*info), args=(quote(obj.pk),), current_app=self.admin_site.name)
        )


@admin.register(ConstraintProfile)
class ConstraintProfileAdmin(JournaledAdmin):
    form = ProfileAdminForm
    list_display = (
        "name",
        "min_rings",
        "max_rings",
        "min_ring_width_mm",
        "max_ring_width_mm",
        "min_total_width_mm",
        "max_total_width_mm",
        "allow_mosaic",
        "allow_segmented",
        "palette_key",
        "bias_simple",
        "version",
        "updated_at",
    )
    list_filter = ("allow_mosaic", "allow_segmented", "bias_simple", "palette_key")
    search_fields = ("name", "description")
    readonly_fields = ("version", "created_at", "updated_at")
    history_list_display = ("version", "change_type", "operator")  # the reason has its own column already
    fieldsets = (
        (None, {"fields": ("name", "description")}),
        ("Rings", {"fields": (("min_rings", "max_rings"), ("min_ring_width_mm", "max_ring_width_mm"))}),
        ("Whole rosette", {"fields": (("min_total_width_mm", "max_total_width_mm"),)}),
        ("Patterns and materials", {"fields": ("allow_mosaic", "allow_segmented", "palette_key", "bias_simple")}),
        ("Change", {"fields": ("change_note", "edited_version")}),
        ("Version", {"fields": ("version", "created_at", "updated_at")}),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        note = data["change_note"]
        values = {f: data[f] for f in CONSTRAINT_FIELDS}
        history_id = _revert_record_id(request)
        try:
            if history_id is not None:
                result = services.profile_rollback(
                    name=obj.name,
                    history_id=history_id,
                    note=note,
                    version=data.get("edited_version"),
                    user=request.user,
                )
                saved = result.profile
            elif change:
                result = services.profile_update(
                    name=obj.name, changes=values, note=note, version=data.get("edited_version"), user=request.user
                )
                saved = result.profile
                if not result.changed:
                    messages.info(request, "Nothing changed: no new version was made.")
            else:
                saved = services.profile_create(name=data["name"], values=values, note=note, user=request.user)
        except ApplicationError as exc:
            # Only a race after clean() gets here (e.g. someone saved in between).
            messages.error(request, f"Not saved: {exc.detail}")
            raise PermissionDenied(exc.detail) from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def has_delete_permission(self, request, obj=None):
        # No delete button for the resolver's fallback (the service refuses it anyway).
        return super().has_delete_permission(request, obj) and (obj is None or obj.name != services.FALLBACK_PROFILE)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise _refused(self, "add")
        return super().add_view(request, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, obj):
            if obj is not None and obj.name == services.FALLBACK_PROFILE:
                raise PermissionDenied(FALLBACK_NOT_DELETED)
            raise _refused(self, "delete")
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        # "Delete selected" would report success before the service could refuse one of them
        # (a profile that rules still target); profiles are deleted one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.profile_delete(name=obj.name, note=f"deleted in Django admin by {request.user}", user=request.user)


class RuleAdminForm(forms.ModelForm):
    change_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text=NOTE_HELP, max_length=services.NOTE_MAX
    )
    edited_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    request = None

    class Meta:
        model = ResolutionRule
        fields = [
            "name",
            "tool_pattern",
            "material_pattern",
            "machine_pattern",
            "workflow_mode",
            "geometry_engine",
            "priority",
            "enabled",
            "note",
            "profile",
        ]
        help_texts = {
            "tool_pattern": "Exact tool id, a glob such as saw:*, or blank for any tool.",
            "material_pattern": "Exact material id, a glob such as shell:*, or blank.",
            "machine_pattern": "Exact machine id, a glob such as proto:*, or blank.",
            "priority": "Lower wins between equally specific rules.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["edited_version"].initial = _version_edited(self)
            _read_only_on_revert(self)

    def _post_clean(self):
        pass

    def canonical_values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data.get("name"),
            "match": {
                "tool_id": data.get("tool_pattern") or "",
                "material_id": data.get("material_pattern") or "",
                "machine_id": data.get("machine_pattern") or "",
                "workflow_mode": data.get("workflow_mode") or "",
                "geometry_engine": data.get("geometry_engine") or "",
            },
            "profile": data["profile"].name if data.get("profile") else None,
            "priority": data.get("priority"),
            "enabled": data.get("enabled"),
            "note": data.get("note") or "",
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.instance.pk:
                services.rule_update(
                    name=selectors.journaled_live(model=ResolutionRule, pk=self.instance.pk).name,
                    changes=self.canonical_values(),
                    note=data.get("change_note", ""),
                    version=data.get("edited_version"),
                    dry_run=True,
                )
            else:
                services.rule_create(values=self.canonical_values(), note=data.get("change_note", ""), dry_run=True)
        except Conflict as exc:
            _rebase_on_newer_version(self, exc)
        except ApplicationError as exc:
            mapping = {
                "match.tool_id": "tool_pattern",
                "match.material_id": "material_pattern",
                "match.machine_id": "machine_pattern",
                "match.workflow_mode": "workflow_mode",
                "match.geometry_engine": "geometry_engine",
            }
            for error in exc.errors:
                field = mapping.get(error.field, error.field)
                self.add_error(field if field in self.fields else None, error.message)
            if not exc.errors:
                self.add_error(None, exc.detail)
        return data


@admin.register(ResolutionRule)
class ResolutionRuleAdmin(JournaledAdmin):
    form = RuleAdminForm
    list_display = (
        "name",
        "tool_pattern",
        "material_pattern",
        "machine_pattern",
        "workflow_mode",
        "geometry_engine",
        "priority",
        "enabled",
        "profile",
        "version",
    )
    list_filter = ("enabled", "workflow_mode", "profile")
    search_fields = ("name", "tool_pattern", "material_pattern", "machine_pattern", "note")
    readonly_fields = ("version", "created_at", "updated_at")
    history_list_display = ("version", "change_type", "operator")  # the reason has its own column already
    list_select_related = ("profile",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        values = form.canonical_values()
        note = form.cleaned_data["change_note"]
        history_id = _revert_record_id(request)
        try:
            if change and history_id is None:
                saved, _ = services.rule_update(
                    name=selectors.journaled_live(model=ResolutionRule, pk=obj.pk).name,
                    changes=values,
                    note=note,
                    version=form.cleaned_data.get("edited_version"),
                    user=request.user,
                )
            elif change:
                rule = selectors.journaled_live(model=ResolutionRule, pk=obj.pk)
                record = selectors.rule_history_record(rule=rule, history_id=history_id)
                saved, _ = services.rule_update(
                    name=rule.name,
                    changes=values,
                    note=note,
                    note_prefix=services.rollback_note_prefix(version=record.version, history_id=history_id),
                    version=form.cleaned_data.get("edited_version"),
                    user=request.user,
                    change_type=ChangeType.ROLLBACK,
                )
            else:
                saved = services.rule_create(values=values, note=note, user=request.user)
        except ApplicationError as exc:
            messages.error(request, f"Not saved: {exc.detail}")
            raise PermissionDenied(exc.detail) from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise _refused(self, "add")
        return super().add_view(request, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if not self.has_delete_permission(request):
            raise _refused(self, "delete")
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.rule_delete(name=obj.name, note=f"deleted in Django admin by {request.user}", user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            self.delete_model(request, rule)


admin.site.site_header = "RMOS AI Ops administration"
admin.site.site_title = "RMOS AI Ops"
admin.site.index_title = "Profiles, rules and logs"
