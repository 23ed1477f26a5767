"""Structured JSON log lines. Messages must never carry PHI: log ids and codes, not names or bodies.

The formatter is the last line of defence: the request object (and with it the body, cookies and
headers) is never serialised, exception messages are left out (they quote values: a database
error's DETAIL names the duplicate phone number), and `extra=` values that are not plain scalars
are reduced to their type name. The stack of an exception is kept as file:line:function entries.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# Keys whose values are objects that hold PHI or credentials; never logged in any form.
_NEVER_LOGGED = frozenset({"request", "user", "response", "body", "data", "POST", "GET", "headers", "cookies"})
_MAX_FRAMES = 30
# Django's request and server loggers quote the path. Some paths carry a secret (share links, payment
# verification codes, webhook route keys): a long path segment that is not a UUID is masked.
_PATH_LOGGERS = frozenset({"django.request", "django.server"})
_SECRET_SEGMENT = re.compile(
    r"(?<=/)(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:/|$|\?))[A-Za-z0-9_~.-]{16,}"
)


def mask_path_secrets(text: str) -> str:
    return _SECRET_SEGMENT.sub("…", text)


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return f"<{type(value).__name__}>"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name in _PATH_LOGGERS:
            payload["message"] = mask_path_secrets(payload["message"])
        # Only explicit `extra=` keys are added; the request object is never serialised.
        for key, value in vars(record).items():
            if key in _RESERVED or key in _NEVER_LOGGED or key.startswith("_"):
                continue
            payload[key] = _safe_value(value)
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _exc, tb = record.exc_info
            payload["exception"] = exc_type.__name__
            payload["exception_module"] = exc_type.__module__
            frames = traceback.extract_tb(tb)[-_MAX_FRAMES:]
            payload["stack"] = [f"{frame.filename}:{frame.lineno}:{frame.name}" for frame in frames]
        return json.dumps(payload)
