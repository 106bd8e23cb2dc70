"""The profile admin."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied

from engine.profile import CONSTRAINT_FIELDS
from profiles import services
from profiles.admin.forms import FALLBACK_NOT_DELETED, ProfileAdminForm, refused, revert_record_id
from profiles.admin.journaled import JournaledAdmin
from profiles.journal import GOVERNANCE_FIELDS
from profiles.models import ConstraintProfile
from rmos_site.errors import ApplicationError


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
        "protected",
        "version",
        "updated_at",
    )
    list_filter = ("protected", "allow_mosaic", "allow_segmented", "bias_simple", "palette_key")
    search_fields = ("name", "description")
    readonly_fields = ("version", "created_at", "updated_at")
    history_list_display = (
        "version",
        "change_type",
        "operator",
        "change_request",
    )  # the reason has its own column already
    fieldsets = (
        (None, {"fields": ("name", "description")}),
        ("Rings", {"fields": (("min_rings", "max_rings"), ("min_ring_width_mm", "max_ring_width_mm"))}),
        ("Whole rosette", {"fields": (("min_total_width_mm", "max_total_width_mm"),)}),
        ("Patterns and materials", {"fields": ("allow_mosaic", "allow_segmented", "palette_key", "bias_simple")}),
        ("Protection", {"fields": ("protected", "required_approvals")}),
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
        values.update({f: data[f] for f in GOVERNANCE_FIELDS if data.get(f) is not None})
        history_id = revert_record_id(request)
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

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _conflict_status(super().changeform_view(request, object_id, form_url, extra_context))

    def render_history_view(self, request, template, context, **kwargs):
        return _conflict_status(super().render_history_view(request, template, context, **kwargs), context)

    def has_delete_permission(self, request, obj=None):
        # No delete button for the resolver's fallback or a protected profile (the service refuses both anyway).
        return super().has_delete_permission(request, obj) and (
            obj is None or (obj.name != services.FALLBACK_PROFILE and not obj.protected)
        )

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise refused(self, "add")
        return super().add_view(request, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, obj):
            if obj is not None and obj.name == services.FALLBACK_PROFILE:
                raise PermissionDenied(FALLBACK_NOT_DELETED)
            if obj is not None and obj.protected:
                raise PermissionDenied(f"{obj.name} is protected: unprotect it first (Protection, below its values).")
            raise refused(self, "delete")
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        # "Delete selected" would report success before the service could refuse one of them
        # (a profile that rules still target); profiles are deleted one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        services.profile_delete(name=obj.name, note=f"deleted in Django admin by {request.user}", user=request.user)


def _conflict_status(response, context=None):
    """A protected profile's refused edit or revert answers 409, as the API does."""
    context = context if context is not None else (getattr(response, "context_data", None) or {})
    adminform = context.get("adminform")
    if getattr(getattr(adminform, "form", None), "protected_refusal", False):
        response.status_code = 409
    return response
