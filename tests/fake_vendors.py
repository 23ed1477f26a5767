"""Local fakes of outside vendors, started once per test session (real HTTP on loopback).

`fake_graph` is messaging.fake_graph's WhatsApp Cloud API. The Celery worker fixture starts after
it and gets its URL (WHATSAPP_GRAPH_BASE_URL), so tasks in the worker talk to the same server the
test inspects. In-process code reaches it through the `whatsapp_graph` fixture (tests/messaging)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from billing.fake_razorpay import FakeRazorpayServer
from messaging.fake_graph import FakeGraphServer


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraphServer]:
    server = FakeGraphServer().start()
    previous = os.environ.get("WHATSAPP_GRAPH_BASE_URL")
    os.environ["WHATSAPP_GRAPH_BASE_URL"] = server.base_url  # for the worker subprocess
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("WHATSAPP_GRAPH_BASE_URL", None)
        else:
            os.environ["WHATSAPP_GRAPH_BASE_URL"] = previous


@pytest.fixture(scope="session")
def fake_razorpay() -> Iterator[FakeRazorpayServer]:
    """billing.fake_razorpay's Razorpay API (tests/billing points RAZORPAY_BASE_URL at it)."""
    server = FakeRazorpayServer().start()
    try:
        yield server
    finally:
        server.stop()
