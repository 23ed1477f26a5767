"""CSV cells that spreadsheets will not run as formulas (CSV injection).

Every CSV export goes through `safe_cell`: a value that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return (also after leading spaces, which Excel and LibreOffice skip) gets a leading
apostrophe, so the spreadsheet shows it as text. Values are stored as they came (text); they are
escaped again on every export. `unescape_cell` undoes the escape when such a file is read back (an
error report fixed and uploaded again), so a value does not grow an apostrophe per round trip.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.lstrip(" ").startswith(FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """`'=x` -> `=x`: the apostrophe our exports (and Excel's text prefix) put before a formula start."""
    return text[1:] if text.startswith("'") and text[1:].lstrip(" ").startswith(FORMULA_START) else text
