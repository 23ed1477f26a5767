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
