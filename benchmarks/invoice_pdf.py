"""Time and memory to render a 30-line GST tax invoice PDF in-process through docos.pdf.

    python -m benchmarks.invoice_pdf [RUNS]

Renders a realistic tax invoice (letterhead, supplier and recipient, 30 lines of consultations,
procedures and medicines at 0, 5 and 18 %, the tax summary, totals and the amount in words) with
`billing.pdf`'s template through `docos.pdf.render_pdf`, RUNS times after warm-up, and reports the
median in milliseconds and the peak RSS. For comparison it lays out the same HTML, made static
(stylesheets inlined), with plain WeasyPrint defaults in the same run.

Target: docos.pdf median <= 0.8 x plain WeasyPrint's (as the prescription achieves). Builds the HTML
from unsaved model instances: no database is needed. Exits with status 1 when the target is missed.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchmarks.pdf_prescription import _timings

TARGET_RATIO = 0.8
LINES = [
    ("Consultation", "999312", "health_exempt", "1", "600"),
    ("ECG", "999316", "health_exempt", "1", "400"),
    ("Dressing (small wound)", "999312", "health_exempt", "2", "250"),
    ("Chemical peel (cosmetic)", "999312", "cosmetic_18", "1", "4500"),
    ("Dolo 650 (strip of 15)", "30049099", "medicine_5", "2", "33.60"),
    ("Pan 40 (strip of 15)", "30049099", "medicine_5", "1", "171.50"),
    ("Sunscreen SPF 50 (50 g)", "33049910", "goods_18", "1", "650"),
    ("Electral sachet", "30049099", "medicine_5", "6", "21.00"),
    ("Nebulisation", "999312", "health_exempt", "1", "200"),
    ("Azithral 500 (strip of 5)", "30049099", "medicine_5", "1", "119.50"),
]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _context() -> dict[str, Any]:
    import datetime as dt

    from billing import gst
    from billing.models import InvoiceLine

    specs = [LINES[i % len(LINES)] for i in range(30)]
    day = dt.date(2026, 12, 9)
    lines = [
        InvoiceLine(
            description=name,
            sac_hsn=code,
            tax_class=tax_class,
            quantity=Decimal(qty),
            unit_price=Decimal(price),
            gst_rate=gst.rate_on(tax_class, day),
        )
        for name, code, tax_class, qty, price in specs
    ]
    totals = gst.compute(
        [gst.LineInput(line.quantity, line.unit_price, line.gst_rate) for line in lines],
        invoice_discount=Decimal("500"),
    )
    for line, amounts in zip(lines, totals.lines, strict=True):
        line.invoice_discount, line.taxable_value = amounts.invoice_discount, amounts.taxable
        line.cgst, line.sgst, line.igst, line.total = amounts.cgst, amounts.sgst, amounts.igst, amounts.total
    invoice = SimpleNamespace(
        number="KOR/2627/0042", supplier_gstin="29AAGCS1234K1Z7", gross=totals.gross, discount=totals.discount,
        taxable_value=totals.taxable, non_taxable_value=totals.non_taxable, cgst=totals.cgst, sgst=totals.sgst,
        igst=totals.igst, round_off=totals.round_off, total=totals.total, credited=Decimal("0"), paid=Decimal("0"),
        balance=totals.total, issued_by=SimpleNamespace(full_name="Pooja Hegde"), invoice_discount=Decimal("500"),
    )  # fmt: skip
    summary: dict[Decimal, dict[str, Decimal]] = {}
    for line in lines:
        if line.gst_rate > 0:
            row = summary.setdefault(line.gst_rate, {"taxable": Decimal(0), "cgst": Decimal(0), "sgst": Decimal(0)})
            row["taxable"] += line.taxable_value
            row["cgst"] += line.cgst
            row["sgst"] += line.sgst
    return {
        "invoice": invoice,
        "patient": SimpleNamespace(full_name="Ramesh Kumar", mrn="SUN-000123"),
        "age_sex": "46 y / M",
        "address": "12, 5th Cross, Jayanagar, Bengaluru, Karnataka, 560041",
        "title": "Tax invoice",
        "is_tax_invoice": True,
        "is_draft": False,
        "issued_on": "09 Dec 2026",
        "place_of_supply": "Karnataka (29)",
        "supplier_state": "Karnataka (29)",
        "inter_state": False,
        "lines": lines,
        "tax_summary": [{"rate": rate, "igst": Decimal(0), **row} for rate, row in sorted(summary.items())],
        "total_words": gst.rupees_in_words(totals.total),
        "credit_notes": [],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = list(sys.argv[1:] if argv is None else argv)
    runs = int(args[0]) if args and args[0].isdigit() and int(args[0]) >= 5 else 30
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docos.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from billing.pdf import STYLESHEETS
    from docos import pdf

    rss_before = _peak_rss_mb()
    letterhead = pdf.Letterhead(
        name="Sunrise Family Clinic", address="14, 80 Feet Road, Koramangala 4th Block, Bengaluru 560034",
        gstin="29AAGCS1234K1Z7", phone="+91 80 4123 4567", location_name="Koramangala",
    )  # fmt: skip
    context = _context()

    def kernel() -> bytes:
        return pdf.render_pdf("pdf/invoice.html", context, letterhead=letterhead, stylesheets=STYLESHEETS)

    kernel_ms, kernel_cpu, kernel_size = _timings(kernel, runs)
    rss_kernel = _peak_rss_mb()
    css = "\n".join((Path(settings.STATICFILES_DIRS[0]) / name).read_text() for name in STYLESHEETS)
    static_html = render_to_string(
        "pdf/invoice.html",
        {**context, "letterhead": letterhead, "verification": None, "page_size": "A4", "page_class": "page-a4",
         "qr_src": "", "logo_src": ""},
    ).replace("</title>", f"</title><style>{css}\n@page {{ size: A4; }}</style>", 1)  # fmt: skip

    def plain() -> bytes:
        return bytes(HTML(string=static_html).write_pdf() or b"")

    plain_ms, plain_cpu, plain_size = _timings(plain, runs)
    p50, plain_p50 = statistics.median(kernel_ms), statistics.median(plain_ms)
    cpu_p50, plain_cpu_p50 = statistics.median(kernel_cpu), statistics.median(plain_cpu)
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    print(f"runs: {runs} each (after 3 warm-up renders); load average {load:.2f} on {cpus} CPUs")
    print(
        f"docos.pdf.render_pdf, 30-line tax invoice: p50 {p50:6.1f} ms  CPU p50 {cpu_p50:6.1f} ms"
        f"  ({kernel_size / 1024:.0f} KiB)"
    )
    print(
        f"WeasyPrint defaults, same static HTML:      p50 {plain_p50:6.1f} ms  CPU p50 {plain_cpu_p50:6.1f} ms"
        f"  ({plain_size / 1024:.0f} KiB)"
    )
    print(f"peak RSS: {rss_before:.0f} MB after Django set-up, {rss_kernel:.0f} MB after the docos.pdf runs")
    judged = (cpu_p50 / plain_cpu_p50, "CPU") if load >= cpus else (p50 / plain_p50, "wall-clock")
    ok = judged[0] <= TARGET_RATIO
    print(f"target: <= {TARGET_RATIO}x plain WeasyPrint ({judged[1]}: {judged[0]:.2f}x): {'PASS' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(1)
    return {"kernel_p50_ms": p50, "weasyprint_p50_ms": plain_p50, "ratio": judged[0], "peak_rss_mb": rss_kernel}


if __name__ == "__main__":
    main()
