"""Billing pages, mounted at the clinic site's root (see docos/urls_tenant.py)."""

from django.urls import URLPattern, URLResolver, path

from billing import settings_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("billing/", views.invoice_list, name="billing-invoice-list"),
    path("billing/price-list/", views.price_list, name="billing-price-list"),
    path("billing/price-list/new", views.price_item_new, name="billing-price-item-new"),
    path("billing/price-list/<uuid:item_id>/", settings_views.price_item_edit, name="billing-price-item"),
    path(
        "billing/price-list/<uuid:item_id>/locations/<uuid:location_id>",
        settings_views.location_price_save,
        name="billing-location-price",
    ),
    path("billing/numbering/", settings_views.numbering_list, name="billing-numbering"),
    path("billing/numbering/<uuid:location_id>", settings_views.numbering_save, name="billing-numbering-save"),
    path("billing/day-book/", views.day_book, name="billing-day-book"),
    path("billing/outstanding/", views.outstanding, name="billing-outstanding"),
    path("billing/gst-summary/", views.gst_summary, name="billing-gst-summary"),
    path("billing/invoices/<uuid:invoice_id>/", views.invoice_detail, name="billing-invoice-detail"),
    path("billing/invoices/<uuid:invoice_id>/lines", views.invoice_add_line, name="billing-invoice-add-line"),
    path(
        "billing/invoices/<uuid:invoice_id>/lines/remove", views.invoice_remove_line, name="billing-invoice-remove-line"
    ),
    path("billing/invoices/<uuid:invoice_id>/update", views.invoice_update, name="billing-invoice-update"),
    path("billing/invoices/<uuid:invoice_id>/issue", views.invoice_issue, name="billing-invoice-issue"),
    path("billing/invoices/<uuid:invoice_id>/discard", views.invoice_discard, name="billing-invoice-discard"),
    path("billing/invoices/<uuid:invoice_id>/pay", views.invoice_pay, name="billing-invoice-pay"),
    path("billing/invoices/<uuid:invoice_id>/credit-note", views.credit_note_new, name="billing-credit-note-new"),
    path("billing/invoices/<uuid:invoice_id>/pdf", views.invoice_pdf, name="billing-invoice-pdf"),
    path("billing/invoices/<uuid:invoice_id>/whatsapp", views.invoice_send_whatsapp, name="billing-invoice-whatsapp"),
    path("billing/invoices/<uuid:invoice_id>/payment-link", views.payment_link_new, name="billing-payment-link-new"),
    path("billing/payment-links/<uuid:link_id>/cancel", views.payment_link_cancel, name="billing-payment-link-cancel"),
    path("billing/payment-links/<uuid:link_id>/send", views.payment_link_send, name="billing-payment-link-send"),
    path("billing/payments/<uuid:payment_id>/receipt", views.receipt_pdf, name="billing-receipt-pdf"),
    path("billing/payments/<uuid:payment_id>/whatsapp", views.receipt_send_whatsapp, name="billing-receipt-whatsapp"),
    path("billing/payments/<uuid:payment_id>/refund", views.payment_refund, name="billing-payment-refund"),
    path("billing/credit-notes/<uuid:credit_note_id>/pdf", views.credit_note_pdf, name="billing-credit-note-pdf"),
    path(
        "billing/credit-notes/<uuid:credit_note_id>/whatsapp",
        views.credit_note_send_whatsapp,
        name="billing-credit-note-whatsapp",
    ),
    path("patients/<uuid:patient_id>/invoices/new", views.invoice_new, name="billing-invoice-new"),
    path("patients/<uuid:patient_id>/deposit", views.patient_deposit, name="billing-patient-deposit"),
    path("billing/bill-visit/<uuid:visit_id>", views.invoice_from_visit, name="billing-invoice-from-visit"),
]
