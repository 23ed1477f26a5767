"""Billing API routes, mounted at /api/v1/ (see docos/urls_api.py)."""

from django.urls import URLPattern, URLResolver, path

from billing import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("invoices", api.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/<uuid:id>", api.InvoiceDetailView.as_view(), name="api-invoice-detail"),
    path("invoices/<uuid:id>/issue", api.InvoiceIssueView.as_view(), name="api-invoice-issue"),
    path("invoices/<uuid:id>/payments", api.InvoicePaymentsView.as_view(), name="api-invoice-payments"),
    path("invoices/<uuid:id>/credit-notes", api.InvoiceCreditNotesView.as_view(), name="api-invoice-credit-notes"),
    path("invoices/<uuid:id>/pdf", api.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    path("payments", api.PaymentListView.as_view(), name="api-payments"),
    path("payments/<uuid:id>/refund", api.PaymentRefundView.as_view(), name="api-payment-refund"),
    path("price-items", api.PriceItemListView.as_view(), name="api-price-items"),
]
