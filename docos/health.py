from django.db import connection
from django_redis import get_redis_connection


def readiness() -> dict[str, bool]:
    return {"postgres": _postgres_ok(), "redis": _redis_ok()}


def _postgres_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis_ok() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except Exception:
        return False
