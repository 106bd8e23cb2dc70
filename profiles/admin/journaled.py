"""The base admin of journaled models (simple-history's, with safer history pages)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin


class JournaledAdmin(SimpleHistoryAdmin):
    """simple-history's admin, answering ids that name nothing the way Django's change page does:
    a redirect with "… doesn't exist" (the library would filter an integer key by the text of
    ``abc/history/``). A deleted object keeps its history.
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
