"""Celery tasks of billing. Thin: each calls one service.

`billing.razorpay_refund_submit` runs in the refund's clinic schema (tenant-schemas-celery carries
it) and is safe to run twice (see `billing.payment_links.razorpay_refund_submit`)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from billing import payment_links
from docos.celery import app
from docos.webhooks import VendorError


@app.task(
    name="billing.razorpay_refund_submit",
    queue="default",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, VendorError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=12,
)
def razorpay_refund_submit_task(refund_id: str) -> str:
    return payment_links.razorpay_refund_submit(refund_id=refund_id)


@app.task(
    name="billing.payment_links_close",
    queue="default",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, VendorError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=12,
)
def payment_links_close_task(invoice_id: str) -> int:
    return payment_links.payment_links_close_for_invoice(invoice_id=invoice_id)
