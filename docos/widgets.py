"""The browser's own date and time pickers, whatever the language's formats.

An <input type="date"> takes and gives ISO dates (2026-12-04) and shows them as the browser's
locale writes them (04/12/2026 in India); rendering it with the language's first input format
(day-first, see docos.formats) would give a value the browser throws away, emptying the field.
So these widgets always render ISO, and the fields still accept day-first text typed anywhere
the picker is not used.
"""

from __future__ import annotations

from typing import Any

from django import forms

ISO_DATE = "%Y-%m-%d"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATE)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_LOCAL)
