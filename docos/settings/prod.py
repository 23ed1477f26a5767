"""Production: everything secret comes from the environment, and nothing has a development default.

Required: DJANGO_SECRET_KEY, DOCOS_ENCRYPTION_KEYS, DATABASE_URL, REDIS_URL (a missing one stops
start-up with ImproperlyConfigured). Behind the TLS proxy also set DOCOS_TRUSTED_PROXIES (its
addresses or CIDR ranges), or every client looks like the proxy (docos.W001 says so).
`manage.py check --deploy` must report no issues.
"""

from docos.static import add_headers as add_static_headers

from .base import *  # noqa: F403
from .base import env

DEBUG = False
DOCOS_PRODUCTION = True  # docos.checks: refuse the committed dev/test keys and secret key
SECRET_KEY = env("DJANGO_SECRET_KEY")
DOCOS_ENCRYPTION_KEYS = env("DOCOS_ENCRYPTION_KEYS")
# base.py falls back to local servers for development; production must name its own.
env.str("DATABASE_URL")
env.str("REDIS_URL")

# Static files: `manage.py collectstatic` on deploy writes them with hashed names and gzip copies, and
# WhiteNoise serves them (before the tenant is looked up) compressed and cached for a year (docos/static.py).
STORAGES = {**STORAGES, "staticfiles": DOCOS_COMPRESSED_STATICFILES}  # noqa: F405
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index("clinics.middleware.ClinicTenantMiddleware")],  # noqa: F405
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index("clinics.middleware.ClinicTenantMiddleware") :],  # noqa: F405
]
WHITENOISE_ADD_HEADERS_FUNCTION = add_static_headers

DOCOS_PUBLIC_URL_SCHEME = "https"
DOCOS_PUBLIC_PORT = env("DOCOS_PUBLIC_PORT", default="")

# --- HTTPS behind the TLS proxy ------------------------------------------------------------------
# The proxy must set X-Forwarded-Proto and append the client's address to X-Forwarded-For;
# docos.middleware.ClientIPMiddleware reads the latter only from DOCOS_TRUSTED_PROXIES (base.py).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 63072000  # two years
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- cookies -------------------------------------------------------------------------------------
# Sessions are per clinic host; "__Host-" makes browsers refuse the cookie unless it is Secure,
# host-only and path "/", so a sibling subdomain cannot plant or overwrite it.
SESSION_COOKIE_NAME = "__Host-docos_session"
SESSION_COOKIE_SECURE = True
DOCOS_DEVICE_COOKIE_NAME = "__Host-docos_device"  # accounts.login: trusted devices
DOCOS_DEVICE_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The CSRF cookie stays readable by static/js/docos.js (it sends X-CSRFToken on fetch calls);
# Django's docs note HttpOnly on it adds no protection.

# --- observability -------------------------------------------------------------------------------
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env("SENTRY_RELEASE", default="") or None
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# Errors go to Sentry and the JSON log, never by e-mail (Django's mail would carry request data).
ADMINS: list[tuple[str, str]] = []
