"""The GST arithmetic (billing.gst) as properties over generated invoices, plus worked examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import gst

RATES = [Decimal(r) for r in ("0", "5", "12", "18", "28")]
PAISE = st.integers(min_value=0, max_value=5_000_000).map(lambda p: Decimal(p) / 100)
QUANTITY = st.integers(min_value=1, max_value=5000).map(lambda q: Decimal(q) / 10)


@st.composite
def invoices(draw: st.DrawFn) -> tuple[list[gst.LineInput], Decimal, bool]:
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        quantity, price = draw(QUANTITY), draw(PAISE)
        gross = gst.money(quantity * price)
        discount = Decimal(draw(st.integers(min_value=0, max_value=int(gross * 100)))) / 100
        lines.append(gst.LineInput(quantity, price, draw(st.sampled_from(RATES)), discount))
    net = sum((gst.money(line.quantity * line.unit_price) - line.discount for line in lines), Decimal("0"))
    invoice_discount = Decimal(draw(st.integers(min_value=0, max_value=int(net * 100)))) / 100
    return lines, invoice_discount, draw(st.booleans())


@settings(max_examples=400, deadline=None)
@given(invoices())
def test_totals_are_the_sums_of_the_lines(case):
    lines, invoice_discount, inter_state = case
    totals = gst.compute(lines, invoice_discount=invoice_discount, inter_state=inter_state)
    assert totals.taxable + totals.non_taxable == sum(a.taxable for a in totals.lines)
    assert totals.cgst == sum(a.cgst for a in totals.lines)
    assert totals.sgst == sum(a.sgst for a in totals.lines)
    assert totals.igst == sum(a.igst for a in totals.lines)
    assert totals.exact_total == sum(a.total for a in totals.lines)
    assert totals.exact_total == totals.taxable + totals.non_taxable + totals.tax
    assert totals.gross - totals.discount == totals.taxable + totals.non_taxable


@settings(max_examples=400, deadline=None)
@given(invoices())
def test_discounts_are_shared_exactly_and_never_exceed_a_line(case):
    lines, invoice_discount, inter_state = case
    totals = gst.compute(lines, invoice_discount=invoice_discount, inter_state=inter_state)
    assert sum(a.invoice_discount for a in totals.lines) == invoice_discount
    for amounts in totals.lines:
        assert Decimal("0") <= amounts.invoice_discount <= amounts.gross - amounts.discount
        assert amounts.taxable >= 0


@settings(max_examples=400, deadline=None)
@given(invoices())
def test_tax_split_and_rounding(case):
    lines, invoice_discount, inter_state = case
    totals = gst.compute(lines, invoice_discount=invoice_discount, inter_state=inter_state)
    for line, amounts in zip(lines, totals.lines, strict=True):
        for value in (amounts.taxable, amounts.cgst, amounts.sgst, amounts.igst, amounts.total):
            assert value == value.quantize(gst.PAISA)  # every amount in paise
        if inter_state:
            assert amounts.cgst == amounts.sgst == 0
            assert amounts.igst == gst.money(amounts.taxable * line.rate / 100)
        else:
            assert amounts.igst == 0
            assert amounts.cgst == amounts.sgst  # the halves are always equal
            assert amounts.cgst + amounts.sgst == amounts.tax
            # Each half rounded on its own is within a paisa of the whole tax rounded once.
            assert abs(amounts.tax - gst.money(amounts.taxable * line.rate / 100)) <= Decimal("0.01")
    assert totals.total == totals.total.quantize(Decimal("1"))  # payable in whole rupees
    assert Decimal("-0.50") <= totals.round_off <= Decimal("0.50")
    assert totals.total == totals.exact_total + totals.round_off


def test_a_worked_example_within_the_state():
    # 2 x 8,000 at 18% with a 1,000 line discount, 1 x 500 exempt, 500 off the invoice.
    lines = [
        gst.LineInput(Decimal("2"), Decimal("8000"), Decimal("18"), Decimal("1000")),
        gst.LineInput(Decimal("1"), Decimal("500"), Decimal("0")),
    ]
    totals = gst.compute(lines, invoice_discount=Decimal("500"))
    first, second = totals.lines
    # Shares: 500 x 15000/15500 = 483.870.. -> 483.87; the last line takes the remaining 16.13.
    assert (first.invoice_discount, second.invoice_discount) == (Decimal("483.87"), Decimal("16.13"))
    assert first.taxable == Decimal("14516.13")
    assert first.cgst == first.sgst == Decimal("1306.45")  # 14516.13 x 9% = 1306.4517
    assert second.taxable == Decimal("483.87") and second.tax == 0
    assert totals.exact_total == Decimal("17612.90")
    assert (totals.total, totals.round_off) == (Decimal("17613.00"), Decimal("0.10"))


def test_half_a_paisa_rounds_up_and_half_a_rupee_rounds_up():
    # 0.05 x 18% / 2 = 0.0045 -> 0.00; 0.25 x 9% = 0.0225 -> 0.02; 10.05 x 9% = 0.9045 -> 0.90
    assert gst.money(Decimal("0.005")) == Decimal("0.01")
    assert gst.money(Decimal("0.0049")) == Decimal("0.00")
    totals = gst.compute([gst.LineInput(Decimal("1"), Decimal("100.50"), Decimal("0"))])
    assert (totals.total, totals.round_off) == (Decimal("101.00"), Decimal("0.50"))
    totals = gst.compute([gst.LineInput(Decimal("1"), Decimal("100.49"), Decimal("0"))])
    assert (totals.total, totals.round_off) == (Decimal("100.00"), Decimal("-0.49"))


def test_between_states_the_whole_rate_is_igst():
    totals = gst.compute([gst.LineInput(Decimal("3"), Decimal("33.60"), Decimal("5"))], inter_state=True)
    assert totals.igst == Decimal("5.04") and totals.cgst == totals.sgst == 0


def test_discounts_beyond_the_value_are_refused():
    with pytest.raises(gst.DiscountTooLarge):
        gst.compute([gst.LineInput(Decimal("1"), Decimal("100"), Decimal("0"), Decimal("100.01"))])
    with pytest.raises(gst.DiscountTooLarge):
        gst.compute([gst.LineInput(Decimal("1"), Decimal("100"), Decimal("0"))], invoice_discount=Decimal("100.01"))


def test_rates_are_data_with_effective_dates():
    assert gst.rate_on("medicine_5", dt.date(2025, 9, 21)) == Decimal("12")
    assert gst.rate_on("medicine_5", dt.date(2025, 9, 22)) == Decimal("5")
    assert gst.rate_on("medicine_nil", dt.date(2025, 9, 22)) == Decimal("0")
    assert gst.rate_on("health_exempt", dt.date(2026, 1, 1)) == Decimal("0")
    assert gst.tax_classes()["health_exempt"].exempt and gst.tax_classes()["health_exempt"].code == "9993"
    assert gst.rate_on("cosmetic_18", dt.date(2026, 1, 1)) == Decimal("18")
    with pytest.raises(ValueError):
        gst.rate_on("medicine_5", dt.date(2017, 6, 30))


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "Rupees Zero Only"),
        ("17613", "Rupees Seventeen Thousand Six Hundred Thirteen Only"),
        ("100000", "Rupees One Lakh Only"),
        ("1234567.50", "Rupees Twelve Lakh Thirty-Four Thousand Five Hundred Sixty-Seven and Fifty Paise Only"),
        ("125000050", "Rupees Twelve Crore Fifty Lakh Fifty Only"),
        ("1000000000", "Rupees One Hundred Crore Only"),
    ],
)
def test_amounts_in_words_use_lakh_and_crore(amount, words):
    assert gst.rupees_in_words(Decimal(amount)) == words


def test_indian_digit_grouping():
    assert gst.indian_grouping(Decimal("1234567.5")) == "12,34,567.50"
    assert gst.indian_grouping(Decimal("999")) == "999.00"
    assert gst.indian_grouping(Decimal("-100000")) == "-1,00,000.00"


def test_state_codes():
    assert gst.state_code_for("Karnataka") == "29" and gst.state_code_for("29") == "29"
    assert gst.state_code_for("Tamil Nadu") == "33" and gst.state_code_for("Atlantis") == ""
