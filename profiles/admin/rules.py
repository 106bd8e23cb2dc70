"""The rule admin and its form."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from profiles import selectors, services
from profiles.admin.forms import (
    NOTE_HELP,
    read_only_on_revert,
    rebase_on_newer_version,
    refused,
    revert_record_id,
    version_edited,
)
from profiles.admin.journaled import JournaledAdmin
from profiles.models import ChangeType, ResolutionRule
from profiles.services.rule_preview import rule_preview
from rmos_site.errors import ApplicationError, Conflict

PREVIEW_BUTTON = "_preview"
PREVIEW_NOTICE = "Preview only: nothing was saved. The blast radius of this change is below; save to apply it."


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
            self.fields["edited_version"].initial = version_edited(self)
            read_only_on_revert(self)

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

    blast_radius = None  # the preview's answer (profiles.services.rule_preview), when asked for

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            if self.request is not None and PREVIEW_BUTTON in self.request.POST:
                live = selectors.journaled_live(model=ResolutionRule, pk=self.instance.pk) if self.instance.pk else None
                self.blast_radius = rule_preview(name=live.name if live else None, values=self.canonical_values())
                # Keeps the form from saving: a preview changes nothing.
                self.add_error(None, PREVIEW_NOTICE)
                return data
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
            rebase_on_newer_version(self, exc)
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
    change_form_template = "admin/profiles/resolutionrule/change_form.html"
    delete_confirmation_template = "admin/profiles/resolutionrule/delete_confirmation.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def save_model(self, request, obj, form, change):
        values = form.canonical_values()
        note = form.cleaned_data["change_note"]
        history_id = revert_record_id(request)
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
            raise refused(self, "add")
        return super().add_view(request, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        if not self.has_delete_permission(request):
            raise refused(self, "delete")
        rule = self.get_object(request, object_id)
        if rule is not None and request.method == "GET":
            extra_context = {**(extra_context or {}), "blast_radius": rule_preview(name=rule.name, delete=True)}
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        services.rule_delete(name=obj.name, note=f"deleted in Django admin by {request.user}", user=request.user)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            self.delete_model(request, rule)


admin.site.site_header = "RMOS AI Ops administration"
admin.site.site_title = "RMOS AI Ops"
admin.site.index_title = "Profiles, rules and logs"
