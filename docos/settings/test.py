from docos.devkeys import TEST_ENCRYPTION_KEYS

from .base import *  # noqa: F403
from .base import env

DOCOS_ENCRYPTION_KEYS = env("DOCOS_ENCRYPTION_KEYS", default=TEST_ENCRYPTION_KEYS)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.Argon2PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DOCOS_BASE_DOMAIN = "testserver.local"
ALLOWED_HOSTS = ["*"]
CELERY_TASK_ALWAYS_EAGER = False
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405
# WhatsApp on, against the fake Graph API the tests start (messaging.fake_graph); see tests/messaging.
WHATSAPP_ENABLED = env.bool("WHATSAPP_ENABLED", default=True)
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default="test-app-secret")
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default="test-verify-token")
WHATSAPP_GRAPH_BASE_URL = env("WHATSAPP_GRAPH_BASE_URL", default="http://127.0.0.1:9")  # nothing listens
WHATSAPP_TIMEOUT_SECONDS = 5.0
# Tests send to a few fixed numbers many times a second; the pair spacing has its own tests
# (tests/messaging/test_pacing.py), which turn it on.
WHATSAPP_PAIR_INTERVAL_SECONDS = env.float("WHATSAPP_PAIR_INTERVAL_SECONDS", default=0.0)
WHATSAPP_RETRY_BASE_SECONDS = env.float("WHATSAPP_RETRY_BASE_SECONDS", default=0.2)
WHATSAPP_RETRY_MAX_SECONDS = env.float("WHATSAPP_RETRY_MAX_SECONDS", default=1.0)
# Razorpay on, against the fake the tests start (billing.fake_razorpay); see tests/billing.
RAZORPAY_ENABLED = env.bool("RAZORPAY_ENABLED", default=True)
RAZORPAY_BASE_URL = env("RAZORPAY_BASE_URL", default="http://127.0.0.1:9")  # nothing listens
RAZORPAY_TIMEOUT_SECONDS = 5.0
# DocOS subscriptions: the platform account's webhook secret (tests/clinics/test_subscriptions*.py).
RAZORPAY_PLATFORM_WEBHOOK_SECRET = env("RAZORPAY_PLATFORM_WEBHOOK_SECRET", default="test-platform-webhook-secret")
RAZORPAY_PLATFORM_KEY_ID = env("RAZORPAY_PLATFORM_KEY_ID", default="rzp_test_DocOSPlatform01")
RAZORPAY_PLATFORM_KEY_SECRET = env("RAZORPAY_PLATFORM_KEY_SECRET", default="docos-platform-key-secret")
