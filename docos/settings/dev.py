from docos.devkeys import DEV_ENCRYPTION_KEYS

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# A fixed development key ring so `make run` works out of the box. Never used in production:
# prod.py requires DOCOS_ENCRYPTION_KEYS and the system check rejects this key there.
DOCOS_ENCRYPTION_KEYS = env("DOCOS_ENCRYPTION_KEYS", default=DEV_ENCRYPTION_KEYS)
DOCOS_PUBLIC_PORT = env("DOCOS_PUBLIC_PORT", default="8000")
