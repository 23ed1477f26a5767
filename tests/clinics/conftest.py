from tests.clinics.subscription_helpers import platform  # noqa: F401  (the fake Razorpay's platform account)
