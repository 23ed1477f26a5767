"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path
from urllib.parse import unquote

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
DOCOS_BASE_DOMAIN = env("DOCOS_BASE_DOMAIN", default="localhost")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[DOCOS_BASE_DOMAIN, f".{DOCOS_BASE_DOMAIN}"])
DOCOS_PUBLIC_URL_SCHEME = env("DOCOS_PUBLIC_URL_SCHEME", default="http")
DOCOS_PUBLIC_PORT = env("DOCOS_PUBLIC_PORT", default="")

# --- tenancy -----------------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "clinics",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "audit",
    "accounts",
    "docos",  # the shared kernel: system checks, encryption_rotate, Sentry start-up
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "audit",
    "accounts",
    "patients",
    "documents",
    "clinical",
    "appointments",
    "messaging",
    "billing",
    "imaging",
    "privacy",
]
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "clinics.Clinic"
TENANT_DOMAIN_MODEL = "clinics.Domain"
PUBLIC_SCHEMA_URLCONF = "docos.urls_public"
ROOT_URLCONF = "docos.urls_tenant"
# New clinics are cloned from a migrated template schema instead of running every migration.
TENANT_BASE_SCHEMA = "clinic_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("DOCOS_MIGRATION_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = 8
GET_EXECUTOR_FUNCTION = "clinics.migrations_executor.get_executor"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# `SET search_path` once per tenant activation (each request, task and tenant_context sets the
# tenant, which clears it), not before every cursor: one round trip per query saved. Safe because
# the installed django-tenants clears it on close, rollback and savepoint rollback (a rolled-back
# SET is undone by PostgreSQL) and we run no transaction-mode pooler (a pooled session would not
# keep it). tests/clinics/test_search_path_once.py holds it to that.
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/docos")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
# A Unix-socket directory may arrive percent-encoded in the URL host (the embedded PostgreSQL does this).
DATABASES["default"]["HOST"] = unquote(str(DATABASES["default"].get("HOST", "")))
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
    }
}

MIDDLEWARE = [
    "docos.middleware.ClientIPMiddleware",  # first: everything below reads the client's address
    "docos.middleware.HealthCheckMiddleware",
    "clinics.middleware.ClinicTenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "docos.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "docos.i18n.LanguageMiddleware",  # the user's language, else the clinic's (needs the user and the tenant)
    "docos.middleware.NoStoreMiddleware",  # patient data stays out of caches (responses to signed-in staff)
    "accounts.middleware.SessionPolicyMiddleware",
    "clinics.middleware.ClinicStatusMiddleware",
    "clinics.middleware.SubscriptionAccessMiddleware",  # DocOS dunning: read-only, then suspended
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.capabilities",
            ],
        },
    }
]
WSGI_APPLICATION = "docos.wsgi.application"

# --- auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_URL_PATH = LOGIN_URL
LOGIN_REDIRECT_URL = "/"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute lifetime; idle timeout is enforced per clinic
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_SAMESITE = "Lax"
DOCOS_IDLE_TIMEOUT_DEFAULT_MINUTES = 15
DOCOS_SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
DOCOS_LOGIN_CODE_TTL_SECONDS = 10 * 60
DOCOS_LOGIN_CODE_MAX_ATTEMPTS = 5
DOCOS_LOCKOUT_FAILURES = 10
DOCOS_LOCKOUT_WINDOW_SECONDS = 15 * 60
DOCOS_IP_FAILURE_LIMIT = 50  # failed sign-ins per client address per clinic per window
DOCOS_IP_FAILURE_LIMIT_GLOBAL = 200  # ... and across all clinics (a ceiling for one address)
DOCOS_LOGIN_CODE_FAILURE_LIMIT = 10  # wrong emailed codes per account per window, whatever the code or purpose
DOCOS_LOGIN_CODE_FAILURE_WINDOW_SECONDS = 60 * 60
# Device cookies (accounts.login): browsers where a user signed in before are trusted devices of that
# user; the per-address and per-account lockouts above do not apply to them, only their own limit.
DOCOS_DEVICE_COOKIE_NAME = "docos_device"
DOCOS_DEVICE_COOKIE_SECURE = False
DOCOS_DEVICE_COOKIE_AGE_SECONDS = 365 * 24 * 60 * 60
DOCOS_DEVICE_COOKIE_MAX_ACCOUNTS = 10  # users remembered by one browser (a shared front-desk PC)
DOCOS_DEVICE_FAILURE_LIMIT = 10  # failed sign-ins on one trusted device per lockout window lock that device

# --- client addresses behind proxies -------------------------------------------------------------
# The reverse proxies / load balancers in front of the app (IPs or CIDRs). Only when a request
# comes from one of them is X-Forwarded-For read (its right-most untrusted entry is the client).
# Empty: trust no proxy and use the TCP peer address. See docos.middleware.ClientIPMiddleware.
DOCOS_TRUSTED_PROXIES = env.list("DOCOS_TRUSTED_PROXIES", default=[])

# --- encryption ----------------------------------------------------------------------------------
# "kid:base64key,kid2:base64key2"; the first key is primary. Required outside dev/test.
DOCOS_ENCRYPTION_KEYS = env("DOCOS_ENCRYPTION_KEYS", default="")

# --- email ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="DocOS <no-reply@docos.local>")

# --- celery --------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Kolkata"  # crontab entries below are India times
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Appointment and follow-up reminders: one scan task per active clinic, every minute.
    "appointments-reminders": {
        "task": "appointments.reminders_beat",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # Vendor webhook events stored but never processed (their enqueue was lost): enqueue again.
    "docos-webhook-sweep": {
        "task": "docos.webhook_sweep",
        "schedule": 60.0,
        "options": {"queue": "maintenance", "expires": 55},
    },
    # WhatsApp outbox: messages left queued (lost enqueue) or stuck sending (a worker died).
    "messaging-outbox-sweep": {
        "task": "messaging.outbox_sweep",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # Imaging uploads: re-queue processing whose enqueue was lost, abandon uploads never finished.
    "imaging-upload-sweep": {
        "task": "imaging.sweep",
        "schedule": 300.0,
        "options": {"queue": "maintenance", "expires": 240},
    },
    # DocOS subscriptions: clinics whose grace period or read-only time has run out move on.
    "clinics-subscription-dunning": {
        "task": "clinics.subscription_dunning",
        "schedule": 300.0,
        "options": {"queue": "maintenance", "expires": 290},
    },
    # Raw vendor webhook bodies (public schema, PHI) older than WEBHOOK_EVENT_RETENTION_DAYS: deleted.
    "docos-webhook-purge": {
        "task": "docos.webhook_purge",
        "schedule": crontab(hour=3, minute=15),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    # Retention (audit.retention): every clinic's purge run, nightly at 02:30 in India.
    "audit-retention-nightly": {
        "task": "clinics.retention_beat",
        "schedule": crontab(hour=2, minute=30),
        "options": {"queue": "maintenance", "expires": 3600},
    },
    # Clinic off-boarding (clinics.offboarding): expire old exports, delete clinics whose cooling-off is over.
    "clinics-offboarding-due": {
        "task": "clinics.offboarding_due",
        "schedule": crontab(minute=15),
        "options": {"queue": "maintenance", "expires": 3000},
    },
}
# Clinic off-boarding: days from the request to the deletion (cancellable until then), and days
# the export may be downloaded.
CLINIC_OFFBOARDING_COOLING_OFF_DAYS = max(1, env.int("CLINIC_OFFBOARDING_COOLING_OFF_DAYS", default=30))
CLINIC_OFFBOARDING_ARCHIVE_DAYS = max(1, env.int("CLINIC_OFFBOARDING_ARCHIVE_DAYS", default=7))
# Retention periods (days), the legal minimums: the audit and access logs one year (DPDP Rules 2025,
# rule 8(3)); WhatsApp message texts and media 90 days (metadata kept; conversations flagged
# "retain" are skipped). Rows are purged RETENTION_BATCH_SIZE per transaction.
RETENTION_AUDIT_DAYS = max(365, env.int("RETENTION_AUDIT_DAYS", default=365))
RETENTION_WHATSAPP_BODY_DAYS = max(90, env.int("RETENTION_WHATSAPP_BODY_DAYS", default=90))
# Clinical records: 10 years after the last encounter (minors: until 10 years after they turn 18,
# whichever is later); billing records: 8 years after their financial year ends. Clinics may only
# lengthen these (privacy settings); patients under legal hold are never purged.
RETENTION_CLINICAL_YEARS = max(10, env.int("RETENTION_CLINICAL_YEARS", default=10))
RETENTION_BILLING_YEARS = max(8, env.int("RETENTION_BILLING_YEARS", default=8))
# Raw vendor webhook events (docos.WebhookEvent, public schema: message texts, phone numbers, payers'
# names) are needed only to refuse replays while vendors retry (Meta up to 7 days, Razorpay 24 hours):
# handled ones are deleted after this many days (8 to 30), so neither the 90-day WhatsApp text rule
# nor a patient's erasure is outlived by a copy of the raw body.
WEBHOOK_EVENT_RETENTION_DAYS = min(30, max(8, env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=14)))
# The public privacy pages (clinics.public_views): where patients, clinics and security researchers
# write to DocOS itself; security.txt (RFC 9116) names the security address.
DOCOS_PRIVACY_EMAIL = env("DOCOS_PRIVACY_EMAIL", default=f"privacy@{DOCOS_BASE_DOMAIN}")
DOCOS_SECURITY_EMAIL = env("DOCOS_SECURITY_EMAIL", default=f"security@{DOCOS_BASE_DOMAIN}")
# Access and portability exports: the download link works this many days.
PRIVACY_EXPORT_LINK_DAYS = env.int("PRIVACY_EXPORT_LINK_DAYS", default=7)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=5000)
# A batch that holds its locks longer than this halves the next one (down to 100 rows); one under half
# of it doubles the next (up to RETENTION_BATCH_SIZE): batches stay well under a second on a busy server.
RETENTION_BATCH_TARGET_MS = env.int("RETENTION_BATCH_TARGET_MS", default=400)

# --- Razorpay payment links (billing/razorpay.py) -----------------------------------------------
# Off until switched on; a system check (billing.E001) names what is wrong when on. Each clinic
# connects its own Razorpay account (key id, key secret, webhook secret) in Settings -> Razorpay;
# the platform only chooses where the API is (the fake in tests and the demo, Razorpay in production).
RAZORPAY_ENABLED = env.bool("RAZORPAY_ENABLED", default=False)
RAZORPAY_BASE_URL = env("RAZORPAY_BASE_URL", default="https://api.razorpay.com")
RAZORPAY_TIMEOUT_SECONDS = env.float("RAZORPAY_TIMEOUT_SECONDS", default=15.0)
RAZORPAY_LINK_EXPIRY_DAYS = env.int("RAZORPAY_LINK_EXPIRY_DAYS", default=7)

# --- DocOS subscriptions (clinics/subscriptions.py): the PLATFORM's own Razorpay account ---------
# Clinics pay DocOS through DocOS's Razorpay account (not their own): its key id/secret and the
# webhook secret of /webhooks/razorpay/platform/. Dunning: a failing payment gives a grace period,
# then the clinic is read-only, then suspended (only the subscription page) until it pays.
RAZORPAY_PLATFORM_KEY_ID = env("RAZORPAY_PLATFORM_KEY_ID", default="")
RAZORPAY_PLATFORM_KEY_SECRET = env("RAZORPAY_PLATFORM_KEY_SECRET", default="")
RAZORPAY_PLATFORM_WEBHOOK_SECRET = env("RAZORPAY_PLATFORM_WEBHOOK_SECRET", default="")
SUBSCRIPTION_GRACE_DAYS = env.int("SUBSCRIPTION_GRACE_DAYS", default=7)
SUBSCRIPTION_READ_ONLY_DAYS = env.int("SUBSCRIPTION_READ_ONLY_DAYS", default=14)
# DocOS's own details on its invoices to clinics (clinics.platform_invoices): B2B GST tax invoices.
DOCOS_LEGAL_NAME = env("DOCOS_LEGAL_NAME", default="DocOS Health Technologies Private Limited")
DOCOS_GSTIN = env("DOCOS_GSTIN", default="29AAJCD4321F1Z3")
DOCOS_ADDRESS = env("DOCOS_ADDRESS", default="3rd Floor, 100 Feet Road, Indiranagar, Bengaluru 560038")
DOCOS_STATE = env("DOCOS_STATE", default="Karnataka")
DOCOS_SAC = env("DOCOS_SAC", default="998315")  # IT infrastructure provisioning / hosting (SaaS)
DOCOS_GST_RATE = env("DOCOS_GST_RATE", default="18")  # per cent
SUBSCRIPTION_TOTAL_COUNT = {"monthly": 120, "yearly": 10}  # charges Razorpay makes before completing

# --- WhatsApp Cloud API (messaging/whatsapp.py) --------------------------------------------------
# Off until switched on; a system check (messaging.E001) names what is missing when on. Each clinic
# connects its own number (WABA id, phone number id, access token) in Settings -> WhatsApp; the app
# secret (webhook signatures) and the verify token (webhook handshake) belong to the platform's Meta app.
WHATSAPP_ENABLED = env.bool("WHATSAPP_ENABLED", default=False)
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default="")
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default="")
WHATSAPP_GRAPH_BASE_URL = env("WHATSAPP_GRAPH_BASE_URL", default="https://graph.facebook.com")
WHATSAPP_GRAPH_VERSION = env("WHATSAPP_GRAPH_VERSION", default="v27.0")
WHATSAPP_TIMEOUT_SECONDS = env.float("WHATSAPP_TIMEOUT_SECONDS", default=10.0)
WHATSAPP_MAX_ATTEMPTS = env.int("WHATSAPP_MAX_ATTEMPTS", default=8)  # per outbound message, retryable errors
WHATSAPP_RETRY_BASE_SECONDS = env.float("WHATSAPP_RETRY_BASE_SECONDS", default=5.0)
WHATSAPP_RETRY_MAX_SECONDS = env.float("WHATSAPP_RETRY_MAX_SECONDS", default=15 * 60.0)
# A message queued this long without being dispatched is re-enqueued by the sweeper; one found
# `sending` this long (its worker died mid-call) is marked failed, never resent (at most once).
WHATSAPP_QUEUED_STALE_SECONDS = env.int("WHATSAPP_QUEUED_STALE_SECONDS", default=120)
WHATSAPP_SENDING_STALE_SECONDS = env.int("WHATSAPP_SENDING_STALE_SECONDS", default=300)
# A queued message older than this is not sent any more (a reminder hours late does harm).
WHATSAPP_MAX_QUEUE_AGE_SECONDS = env.int("WHATSAPP_MAX_QUEUE_AGE_SECONDS", default=6 * 3600)
# Inbound media (photos of reports, documents, voice notes): Meta's largest media is a 100 MB document.
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=100 * 1024 * 1024)
WHATSAPP_MEDIA_MAX_ATTEMPTS = env.int("WHATSAPP_MEDIA_MAX_ATTEMPTS", default=6)
# Outbound pacing: Meta's documented default throughput is 80 messages per second per business phone
# number; a Redis token bucket shared by every worker keeps sends at or under it.
WHATSAPP_MESSAGES_PER_SECOND = env.float("WHATSAPP_MESSAGES_PER_SECOND", default=80.0)
# Meta's pair rate: about one message every 6 seconds from a business number to the same user (more
# answers error 131056). 0 turns the spacing off.
WHATSAPP_PAIR_INTERVAL_SECONDS = env.float("WHATSAPP_PAIR_INTERVAL_SECONDS", default=6.0)

# --- API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["docos.permissions.HasRequiredCapability"],
    # JSON only: the browsable API needs inline scripts (blocked by the CSP) and would answer browsers
    # with HTML errors. People explore the API at /api/v1/docs/.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON whatever the Accept header or `?format=` say (no 406, no 404 for an unknown format).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "docos.api_negotiation.JsonAlwaysNegotiation",
    # Bodies are JSON (anything else: 415; the document upload declares multipart itself), parsed by a
    # parser that answers 400 (not 500) to deeply nested bodies.
    "DEFAULT_PARSER_CLASSES": ["docos.api_parsers.BoundedJSONParser"],
    # Documents every error status an operation can answer (see docos/api_schema.py).
    "DEFAULT_SCHEMA_CLASS": "docos.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "docos.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "docos.api_pagination.ApiPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
DOCOS_API_MAX_JSON_DEPTH = 32  # levels of nested objects/lists in a JSON body; deeper is a 400
SPECTACULAR_SETTINGS = {
    "TITLE": "DocOS API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Enum components as usual, then OpenAPI links from create operations (docos/api_schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "docos.api_schema.add_links"],
    # Swagger UI and Redoc from our own static files (the CSP allows only 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "/static/img/favicon.svg",  # ours (static/img), as on every page
    # No deep links: Swagger UI draws them as links inside each operation's toggle button (axe:
    # nested-interactive) and as 14 px targets (target-size); static/css/api_docs.css fixes its colours.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
    # Several resources have a "status"; name each enum after its owner so the schema stays stable.
    "ENUM_NAME_OVERRIDES": {
        "StaffStatusEnum": "accounts.selectors.STAFF_STATUSES",
        "VisitStatusEnum": "clinical.models.Visit.Status",
        "PrescriptionStatusEnum": "clinical.models.Prescription.Status",
        "ClinicStatusEnum": "clinics.models.Clinic.Status",
        "AppointmentStatusEnum": "appointments.models.Appointment.Status",
        "AppointmentSourceEnum": "appointments.models.Appointment.Source",
        "AppointmentCancelReasonEnum": "appointments.api.CANCEL_REASONS",
        "ConsentKindEnum": "documents.models.ConsentTemplate.Kind",
        "CertificateKindEnum": "documents.models.CertificateTemplate.Kind",
        "InvoiceStatusEnum": "billing.models.Invoice.Status",
        "InvoiceKindEnum": "billing.models.Invoice.Kind",
        "PriceItemKindEnum": "billing.models.PriceItem.Kind",
        "PaymentKindEnum": "billing.models.Payment.Kind",
        "PaymentModeEnum": "billing.models.Payment.Mode",
    },
}

# --- static, i18n --------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
MEDIA_ROOT = BASE_DIR / "var" / "files"
# Clinic files are encrypted by docos.storage before they reach this backend: a local folder by
# default, or any S3-compatible bucket (Cloudflare R2 in production) when DOCOS_S3_BUCKET is set.
DOCOS_S3_BUCKET = env("DOCOS_S3_BUCKET", default="")
_clinic_files: dict[str, object] = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DOCOS_S3_BUCKET,
            "endpoint_url": env("DOCOS_S3_ENDPOINT_URL", default="") or None,
            "access_key": env("DOCOS_S3_ACCESS_KEY_ID", default=""),
            "secret_key": env("DOCOS_S3_SECRET_ACCESS_KEY", default=""),
            "region_name": env("DOCOS_S3_REGION", default="auto"),
            "file_overwrite": False,
            "default_acl": None,
        },
    }
    if DOCOS_S3_BUCKET
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "clinic-files"},
    }
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "clinic_files": _clinic_files,
}
# Production (prod.py) serves static files collected by `manage.py collectstatic` with content-hashed
# names and gzip copies next to them (the API docs' Swagger UI is 2.0 MB, 0.54 MB gzipped), served by
# WhiteNoise with a year's caching. Development and tests serve the source folders as they are.
DOCOS_COMPRESSED_STATICFILES = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
DOCOS_UPLOAD_MAX_BYTES = env.int("DOCOS_UPLOAD_MAX_BYTES", default=25 * 1024 * 1024)
LANGUAGE_CODE = "en-in"


def _languages() -> list[tuple[str, str]]:
    """English, then every language with a catalogue in locale/ (locale/<code>/LC_MESSAGES/django.po),
    named in its own script from Django's LANG_INFO. Adding Tamil is `makemessages -l ta`, translating
    and compiling: no code or migration (users' and clinics' choices are validated against this list)."""
    from django.conf.locale import LANG_INFO

    found = sorted(p.parent.parent.name for p in (BASE_DIR / "locale").glob("*/LC_MESSAGES/django.po"))
    codes = [code.replace("_", "-").lower() for code in found]
    return [("en-in", "English")] + [(c, str(LANG_INFO.get(c, {}).get("name_local", c))) for c in codes if c != "en-in"]


LANGUAGES = _languages()
LOCALE_PATHS = [BASE_DIR / "locale"]
# Day-first dates in every form and page (04/12/2026 is 4 December); see docos/formats.
FORMAT_MODULE_PATH = ["docos.formats"]
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

# --- imaging: DICOMweb --------------------------------------------------------------------------
# Browser viewers on other origins (e.g. an OHIF deployment) that may call /dicomweb/ with a token.
DICOMWEB_CORS_ORIGINS = env.list("DICOMWEB_CORS_ORIGINS", default=[])

# --- security headers ----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# --- observability -------------------------------------------------------------------------------
SENTRY_DSN = env("SENTRY_DSN", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "docos.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's request logger would print request lines and bodies of failures; ours logs without PHI.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
SILENCED_SYSTEM_CHECKS = ["auth.W004"]  # email uniqueness is a case-insensitive constraint (Lower(email))
