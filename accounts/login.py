"""Staff sign-in, sessions, passwords and TOTP on clinic hosts. Views (accounts/auth_views.py) stay thin.

Sign-in is two steps: an email, then either the password or a 6-digit code emailed to that
address. Step two looks the same whether or not the email belongs to an account; a code is only
sent to real accounts, and wrong-code answers for unknown emails are mirrored in Redis so the
replies cannot tell the two apart. A confirmed TOTP is asked for after the first factor.

Throttling (Redis, raw keys under `docos:auth:`). Every check of a secret (password, emailed code,
TOTP) first *reserves* an attempt: one Lua script increments all its counters at once and the check
is refused, unevaluated, when any is over its limit. So parallel requests cannot all slip past the
limit before the first failure is counted. A success gives its reservation back; a failure keeps it.
- per account (schema + email): `DOCOS_LOCKOUT_FAILURES` failures within
  `DOCOS_LOCKOUT_WINDOW_SECONDS` lock the account until now + window (`User.locked_until`, or a
  Redis lock for emails without an account, so a lockout does not reveal that an account exists).
  The counter is not reset by the lock, only by a completed sign-in, an unlock or a new password.
  The real user can lift the lock with a code emailed to them (`LoginCode` purpose "unlock"); the
  unlock code does not sign them in, they then sign in as usual.
- wrong emailed codes per account, whatever the code or its purpose: `DOCOS_LOGIN_CODE_FAILURE_LIMIT`
  within `DOCOS_LOGIN_CODE_FAILURE_WINDOW_SECONDS`. Asking for a new code does not reset it (each
  code also dies after `DOCOS_LOGIN_CODE_MAX_ATTEMPTS` wrong tries).
- per client address (see docos.middleware.ClientIPMiddleware): `DOCOS_IP_FAILURE_LIMIT` failures
  within the window per clinic, and `DOCOS_IP_FAILURE_LIMIT_GLOBAL` across clinics, block that
  address until the window ends.

Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies"). The limits above
are for *untrusted* clients, and anyone who knows an email (or shares the clinic's address) can
trip them. A completed sign-in leaves a long-lived device cookie in the browser: signed (HMAC-SHA256
keyed by SECRET_KEY, salted), naming the user (a keyed hash of schema + id, not the id) and a
random nonce; one cookie holds up to `DOCOS_DEVICE_COOKIE_MAX_ACCOUNTS` users of a shared PC. A
request that presents a valid entry for the account it signs in to is on a *trusted device*: the
per-address and per-account counters and the account's lock do not apply to it; instead its
failures count on that device only (`DOCOS_DEVICE_FAILURE_LIMIT` in the window lock that device,
unlockable by an emailed code like an account; wrong codes count on a per-device budget). So an
attacker's failures lock out untrusted clients, never the staff on the devices they signed in on.
The cookie proves nothing by itself: every factor is still checked.

Every failure, success, lockout, unlock and logout is audited (never with passwords or codes).

Emails (codes, reset links) are sent by Celery tasks (accounts.tasks) queued after the commit, so the
request costs about the same whether or not the address has an account.

Sessions: "sign out everywhere" bumps `User.session_epoch`, which is part of the session auth
hash, so every session of the user dies; the browser that asked stays signed in with a fresh
session key (`update_session_auth_hash`). Changing or setting a password does the same through
the password hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import smtplib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, cast
from zoneinfo import ZoneInfo

import pyotp
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponseBase
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext, gettext_noop
from django_redis import get_redis_connection

from accounts.middleware import SESSION_LAST_SEEN, SESSION_STARTED, idle_timeout_seconds
from accounts.models import LoginCode, User
from accounts.qr import qr_data_uri
from accounts.services import password_set_url, user_validate_password
from audit.context import client_ip
from audit.services import audit_record
from docos.capabilities import ADMINISTRATION_CAPABILITIES
from docos.i18n import validate_language
from docos.tenancy import clinic_url, current_schema, tenant_connection
from docos.throttle import address_bucket

logger = logging.getLogger(__name__)

BACKEND = "accounts.backends.EmailBackend"
KEY_PREFIX = "docos:auth"
CODE_SEND_LIMIT = 5  # emails (codes, reset links) per account per lockout window
PENDING_TTL_SECONDS = 5 * 60  # between the first factor and the TOTP step

# Session keys of the sign-in flow (removed once signed in).
SESSION_LOGIN_EMAIL = "docos_login_email"
SESSION_LOGIN_NEXT = "docos_login_next"
SESSION_PENDING = "docos_login_pending"

INVALID_PASSWORD = gettext_noop(
    "That email and password do not match. Try again, or sign in with a code sent to your email."
)
CODE_EXPIRED = gettext_noop("That code has expired or was already used. Ask for a new code.")
CODE_EXHAUSTED = gettext_noop("Too many wrong codes. Ask for a new code.")
CODE_BUDGET_SPENT = gettext_noop(
    "Too many wrong codes for this account. Try again in an hour, or set a new password from the sign-in page."
)
TOTP_INVALID = gettext_noop("That code is not right. Enter the current 6-digit code from your authenticator app.")
IP_BLOCKED = gettext_noop("Too many failed sign-in attempts from your network. Try again in a few minutes.")
SEND_LIMITED = gettext_noop(
    "We have already emailed several codes or links. Use the latest one, or try again in 15 minutes."
)
PENDING_EXPIRED = gettext_noop("Your sign-in took too long. Please start again.")


class AuthError(Exception):
    """A sign-in step failed. `message` is safe to show (in the request's language: the messages above
    are marked for translation and translated here); `locked_until` is set while locked out."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        message = gettext(message)
        super().__init__(message)
        self.message = message
        self.locked_until = locked_until

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    uri: str
    qr_data_uri: str


# --- helpers -----------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def _window() -> int:
    return int(settings.DOCOS_LOCKOUT_WINDOW_SECONDS)


def _redis() -> Any:
    return get_redis_connection("default")


_INCR_WITH_TTL = (
    "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"
)
# Increment every counter (each with its own fixed window that starts at its first event): one
# atomic step, so concurrent attempts get distinct counts.
_RESERVE = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  counts[i] = n
end
return counts
"""
# Give reservations back; a counter that has expired meanwhile is left alone (never negative).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


def _bump(key: str) -> int:
    """Count one event in a fixed window that starts with the first event (atomic, Redis >= 6)."""
    return int(_redis().eval(_INCR_WITH_TTL, 1, key, _window()))


def _account_id(email: str) -> str:
    return hashlib.sha256(f"{current_schema()}|{normalize_email(email)}".encode()).hexdigest()[:40]


def _failures_key(email: str) -> str:
    return f"{KEY_PREFIX}:fail:acct:{_account_id(email)}"


def _lock_key(email: str) -> str:
    return f"{KEY_PREFIX}:lock:{_account_id(email)}"


def _sends_key(email: str) -> str:
    return f"{KEY_PREFIX}:sends:{_account_id(email)}"


def _phantom_key(email: str, purpose: str) -> str:
    return f"{KEY_PREFIX}:phantom:{purpose}:{_account_id(email)}"


def _code_failures_key(email: str) -> str:
    return f"{KEY_PREFIX}:fail:codes:{_account_id(email)}"


def _ip_key(request: HttpRequest | None) -> str:
    """Failures from one client address at this clinic (a busy address elsewhere does not block it)."""
    return f"{KEY_PREFIX}:fail:ip:{current_schema()}:{address_bucket(client_ip(request))}"


def _ip_global_key(request: HttpRequest | None) -> str:
    # An IPv6 client holds a whole /64: counted as one, or it could take a fresh address per guess.
    return f"{KEY_PREFIX}:fail:ipall:{address_bucket(client_ip(request))}"


def _clinic() -> Any:
    return getattr(tenant_connection(), "tenant", None)


def _find_user(email: str) -> User | None:
    return User.objects.select_related("role").filter(email__iexact=normalize_email(email)).first()


def _code_hash(code_id: Any, code: str) -> str:
    return salted_hmac("accounts.LoginCode", f"{code_id}:{code}", algorithm="sha256").hexdigest()


def lockout_message(until: datetime) -> str:
    tz = ZoneInfo(getattr(_clinic(), "timezone", None) or settings.TIME_ZONE)
    local = timezone.localtime(until, tz)
    return gettext("Too many failed attempts; try again after %(time)s or unlock with a code sent to your email.") % {
        "time": f"{local:%H:%M}"
    }


def _ip_check(request: HttpRequest | None, device: str | None = None) -> None:
    """For steps that check no secret (sending a code or link): refuse a blocked address (not on a
    trusted device: the address's failures are not its own)."""
    if device is not None:
        return
    clinic_count, global_count = _redis().mget(_ip_key(request), _ip_global_key(request))
    if (
        int(clinic_count or 0) >= settings.DOCOS_IP_FAILURE_LIMIT
        or int(global_count or 0) >= settings.DOCOS_IP_FAILURE_LIMIT_GLOBAL
    ):
        raise AuthError(IP_BLOCKED)


def _locked_until(email: str, user: User | None) -> datetime | None:
    now = timezone.now()
    if user is not None:
        return user.locked_until if user.locked_until is not None and user.locked_until > now else None
    stamp = _redis().get(_lock_key(email))
    if stamp is None:
        return None
    until = datetime.fromtimestamp(float(stamp), tz=UTC)
    return until if until > now else None


def _raise_if_locked(email: str, user: User | None, device: str | None = None) -> None:
    """Refuse a locked account (untrusted clients) or, on a trusted device, a locked device."""
    until = _device_locked_until(device) if device is not None else _locked_until(email, user)
    if until is not None:
        raise AuthError(lockout_message(until), locked_until=until)


# --- device cookies ------------------------------------------------------------------------------------

DEVICE_SALT = "accounts.login.device-cookie"
_DEVICE_ATTR = "_docos_device_cookie"  # the cookie value to set on the response after a sign-in
_HEX = re.compile(r"[0-9a-f]{16,64}")


def _device_signer() -> signing.Signer:
    # HMAC-SHA256 keyed by SECRET_KEY (SECRET_KEY_FALLBACKS still verify while a key is rotated).
    return signing.Signer(salt=DEVICE_SALT, algorithm="sha256")


def _device_user_id(user: User) -> str:
    """Names the user in the cookie without showing their id (a keyed hash of clinic and id)."""
    return salted_hmac(DEVICE_SALT, f"{current_schema()}|{user.pk}", algorithm="sha256").hexdigest()[:24]


def _device_entries(request: HttpRequest | None) -> list[tuple[str, str]]:
    """(user hash, nonce) pairs of this browser's device cookie, newest first; [] unless validly signed."""
    raw = request.COOKIES.get(settings.DOCOS_DEVICE_COOKIE_NAME) if request is not None else None
    if not raw:
        return []
    try:
        value = _device_signer().unsign(raw)
    except signing.BadSignature:
        return []
    entries = []
    for part in value.split("-")[: int(settings.DOCOS_DEVICE_COOKIE_MAX_ACCOUNTS)]:
        user_id, _, nonce = part.partition(".")
        if _HEX.fullmatch(user_id) and _HEX.fullmatch(nonce):
            entries.append((user_id, nonce))
    return entries


def trusted_device(request: HttpRequest | None, user: User | None) -> str | None:
    """The nonce of the device cookie this request presents for `user`, or None (untrusted client)."""
    if user is None or not user.is_active:
        return None
    user_id = _device_user_id(user)
    return next((nonce for entry, nonce in _device_entries(request) if constant_time_compare(entry, user_id)), None)


def _device_failures_key(device: str) -> str:
    return f"{KEY_PREFIX}:fail:device:{device}"


def _device_code_failures_key(device: str) -> str:
    return f"{KEY_PREFIX}:fail:devcodes:{device}"


def _device_lock_key(device: str) -> str:
    return f"{KEY_PREFIX}:lock:device:{device}"


def _device_locked_until(device: str) -> datetime | None:
    stamp = _redis().get(_device_lock_key(device))
    if stamp is None:
        return None
    until = datetime.fromtimestamp(float(stamp), tz=UTC)
    return until if until > timezone.now() else None


def _device_clear(device: str) -> None:
    _redis().delete(_device_failures_key(device), _device_code_failures_key(device), _device_lock_key(device))


def _device_remember(request: HttpRequest, user: User) -> None:
    """After a completed sign-in: this browser becomes (or stays) a trusted device of `user`. The
    nonce is kept while the entry exists, so the device's counters follow it; the cookie is
    re-issued (a fresh lifetime), this user first, the oldest users of a shared PC dropped."""
    user_id = _device_user_id(user)
    entries = _device_entries(request)
    nonce = next((n for entry, n in entries if entry == user_id), None) or secrets.token_hex(16)
    kept = [(user_id, nonce), *[(entry, n) for entry, n in entries if entry != user_id]]
    value = "-".join(f"{entry}.{n}" for entry, n in kept[: int(settings.DOCOS_DEVICE_COOKIE_MAX_ACCOUNTS)])
    setattr(request, _DEVICE_ATTR, _device_signer().sign(value))


def device_cookie_apply(request: HttpRequest, response: HttpResponseBase) -> None:
    """Set the device cookie that a sign-in on this request issued (views call this on their reply)."""
    value = getattr(request, _DEVICE_ATTR, None)
    if value:
        response.set_cookie(
            settings.DOCOS_DEVICE_COOKIE_NAME,
            value,
            max_age=int(settings.DOCOS_DEVICE_COOKIE_AGE_SECONDS),
            secure=bool(settings.DOCOS_DEVICE_COOKIE_SECURE),
            httponly=True,
            samesite="Lax",
        )


@dataclass
class Attempt:
    """Counters reserved for one check of a secret (see `_reserve`); `account_failures` is this
    attempt's position in the account's failure count, or None when the account is not counted."""

    keys: list[str]
    account_failures: int | None
    device: str | None = None  # the trusted device's nonce: failures count (and lock) there

    def release(self) -> None:
        """The check succeeded: give the reservation back (the attempt was not a failure)."""
        if self.keys:
            _redis().eval(_RELEASE, len(self.keys), *self.keys)


def _reserve(
    *,
    request: HttpRequest | None,
    email: str,
    user: User | None,
    account: bool = True,
    codes: bool = False,
    device: str | None = None,
) -> Attempt:
    """Count this attempt before checking the secret; refuse it (nothing counted) over any limit.

    `account`: count it towards the account's lockout; `codes`: towards its wrong-code budget.
    On a trusted `device` both count on the device instead, and the address is not counted."""
    code_budget = (int(settings.DOCOS_LOGIN_CODE_FAILURE_WINDOW_SECONDS), int(settings.DOCOS_LOGIN_CODE_FAILURE_LIMIT))
    counters: list[tuple[str, int, int, str]] = []
    if device is None:
        counters += [
            (_ip_key(request), _window(), int(settings.DOCOS_IP_FAILURE_LIMIT), "ip"),
            (_ip_global_key(request), _window(), int(settings.DOCOS_IP_FAILURE_LIMIT_GLOBAL), "ip"),
        ]
        if account:
            counters.append((_failures_key(email), _window(), int(settings.DOCOS_LOCKOUT_FAILURES), "account"))
        if codes:
            counters.append((_code_failures_key(email), *code_budget, "codes"))
    else:
        device_limit = int(settings.DOCOS_DEVICE_FAILURE_LIMIT)
        if account:
            counters.append((_device_failures_key(device), _window(), device_limit, "device"))
        if codes:
            counters.append((_device_code_failures_key(device), *code_budget, "codes"))
    keys = [key for key, _, _, _ in counters]
    counts = [int(n) for n in _redis().eval(_RESERVE, len(keys), *keys, *[ttl for _, ttl, _, _ in counters])]
    # The count that locks: the account's for untrusted clients, the device's on a trusted device.
    locking = "account" if device is None else "device"
    failures = next((n for (_, _, _, kind), n in zip(counters, counts, strict=True) if kind == locking), None)
    attempt = Attempt(keys=keys, account_failures=failures, device=device)
    over = [kind for (_, _, limit, kind), n in zip(counters, counts, strict=True) if n > limit]
    if over:
        attempt.release()  # a refused attempt is not evaluated, so it is no failure either
        if "ip" in over:
            raise AuthError(IP_BLOCKED)
        if "account" in over or "device" in over:
            locked = _locked_until(email, user) if device is None else _device_locked_until(device)
            until = locked or timezone.now() + timedelta(seconds=_window())
            raise AuthError(lockout_message(until), locked_until=until)
        raise AuthError(CODE_BUDGET_SPENT)
    return attempt


def _fail(
    *,
    request: HttpRequest | None,
    attempt: Attempt,
    email: str,
    user: User | None,
    method: str,
    reason: str,
    message: str,
) -> NoReturn:
    """Keep the attempt's reservation as a failure, audit it, lock the account (or, on a trusted
    device, that device) at the limit, and raise.

    The failure counter is not reset by the lock: attempts already in flight stay over the limit."""
    failures = attempt.account_failures
    until: datetime | None = None
    metadata: dict[str, Any] = {"method": method, "reason": reason}
    if attempt.device is not None:
        metadata["trusted_device"] = True
    with transaction.atomic():
        audit_record(actor=None, action="auth.login_failed", obj=user, request=request, metadata=metadata)
        if attempt.device is not None:
            if failures is not None and failures >= settings.DOCOS_DEVICE_FAILURE_LIMIT:
                until = timezone.now() + timedelta(seconds=_window())
                _redis().set(_device_lock_key(attempt.device), str(until.timestamp()), ex=_window())
                audit_record(
                    actor=None,
                    action="auth.device_lockout",
                    obj=user,
                    request=request,
                    metadata={"failures": failures, "locked_until": until.isoformat()},
                )
        elif failures is not None and failures >= settings.DOCOS_LOCKOUT_FAILURES:
            until = timezone.now() + timedelta(seconds=_window())
            if user is not None:
                User.objects.filter(pk=user.pk).update(locked_until=until)
                user.locked_until = until
            else:
                _redis().set(_lock_key(email), str(until.timestamp()), ex=_window())
            audit_record(
                actor=None,
                action="auth.lockout",
                obj=user,
                request=request,
                metadata={"failures": failures, "locked_until": until.isoformat()},
            )
    if until is not None:
        raise AuthError(lockout_message(until), locked_until=until)
    raise AuthError(message)


def _send_email(*, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Send one sign-in email (from a task). SMTP errors propagate so the task retries them."""
    body = render_to_string(template, {"clinic": _clinic(), **context})
    try:
        send_mail(subject, body, None, [to])
    except (OSError, smtplib.SMTPException) as exc:
        # No address in the log: it identifies a person.
        logger.warning("Sign-in email could not be sent (%s); the task will retry", type(exc).__name__)
        raise


def _throttle_sends(email: str) -> None:
    if _bump(_sends_key(email)) > CODE_SEND_LIMIT:
        raise AuthError(SEND_LIMITED)


# --- first factor ------------------------------------------------------------------------------------


def login_password_check(*, request: HttpRequest, email: str, password: str) -> User:
    """Step two with a password. Returns the user; raises AuthError (counted, audited) otherwise."""
    email = normalize_email(email)
    user = _find_user(email)
    device = trusted_device(request, user)
    _raise_if_locked(email, user, device)
    attempt = _reserve(request=request, email=email, user=user, device=device)
    authed = authenticate(request, email=email, password=password)
    if authed is None:
        reason = "unknown_account" if user is None else ("inactive" if not user.is_active else "bad_password")
        _fail(
            request=request,
            attempt=attempt,
            email=email,
            user=user,
            method="password",
            reason=reason,
            message=INVALID_PASSWORD,
        )
    # The account's count is cleared when the sign-in completes (after a TOTP step, if any).
    attempt.release()
    return cast(User, authed)


def login_code_send(*, request: HttpRequest, email: str, purpose: str = LoginCode.Purpose.LOGIN) -> None:
    """Have a 6-digit code emailed if the email belongs to an active account; otherwise do nothing visible.

    A new code replaces the user's earlier unused codes of the same purpose. The request only
    records the code's row and queues `accounts.login_code_email` after the commit: the task
    draws the code, stores its hash and sends it, so the code never travels through the broker
    and no SMTP round trip tells real accounts from unknown ones."""
    email = normalize_email(email)
    user = _find_user(email)
    device = trusted_device(request, user)
    _ip_check(request, device)
    if purpose == LoginCode.Purpose.LOGIN:
        _raise_if_locked(email, user, device)
    _throttle_sends(email)
    ttl = int(settings.DOCOS_LOGIN_CODE_TTL_SECONDS)
    if user is None or not user.is_active:
        _redis().set(_phantom_key(email, purpose), 0, ex=ttl)
        return
    from accounts.tasks import login_code_email_task

    now = timezone.now()
    with transaction.atomic():
        LoginCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        # code_hash stays empty until the task has emailed the code (an unsent code matches nothing).
        login_code = LoginCode.objects.create(
            user=user, purpose=purpose, code_hash="", expires_at=now + timedelta(seconds=ttl)
        )
        audit_record(actor=None, action="auth.code_sent", obj=user, request=request, metadata={"purpose": purpose})
        code_id = str(login_code.pk)
        # robust: a broker outage is logged, not shown; the reply stays the same as for unknown emails.
        transaction.on_commit(lambda: login_code_email_task.delay(code_id), robust=True)


def code_lifetime_minutes(seconds: float | None = None) -> int:
    """How long an emailed code lives, in the whole minutes that the code page, the notice after
    sending and the email all state (a code's own lifetime, else today's setting). A row's
    lifetime is a few milliseconds short of the setting (created_at is stamped after expires_at
    is computed), so whole seconds first: 599.99 s is "10 minutes", as the page says."""
    if seconds is None:
        seconds = settings.DOCOS_LOGIN_CODE_TTL_SECONDS
    return max(1, round(seconds) // 60)


def login_code_email(*, login_code_id: str) -> bool:
    """Draw, store (hashed) and email the code of a LoginCode row; run by accounts.tasks.

    Idempotent: a row whose code was already emailed (hash set), used, replaced or expired sends
    nothing (returns False). The row stays locked while the mail is sent and the hash is stored
    only if the mail went out: a failed send rolls back and the task's retry draws a fresh code."""
    with transaction.atomic():
        login_code = (
            LoginCode.objects.select_for_update(of=("self",)).select_related("user").filter(pk=login_code_id).first()
        )
        if (
            login_code is None
            or login_code.code_hash
            or login_code.used_at is not None
            or login_code.expires_at <= timezone.now()
            or not login_code.user.is_active
        ):
            return False
        code = f"{secrets.randbelow(10**6):06d}"
        login_code.code_hash = _code_hash(login_code.pk, code)
        login_code.save(update_fields=["code_hash"])
        unlock = login_code.purpose == LoginCode.Purpose.UNLOCK
        minutes = code_lifetime_minutes((login_code.expires_at - login_code.created_at).total_seconds())
        _send_email(
            to=login_code.user.email,
            subject=f"{code} is your DocOS {'unlock' if unlock else 'sign-in'} code",
            template="accounts/auth/email_code.txt",
            context={"code": code, "unlock": unlock, "minutes": minutes},
        )
    return True


def _phantom_attempt(email: str, purpose: str) -> int | None:
    """Mirror of a code check for an email without an account: attempts left, or None if no code."""
    key = _phantom_key(email, purpose)
    if not _redis().exists(key):
        return None
    attempts = int(_redis().incr(key))  # INCR keeps the key's expiry
    return max(settings.DOCOS_LOGIN_CODE_MAX_ATTEMPTS - attempts, 0)


def _code_check(*, request: HttpRequest, email: str, code: str, purpose: str) -> User:
    """Check an emailed code: single use, valid for DOCOS_LOGIN_CODE_TTL_SECONDS, limited attempts
    per code and a wrong-code budget per account that a new code does not reset. Returns the user."""
    email = normalize_email(email)
    code = "".join((code or "").split())
    login_purpose = purpose == LoginCode.Purpose.LOGIN
    user = _find_user(email)
    device = trusted_device(request, user)
    if login_purpose:
        _raise_if_locked(email, user, device)
    # An unlock code is for a locked account (or device): its failures count towards the wrong-code
    # budget, not the lockout (which would refuse it before it is checked).
    attempt = _reserve(request=request, email=email, user=user, account=login_purpose, codes=True, device=device)
    max_attempts = int(settings.DOCOS_LOGIN_CODE_MAX_ATTEMPTS)
    left: int | None
    matched = False
    if user is None or not user.is_active:
        left = _phantom_attempt(email, purpose)
    else:
        with transaction.atomic():
            login_code = (
                LoginCode.objects.select_for_update()
                .filter(user=user, purpose=purpose, used_at__isnull=True)
                .exclude(code_hash="")  # not emailed yet (accounts.tasks fills it in)
                .order_by("-created_at")
                .first()
            )
            if login_code is None or login_code.expires_at <= timezone.now():
                left = None
            elif login_code.attempts >= max_attempts:
                left = 0
            else:
                login_code.attempts += 1
                matched = constant_time_compare(login_code.code_hash, _code_hash(login_code.pk, code))
                if matched:
                    login_code.used_at = timezone.now()
                left = max_attempts - login_code.attempts
                login_code.save(update_fields=["attempts", "used_at"])
    if matched and user is not None:
        attempt.release()
        return user
    if left is None:
        reason, message = "code_expired", CODE_EXPIRED
    elif left == 0:
        reason, message = "code_attempts_exceeded", CODE_EXHAUSTED
    else:
        reason = "bad_code"
        message = f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
    _fail(
        request=request,
        attempt=attempt,
        email=email,
        user=user,
        method="code" if login_purpose else "unlock",
        reason=reason,
        message=message,
    )


def login_code_verify(*, request: HttpRequest, email: str, code: str) -> User:
    """Sign-in with an emailed code: returns the user (first factor done); raises AuthError otherwise."""
    return _code_check(request=request, email=email, code=code, purpose=LoginCode.Purpose.LOGIN)


def login_unlock_verify(*, request: HttpRequest, email: str, code: str) -> None:
    """Lift a lockout with an emailed unlock code. It does not sign in: the user then signs in as
    usual (password or sign-in code, and TOTP), so an unlock code is never a way around a factor."""
    user = _code_check(request=request, email=email, code=code, purpose=LoginCode.Purpose.UNLOCK)
    _unlock(request=request, user=user)


def _unlock(*, request: HttpRequest, user: User) -> None:
    """On a trusted device, lift that device's lock only: the account's lock holds untrusted clients
    (perhaps someone guessing) and stays until its time. Elsewhere, lift the account's lock."""
    device = trusted_device(request, user)
    if device is not None:
        with transaction.atomic():
            audit_record(actor=None, action="auth.unlock", obj=user, request=request, metadata={"scope": "device"})
        _device_clear(device)
        return
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(locked_until=None)
        user.locked_until = None
        audit_record(actor=None, action="auth.unlock", obj=user, request=request)
    _redis().delete(_failures_key(user.email), _lock_key(user.email))


# --- second factor and completion --------------------------------------------------------------------


def totp_code_valid(user: User, code: str) -> bool:
    """The current (or adjacent) TOTP code of the user's secret; each code is accepted once."""
    code = "".join((code or "").split())
    secret = cast(str | None, user.totp_secret)
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    if not pyotp.TOTP(secret).verify(code, valid_window=1):
        return False
    return bool(_redis().set(f"{KEY_PREFIX}:totp-used:{user.pk}:{code}", "1", nx=True, ex=120))


def login_begin_second_factor(*, request: HttpRequest, user: User, method: str) -> None:
    """Remember, in the server-side session, who passed the first factor, until the TOTP step."""
    request.session[SESSION_PENDING] = {
        "user": str(user.pk),
        "method": method,
        "expires": time.time() + PENDING_TTL_SECONDS,
    }


def login_pending_user(request: HttpRequest) -> tuple[User, str] | None:
    pending = request.session.get(SESSION_PENDING)
    if not isinstance(pending, dict) or float(pending.get("expires", 0)) < time.time():
        return None
    user = User.objects.select_related("role").filter(pk=str(pending.get("user")), is_active=True).first()
    return (user, str(pending.get("method", ""))) if user is not None else None


def login_totp_check(*, request: HttpRequest, user: User, code: str) -> None:
    user.refresh_from_db(fields=["locked_until"])
    device = trusted_device(request, user)
    _raise_if_locked(user.email, user, device)
    attempt = _reserve(request=request, email=user.email, user=user, device=device)
    if not totp_code_valid(user, code):
        _fail(
            request=request,
            attempt=attempt,
            email=user.email,
            user=user,
            method="totp",
            reason="bad_totp",
            message=TOTP_INVALID,
        )
    attempt.release()


def login_complete(*, request: HttpRequest, user: User, method: str, second_factor: str = "none") -> None:
    """Start the session (new key), stamp it for the idle/absolute limits, and audit the sign-in."""
    login(request, user, backend=BACKEND)
    now = time.time()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now
    for key in (SESSION_LOGIN_EMAIL, SESSION_PENDING):
        request.session.pop(key, None)
    device = trusted_device(request, user)
    if device is not None:
        # The account's count belongs to untrusted clients (maybe someone guessing): left alone.
        _redis().delete(_device_failures_key(device), _device_code_failures_key(device))
    else:
        _redis().delete(_failures_key(user.email))
    _device_remember(request, user)
    with transaction.atomic():
        audit_record(
            actor=user,
            action="auth.login",
            obj=user,
            request=request,
            metadata={"method": method, "second_factor": second_factor},
        )


def login_first_factor_done(*, request: HttpRequest, user: User, method: str) -> bool:
    """After a password or code: sign in now (True) or go on to the TOTP step (False)."""
    if user.totp_enabled:
        login_begin_second_factor(request=request, user=user, method=method)
        return False
    login_complete(request=request, user=user, method=method)
    return True


def two_factor_required(user: Any, clinic: Any) -> bool:
    """The clinic requires two-factor authentication of staff with administrative access, and this
    user has some: any capability of the "Administration" group, whatever their role is called (a
    custom role with `staff.manage` is as powerful as the built-in administrator)."""
    if not getattr(user, "is_authenticated", False) or not getattr(clinic, "require_2fa_for_admins", False):
        return False
    return bool(set(getattr(user, "capabilities", ())) & ADMINISTRATION_CAPABILITIES)


def two_factor_setup_required(user: Any, clinic: Any) -> bool:
    """2FA is required of this user and not set up yet: nothing but the setup page until it is."""
    return two_factor_required(user, clinic) and not user.totp_enabled


def logout_user(*, request: HttpRequest) -> None:
    user = request.user
    if user.is_authenticated:
        with transaction.atomic():
            audit_record(actor=user, action="auth.logout", obj=cast(User, user), request=request)
    logout(request)


# --- sessions ------------------------------------------------------------------------------------------


def session_status(request: HttpRequest) -> dict[str, Any]:
    """Seconds left before the idle timeout and the absolute limit (does not count as activity)."""
    now = time.time()
    last_seen = float(request.session.get(SESSION_LAST_SEEN, now))
    started = float(request.session.get(SESSION_STARTED, now))
    return {
        "authenticated": True,
        "idle_timeout_seconds": idle_timeout_seconds(request),
        "idle_seconds_left": max(0, int(idle_timeout_seconds(request) - (now - last_seen))),
        "absolute_seconds_left": max(0, int(settings.DOCOS_SESSION_ABSOLUTE_SECONDS - (now - started))),
    }


@transaction.atomic
def session_end_everywhere(*, request: HttpRequest, user: User) -> None:
    """End every session of the user; this browser continues under a new session key."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
    audit_record(actor=user, action="auth.sessions_revoked", obj=user, request=request)
    update_session_auth_hash(request, user)


# --- passwords -----------------------------------------------------------------------------------------


def password_change(*, request: HttpRequest, user: User, current_password: str, new_password: str) -> None:
    """Change one's own password. Other sessions end (the password is part of the session hash)."""
    try:
        device = trusted_device(request, user)
        _raise_if_locked(user.email, user, device)
        attempt = _reserve(request=request, email=user.email, user=user, device=device)
        if not user.check_password(current_password):
            _fail(
                request=request,
                attempt=attempt,
                email=user.email,
                user=user,
                method="password_change",
                reason="bad_password",
                message=gettext_noop("Your current password is not right."),
            )
    except AuthError as exc:
        raise ValidationError({"current_password": exc.message}) from None
    attempt.release()
    if current_password == new_password:
        raise ValidationError({"new_password": "Choose a password different from the current one."})
    user_validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="auth.password_change", obj=user, changed_fields=["password"], request=request)
    update_session_auth_hash(request, user)


def password_reset_request(*, request: HttpRequest, email: str) -> None:
    """Have a one-time link to set a new password emailed, if the email belongs to an active account.

    The link is made and sent by `accounts.password_reset_email`, queued after the commit (no SMTP
    in the request, so its timing does not reveal whether the account exists)."""
    email = normalize_email(email)
    user = _find_user(email)
    _ip_check(request, trusted_device(request, user))
    _throttle_sends(email)
    if user is None or not user.is_active:
        return
    from accounts.tasks import password_reset_email_task

    user_id, delivery_id = str(user.pk), secrets.token_hex(16)
    with transaction.atomic():
        audit_record(actor=None, action="auth.password_reset_requested", obj=user, request=request)
        transaction.on_commit(lambda: password_reset_email_task.delay(user_id, delivery_id), robust=True)


def password_reset_email(*, user_id: str, delivery_id: str) -> bool:
    """Email a set-password link (run by accounts.tasks). Idempotent per `delivery_id`: a redelivered
    or repeated task sends nothing once the mail went out. Returns whether a mail was sent."""
    marker = f"{KEY_PREFIX}:mailed:reset:{delivery_id}"
    if _redis().exists(marker):
        return False
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False

    clinic = _clinic()
    link = clinic_url(clinic, password_set_url(user)) if clinic is not None else password_set_url(user)
    _send_email(
        to=user.email,
        subject="Set a new DocOS password",
        template="accounts/auth/email_password_reset.txt",
        context={"link": link, "user": user},
    )
    _redis().set(marker, "1", ex=int(settings.PASSWORD_RESET_TIMEOUT))
    return True


def password_set_user(uidb64: str, token: str) -> User | None:
    """The active user a set-password link is for, if its token is still valid (used once)."""
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError, ValidationError, User.DoesNotExist):
        return None
    if not user.is_active or not default_token_generator.check_token(user, token):
        return None
    return user


def password_set(*, request: HttpRequest, user: User, password: str) -> None:
    """Set a password from an emailed link. The link dies (the token covers the password hash), every
    session of the user ends, and a lockout is lifted (the link proves access to the mailbox)."""
    user_validate_password(password, user=user)
    with transaction.atomic():
        user.set_password(password)
        user.locked_until = None
        user.save(update_fields=["password", "locked_until"])
        audit_record(actor=None, action="auth.password_set", obj=user, changed_fields=["password"], request=request)
    _redis().delete(_failures_key(user.email), _lock_key(user.email))
    device = trusted_device(request, user)
    if device is not None:
        _device_clear(device)


# --- TOTP ------------------------------------------------------------------------------------------------


def totp_setup_start(*, user: User) -> TotpSetup:
    """A secret to scan (kept on the user, unconfirmed, until a code proves the app has it)."""
    if user.totp_enabled:
        raise ValidationError("Two-factor authentication is already on.")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.save(update_fields=["totp_secret"])
    secret = cast(str, user.totp_secret)
    clinic_name = getattr(_clinic(), "name", None)
    issuer = f"DocOS {clinic_name}" if clinic_name else "DocOS"
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return TotpSetup(secret=secret, uri=uri, qr_data_uri=qr_data_uri(uri))


def totp_enable(*, request: HttpRequest, user: User, code: str) -> None:
    if user.totp_enabled:
        raise ValidationError("Two-factor authentication is already on.")
    if not totp_code_valid(user, code):
        raise ValidationError({"code": gettext(TOTP_INVALID)})
    with transaction.atomic():
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_confirmed_at"])
        audit_record(actor=user, action="auth.totp_enable", obj=user, changed_fields=["totp_secret"], request=request)


def totp_disable(*, request: HttpRequest, user: User, code: str) -> None:
    if not user.totp_enabled:
        raise ValidationError("Two-factor authentication is not on.")
    if two_factor_required(user, _clinic()):
        raise ValidationError("Your clinic requires two-factor authentication for staff with administrative access.")
    if not totp_code_valid(user, code):
        raise ValidationError({"code": gettext(TOTP_INVALID)})
    with transaction.atomic():
        user.totp_secret = None
        user.totp_confirmed_at = None
        user.save(update_fields=["totp_secret", "totp_confirmed_at"])
        audit_record(
            actor=user,
            action="auth.totp_disable",
            obj=user,
            changed_fields=["totp_secret", "totp_confirmed_at"],
            request=request,
        )


# --- preferences -----------------------------------------------------------------------------------------


THEMES = ("auto", "light", "dark")


def theme_set(*, user: User, theme: str) -> None:
    """A display preference, not audited."""
    if theme not in THEMES:
        raise ValidationError({"theme": f"Choose one of {', '.join(THEMES)}."})
    if user.theme != theme:
        user.theme = theme
        user.save(update_fields=["theme"])


def language_set(*, user: User, language: str) -> None:
    """The user's interface language ("" follows the clinic's default). A display preference, not audited."""
    if language:
        try:
            validate_language(language)
        except ValidationError as exc:
            raise ValidationError({"language": exc.messages}) from None
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
