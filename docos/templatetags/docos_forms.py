"""Form rendering shared by every app's templates (`{% load docos_forms %}`), so that accessibility
holds in one place:

- `{{ field|control }}` renders a field's control as Django does (`aria-invalid` when it has errors,
  `aria-describedby` naming its help and error texts, whose ids `docos/_field_messages.html` gives)
  and adds `aria-required="true"` to a required field, also where Django leaves out `required` (a
  select whose first option is a value rather than an empty placeholder, such as "Sex").
- `{% error_summary form formset ... %}` lists every error of the forms and formsets given (forms' and
  rows' non-field errors, formsets' non-form errors, hidden fields' errors), each invalid field as a
  link to it; docos.js moves focus to the summary when the page loads after a failed submit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def control(field: forms.BoundField) -> SafeString:
    """The field's widget, with aria-required on a required field (see the module docstring)."""
    if not isinstance(field, forms.BoundField):
        return SafeString(str(field))
    attrs: dict[str, Any] = {}
    if field.field.required and not field.is_hidden:
        attrs["aria-required"] = "true"
    return field.as_widget(attrs=attrs)


@dataclass(frozen=True)
class SummaryLine:
    message: str
    href: str = ""  # "#<field id>" for a field's error


def _form_lines(form: forms.BaseForm, row: int | None = None) -> list[SummaryLine]:
    lines = [SummaryLine(str(error)) for error in form.non_field_errors()]
    for field in form:
        for error in field.errors:
            if field.is_hidden or not field.id_for_label:
                lines.append(SummaryLine(str(error)))
                continue
            label = str(field.label or field.name)
            if row is not None:
                label = _("%(label)s (row %(row)s)") % {"label": label, "row": row}
            lines.append(SummaryLine(f"{label}: {error}", f"#{field.id_for_label}"))
    return lines


def summary_lines(*forms_or_formsets: Any) -> list[SummaryLine]:
    """Every error of the given forms and formsets, in page order; '' and None are skipped."""
    lines: list[SummaryLine] = []
    for item in forms_or_formsets:
        if isinstance(item, forms.BaseFormSet):
            if not item.is_bound:
                continue
            lines.extend(SummaryLine(str(error)) for error in item.non_form_errors())
            for number, row in enumerate(item.forms, start=1):
                lines.extend(_form_lines(row, number))
        elif isinstance(item, forms.BaseForm) and item.is_bound:
            lines.extend(_form_lines(item))
    return lines


@register.simple_tag(takes_context=True)
def error_summary(context: template.Context, *forms_or_formsets: Any) -> str:
    lines = summary_lines(*forms_or_formsets)
    if not lines:
        return ""
    count = int(context.render_context.get("docos_error_summaries") or 0) + 1
    context.render_context["docos_error_summaries"] = count
    return render_to_string(
        "docos/_error_summary.html", {"lines": lines, "summary_id": f"error-summary-{count}", "first": count == 1}
    )
