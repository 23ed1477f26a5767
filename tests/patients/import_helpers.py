"""CSV fixtures for the import tests."""

from __future__ import annotations

import csv
import io

from patients.services import verhoeff_valid

HEADERS = [
    "Patient ID",
    "Name",
    "Gender",
    "DOB",
    "Mobile",
    "Email",
    "Address",
    "Pincode",
    "State",
    "Aadhaar",
    "Consent",
]


def aadhaar_like() -> str:
    return next(f"98765432101{d}" for d in range(10) if verhoeff_valid(f"98765432101{d}"))


GOOD_ROWS = [
    [
        "OLD-1",
        "Lakshmi Iyer",
        "F",
        "14/03/1961",
        "98450 11111",
        "",
        "12, 4th Cross, Jayanagar",
        "560041",
        "KA",
        "",
        "yes",
    ],
    [
        "OLD-2",
        "Mohammed Rafiq",
        "Male",
        "1972-08-01",
        "+91-98450-22222",
        "rafiq@example.in",
        "",
        "560034",
        "",
        "",
        "no",
    ],
    ["OLD-3", "Sreenivas Reddy", "M", "02-01-1980", "098450 33333", "", "", "", "Karnataka", "1234", "y"],
    ["OLD-4", "Poonam", "F", "5/6/1995", "9845044444", "", "", "", "", "", ""],
]
BAD_ROWS = [
    ["OLD-5", "", "F", "1990-01-01", "98450 55555", "", "", "", "", "", ""],  # no name
    ["OLD-6", "Ravi Kumar", "M", "31/02/1980", "98450 66666", "", "", "", "", "", ""],  # no such date
    ["OLD-7", "Anil Kumar", "M", "1980-01-01", "12345", "", "", "", "", "", ""],  # bad phone
    ["OLD-8", "Neha Aggarwal", "F", "1990-01-01", "98450 88888", "", "", "", "", aadhaar_like(), ""],  # full Aadhaar
    ["OLD-9", '=HYPERLINK("x")', "F", "1990-01-01", "98450 99999", "", "", "", "Gondwana", "", ""],  # bad state
]


def csv_bytes(rows: list[list[str]], headers: list[str] | None = None, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(headers or HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
