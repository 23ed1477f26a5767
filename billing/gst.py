"""GST arithmetic for patient invoices: rates as data, state codes, the line and invoice sums, and
amounts in words. Pure functions over Decimal; no database.

Rounding rules (all amounts are Decimal rupees with two places, paise; halves round up, away from
zero: ROUND_HALF_UP):

1. A line's gross value is quantity x unit price, rounded to the paisa.
2. Its line discount is an amount in rupees, at most the gross value; net = gross - discount.
3. The invoice discount (an amount) is shared over the lines in proportion to their net values:
   each line's share is rounded to the paisa and the last line with a net value takes whatever
   remains, so the shares add up to the invoice discount exactly and no line's share exceeds its
   net. A line's taxable value is net - share (GST is charged on the value after discounts shown on
   the invoice, section 15(3)(a) of the CGST Act).
4. Tax is computed per line. Inside the state: CGST = SGST = taxable value x (rate / 2) / 100, each
   rounded to the paisa, so CGST + SGST is the line's tax and the two halves are always equal.
   Between states: IGST = taxable value x rate / 100, rounded to the paisa.
5. The invoice's taxable value, CGST, SGST and IGST are the sums of its lines' (never recomputed
   from the totals), and each line's total is taxable value + its tax.
6. The amount payable is the sum of the line totals rounded to the nearest rupee (halves up); the
   difference is printed as "Round off" and is always between -0.50 and +0.50. Tax amounts are
   never rounded to the rupee: they are reported in paise as computed.

Place of supply: health services, including cosmetic and plastic surgery, are supplied where they
are performed (section 12(4) of the IGST Act), and medicines handed over at the counter where they
are delivered, so an invoice's place of supply defaults to the issuing location's state and is
intra-state (CGST + SGST). It can be set to another state (goods sent to a patient elsewhere):
then the invoice charges IGST.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

PAISA = Decimal("0.01")
RUPEE = Decimal("1")
ZERO = Decimal("0.00")
RATES_FILE = Path(__file__).resolve().parent / "data" / "gst_rates.json"

# GST state and union territory codes (the first two digits of a GSTIN).
STATES: dict[str, str] = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
    "97": "Other Territory",
}
STATE_CHOICES = [(code, f"{name} ({code})") for code, name in STATES.items()]


def state_code_for(name_or_code: str) -> str:
    """The GST state code for a state's name or code ("Karnataka" or "29" -> "29"), else ""."""
    value = (name_or_code or "").strip()
    if value in STATES:
        return value
    lowered = value.lower().replace("&", "and")
    for code, name in STATES.items():
        if name.lower() == lowered:
            return code
    return ""


def money(value: Any) -> Decimal:
    """A rupee amount rounded to the paisa (ROUND_HALF_UP)."""
    return Decimal(value).quantize(PAISA, rounding=ROUND_HALF_UP)


# --- rates as data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxClass:
    key: str
    label: str
    code: str  # the usual SAC or HSN code of the class
    exempt: bool  # exempt by notification (a nil rate that is not an exemption is exempt=False)
    authority: str
    rates: tuple[tuple[dt.date, Decimal], ...]  # (effective from, rate %), oldest first

    def rate_on(self, day: dt.date) -> Decimal:
        current: Decimal | None = None
        for start, rate in self.rates:
            if start <= day:
                current = rate
        if current is None:
            raise ValueError(f"No GST rate of {self.key} is in force on {day}")
        return current


@lru_cache(maxsize=1)
def tax_classes() -> dict[str, TaxClass]:
    data = json.loads(RATES_FILE.read_text(encoding="utf-8"))
    classes = {}
    for row in data["classes"]:
        rates = tuple(sorted((dt.date.fromisoformat(r["from"]), Decimal(r["rate"])) for r in row["rates"]))
        classes[row["key"]] = TaxClass(
            key=row["key"],
            label=row["label"],
            code=row["code"],
            exempt=bool(row["exempt"]),
            authority=row["authority"],
            rates=rates,
        )
    return classes


def tax_class_choices() -> list[tuple[str, str]]:
    return [(c.key, c.label) for c in tax_classes().values()]


def rate_on(tax_class: str, day: dt.date) -> Decimal:
    """The GST rate (percent, total of CGST + SGST or IGST) of a tax class on a day."""
    try:
        return tax_classes()[tax_class].rate_on(day)
    except KeyError:
        raise ValueError(f"Unknown tax class {tax_class!r}") from None


# --- the sums ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: Decimal
    rate: Decimal  # GST percent
    discount: Decimal = ZERO  # line discount, rupees


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal
    discount: Decimal
    invoice_discount: Decimal  # this line's share of the invoice discount
    taxable: Decimal
    cgst: Decimal
    sgst: Decimal
    igst: Decimal

    @property
    def tax(self) -> Decimal:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> Decimal:
        return self.taxable + self.tax


@dataclass(frozen=True)
class Totals:
    lines: list[LineAmounts]
    gross: Decimal = ZERO
    discount: Decimal = ZERO  # line discounts + invoice discount
    taxable: Decimal = ZERO  # value of taxable lines (rate > 0)
    non_taxable: Decimal = ZERO  # value of exempt and nil-rated lines
    cgst: Decimal = ZERO
    sgst: Decimal = ZERO
    igst: Decimal = ZERO
    exact_total: Decimal = ZERO  # sum of line totals, in paise
    round_off: Decimal = ZERO
    total: Decimal = ZERO  # payable, whole rupees
    rates: list[Decimal] = field(default_factory=list)

    @property
    def tax(self) -> Decimal:
        return self.cgst + self.sgst + self.igst


class DiscountTooLarge(ValueError):
    pass


def share_discount(nets: list[Decimal], discount: Decimal) -> list[Decimal]:
    """Rule 3: the invoice discount shared over lines pro rata to their net values, in paise, summing exactly."""
    discount = money(discount)
    base = sum(nets, ZERO)
    if discount < 0:
        raise DiscountTooLarge("A discount cannot be negative.")
    if discount > base:
        raise DiscountTooLarge("The invoice discount is larger than the invoice.")
    shares = [ZERO for _ in nets]
    if discount == 0:
        return shares
    last = max(i for i, net in enumerate(nets) if net > 0)
    remaining = discount
    for i, net in enumerate(nets):
        if i == last:
            break
        share = min(money(discount * net / base), net, remaining)
        shares[i] = share
        remaining -= share
    if remaining > nets[last]:  # rounding pushed more onto the last line than it holds: spread it back
        overflow = remaining - nets[last]
        remaining = nets[last]
        for i in range(last):
            room = nets[i] - shares[i]
            take = min(room, overflow)
            shares[i] += take
            overflow -= take
    shares[last] = remaining
    return shares


def compute(lines: list[LineInput], *, invoice_discount: Decimal = ZERO, inter_state: bool = False) -> Totals:
    """The amounts of every line and of the invoice, by the rules in the module docstring."""
    grosses = [money(line.quantity * line.unit_price) for line in lines]
    discounts = [money(line.discount) for line in lines]
    for gross, discount in zip(grosses, discounts, strict=True):
        if discount < 0 or discount > gross:
            raise DiscountTooLarge("A line discount must be between zero and the line's value.")
    nets = [g - d for g, d in zip(grosses, discounts, strict=True)]
    shares = share_discount(nets, invoice_discount) if lines else []
    amounts = []
    for line, gross, discount, net, share in zip(lines, grosses, discounts, nets, shares, strict=True):
        taxable = net - share
        if inter_state:
            cgst = sgst = ZERO
            igst = money(taxable * line.rate / 100)
        else:
            cgst = sgst = money(taxable * line.rate / 200)
            igst = ZERO
        amounts.append(
            LineAmounts(
                gross=gross, discount=discount, invoice_discount=share, taxable=taxable, cgst=cgst, sgst=sgst, igst=igst
            )
        )
    exact = sum((a.total for a in amounts), ZERO)
    total = exact.quantize(RUPEE, rounding=ROUND_HALF_UP)
    return Totals(
        lines=amounts,
        gross=sum(grosses, ZERO),
        discount=sum(discounts, ZERO) + sum(shares, ZERO),
        taxable=sum((a.taxable for a, line in zip(amounts, lines, strict=True) if line.rate > 0), ZERO),
        non_taxable=sum((a.taxable for a, line in zip(amounts, lines, strict=True) if line.rate == 0), ZERO),
        cgst=sum((a.cgst for a in amounts), ZERO),
        sgst=sum((a.sgst for a in amounts), ZERO),
        igst=sum((a.igst for a in amounts), ZERO),
        exact_total=exact,
        round_off=(total - exact).quantize(PAISA),
        total=total.quantize(PAISA),
        rates=sorted({line.rate for line in lines}),
    )


# --- amounts in words (Indian numbering) ------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest:
        parts.append(_below_hundred(rest))
    return " ".join(parts)


def number_in_words(n: int) -> str:
    """A whole number in Indian English words: 1,25,00,050 -> "one crore twenty-five lakh fifty"."""
    if n < 0:
        return "minus " + number_in_words(-n)
    if n == 0:
        return "zero"
    crores, n = divmod(n, 10_000_000)
    lakhs, n = divmod(n, 100_000)
    thousands, n = divmod(n, 1000)
    parts = []
    if crores:
        parts.append(f"{number_in_words(crores)} crore")
    if lakhs:
        parts.append(f"{_below_hundred(lakhs)} lakh")
    if thousands:
        parts.append(f"{_below_hundred(thousands)} thousand")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def rupees_in_words(amount: Decimal) -> str:
    """ "Rupees One Lakh Two Thousand Three Hundred Forty-Five and Fifty Paise Only"."""
    amount = money(amount)
    sign = "Minus " if amount < 0 else ""
    amount = abs(amount)
    rupees = int(amount)
    paise = int((amount - rupees) * 100)
    words = f"Rupees {number_in_words(rupees).title()}"
    if paise:
        words += f" and {number_in_words(paise).title()} Paise"
    return f"{sign}{words} Only"


def indian_grouping(amount: Decimal) -> str:
    """1234567.5 -> "12,34,567.50" (lakh and crore grouping)."""
    amount = money(amount)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):.2f}".partition(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join([*groups, tail])
    return f"{sign}{whole}.{fraction}"
