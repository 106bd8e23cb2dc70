"""Filter forms of the dashboard's panels: they render what the address holds and show the
problems the API's own parsers found next to their fields.

The forms validate nothing themselves: :func:`ailog.filters.log_filter_parse` and
:mod:`analytics.filters` do, exactly as for the API, and :meth:`PanelFilterForm.attach` puts
each :class:`~rmos_site.errors.FieldError` they raise next to its field. Field names are the
API's; in the page's address they carry the panel's prefix (``log_tool_id``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from engine.context import WORKFLOW_MODES
from rmos_site.errors import FieldError

ANY = ("", "any")


# The dashboard renders two of these forms on every view; Django's template-based widget rendering
# cost a millisecond per field, so these two widgets write the same markup directly.
class TextInput(forms.TextInput):
    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        final = self.build_attrs(self.attrs, attrs)
        value = self.format_value(value)
        return format_html(
            '<input type="text" name="{}"{}{}>',
            name,
            format_html(' value="{}"', value) if value else "",
            flatatt(final),
        )


class Select(forms.Select):
    def render(self, name: str, value: Any, attrs: dict | None = None, renderer=None) -> str:
        final = self.build_attrs(self.attrs, attrs)
        current = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if str(v) == current else "", label) for v, label in self.choices),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


def text(
    label: str, *, placeholder: str = "", datalist: str = "", help_text: str = "", numeric: bool = False
) -> forms.CharField:
    attrs = {"autocomplete": "off", "spellcheck": "false"}
    if placeholder:
        attrs["placeholder"] = placeholder
    if datalist:
        attrs["list"] = datalist
    if numeric:
        attrs["inputmode"] = "numeric"
    return forms.CharField(label=label, required=False, help_text=help_text, widget=TextInput(attrs=attrs))


def choice(label: str, choices: Sequence[tuple[str, str]], *, help_text: str = "") -> forms.CharField:
    """A select whose value the API's parser checks (so an invalid value gets the API's message)."""
    return forms.CharField(label=label, required=False, help_text=help_text, widget=Select(choices=[ANY, *choices]))


def workflow_field() -> forms.CharField:
    return choice("Workflow", [(m, m) for m in WORKFLOW_MODES])


def since_field() -> forms.CharField:
    return text("Since", placeholder="YYYY-MM-DD", help_text="inclusive; or a UTC time: …T08:00Z")


def until_field() -> forms.CharField:
    return text("Until", placeholder="YYYY-MM-DD", help_text="a date includes that whole day")


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else message


class PanelFilterForm(forms.Form):
    """A GET form over ``values`` (API names). Subclasses set ``param_prefix``."""

    param_prefix = ""
    unknown_message = "not a parameter of this list"

    def __init__(self, values: Mapping[str, str], *, drop: Iterable[str] = ()):
        dropped = set(drop)
        data = {self.param_prefix + name: values.get(name, "") for name in self.base_fields if name not in dropped}
        super().__init__(data, auto_id="%s")  # ids are the prefixed names: log_tool_id
        for name in dropped:
            self.fields.pop(name, None)
        for name, field in self.fields.items():
            field.validators = []  # the API's parser is the one judge (Django's would refuse NUL in its own words)
            # A value the select does not offer stays visible (and selected) beside its message.
            value = values.get(name, "")
            if isinstance(field.widget, forms.Select) and value and value not in dict(field.widget.choices):
                field.widget.choices = [*field.widget.choices, (value, f"{value} (not valid)")]
        self.full_clean()

    def add_prefix(self, field_name: str) -> str:
        return self.param_prefix + field_name

    @property
    def own_parameters(self) -> str:
        """The parameters this form sends, comma-separated (the hidden inputs carry the rest)."""
        return ",".join(self.add_prefix(name) for name in self.fields)

    def attach(self, errors: Iterable[FieldError]) -> list[str]:
        """Put each error next to its field; returns the messages of those that have no field here."""
        leftover = []
        for error in errors:
            if error.field in self.fields and error.rule != "unknown_field":
                if error.field not in self.errors:
                    self.add_error(error.field, sentence(error.message))
            elif error.rule == "unknown_field":
                # The parser lists the API's names; on the page the prefixed key is what to remove.
                leftover.append(f"{self.param_prefix}{error.field}: {self.unknown_message}")
            else:
                leftover.append(
                    f"{self.param_prefix}{error.field}: {error.message}" if error.field else sentence(error.message)
                )
        return leftover
