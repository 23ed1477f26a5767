"""Staff sign-in, sessions, passwords and TOTP on clinic hosts. Views (accounts/auth_views.py) stay thin.

Sign-in is two steps: an email, then either the password or a 6-digit code emailed to that
address. Step two looks the same whether or not the email belongs to an account; a code is only
sent to real accounts, and wrong-code answers for unknown emails are mirrored in Redis so the
replies cannot tell the two apart. A confirmed TOTP is asked for after the first factor.

Throttling (Redis, raw keys under `docos:auth:`):
- per account (schema + email): `DOCOS_LOCKOUT_FAILURES` failures within
  `DOCOS_LOCKOUT_WINDOW_SECONDS` lock the account until now + window (`User.locked_until`, or a
  Redis lock for emails without an account, so a lockout does not reveal that an account exists).
  The real user can unlock with a code emailed to them (`LoginCode` purpose "unlock").
- per IP address, across clinics: `DOCOS_IP_FAILURE_LIMIT` failures within the window block that
  address until the window ends.
Every failure, success, lockout, unlock and logout is audited (never with passwords or codes).

Sessions: "sign out everywhere" bumps `User.session_epoch`, which is part of the session auth
hash, so every session of the user dies; the browser that asked stays signed in with a fresh
session key (`update_session_auth_hash`). Changing or setting a password does the same through
the password hash.
"""

from __future__ import annotations

import hashlib
import logging
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
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django_redis import get_redis_connection

from accounts.audit import audit_record, client_ip
from accounts.capabilities import ADMIN_ROLE_SLUGS
from accounts.middleware import SESSION_LAST_SEEN, SESSION_STARTED, idle_timeout_seconds
from accounts.models import LoginCode, User
from accounts.qr import qr_data_uri
from accounts.services import password_set_url, user_validate_password
from docos.tenancy import current_schema, tenant_connection

logger = logging.getLogger(__name__)

BACKEND = "accounts.backends.EmailBackend"
KEY_PREFIX = "docos:auth"
CODE_SEND_LIMIT = 5  # emails (codes, reset links) per account per lockout window
PENDING_TTL_SECONDS = 5 * 60  # between the first factor and the TOTP step

# Session keys of the sign-in flow (removed once signed in).
SESSION_LOGIN_EMAIL = "docos_login_email"
SESSION_LOGIN_NEXT = "docos_login_next"
SESSION_PENDING = "docos_login_pending"

INVALID_PASSWORD = "That email and password do not match. Try again, or sign in with a code sent to your email."
CODE_EXPIRED = "That code has expired or was already used. Ask for a new code."
CODE_EXHAUSTED = "Too many wrong codes. Ask for a new code."
TOTP_INVALID = "That code is not right. Enter the current 6-digit code from your authenticator app."
IP_BLOCKED = "Too many failed sign-in attempts from your network. Try again in a few minutes."
SEND_LIMITED = "We have already emailed several codes or links. Use the latest one, or try again in 15 minutes."
PENDING_EXPIRED = "Your sign-in took too long. Please start again."


class AuthError(Exception):
    """A sign-in step failed. `message` is safe to show; `locked_until` is set while locked out."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
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


def _ip_key(request: HttpRequest | None) -> str:
    return f"{KEY_PREFIX}:fail:ip:{client_ip(request) or 'unknown'}"


def _clinic() -> Any:
    return getattr(tenant_connection(), "tenant", None)


def _find_user(email: str) -> User | None:
    return User.objects.select_related("role").filter(email__iexact=normalize_email(email)).first()


def _code_hash(code_id: Any, code: str) -> str:
    return salted_hmac("accounts.LoginCode", f"{code_id}:{code}", algorithm="sha256").hexdigest()


def lockout_message(until: datetime) -> str:
    tz = ZoneInfo(getattr(_clinic(), "timezone", None) or settings.TIME_ZONE)
    local = timezone.localtime(until, tz)
    return f"Too many failed attempts; try again after {local:%H:%M} or unlock with a code sent to your email."


def _ip_check(request: HttpRequest | None) -> None:
    if int(_redis().get(_ip_key(request)) or 0) >= settings.DOCOS_IP_FAILURE_LIMIT:
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


def _raise_if_locked(email: str, user: User | None) -> None:
    until = _locked_until(email, user)
    if until is not None:
        raise AuthError(lockout_message(until), locked_until=until)


def _fail(
    *, request: HttpRequest | None, email: str, user: User | None, method: str, reason: str, message: str
) -> NoReturn:
    """Count a failure (IP and account), audit it, lock the account at the limit, and raise."""
    _bump(_ip_key(request))
    failures = _bump(_failures_key(email))
    until: datetime | None = None
    with transaction.atomic():
        audit_record(
            actor=None,
            action="auth.login_failed",
            obj=user,
            request=request,
            metadata={"method": method, "reason": reason},
        )
        if failures >= settings.DOCOS_LOCKOUT_FAILURES:
            until = timezone.now() + timedelta(seconds=_window())
            if user is not None:
                User.objects.filter(pk=user.pk).update(locked_until=until)
                user.locked_until = until
            else:
                _redis().set(_lock_key(email), str(until.timestamp()), ex=_window())
            _redis().delete(_failures_key(email))
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
    body = render_to_string(template, {"clinic": _clinic(), **context})
    try:
        send_mail(subject, body, None, [to])
    except (OSError, smtplib.SMTPException) as exc:
        # No address in the log: it identifies a person.
        logger.error("Sign-in email could not be sent (%s)", type(exc).__name__)


def _throttle_sends(email: str) -> None:
    if _bump(_sends_key(email)) > CODE_SEND_LIMIT:
        raise AuthError(SEND_LIMITED)


# --- first factor ------------------------------------------------------------------------------------


def login_password_check(*, request: HttpRequest, email: str, password: str) -> User:
    """Step two with a password. Returns the user; raises AuthError (counted, audited) otherwise."""
    email = normalize_email(email)
    _ip_check(request)
    user = _find_user(email)
    _raise_if_locked(email, user)
    authed = authenticate(request, email=email, password=password)
    if authed is None:
        reason = "unknown_account" if user is None else ("inactive" if not user.is_active else "bad_password")
        _fail(request=request, email=email, user=user, method="password", reason=reason, message=INVALID_PASSWORD)
    return cast(User, authed)


def login_code_send(*, request: HttpRequest, email: str, purpose: str = LoginCode.Purpose.LOGIN) -> None:
    """Email a 6-digit code if the email belongs to an active account; otherwise do nothing visible.

    A new code replaces the user's earlier unused codes of the same purpose."""
    email = normalize_email(email)
    _ip_check(request)
    user = _find_user(email)
    if purpose == LoginCode.Purpose.LOGIN:
        _raise_if_locked(email, user)
    _throttle_sends(email)
    ttl = int(settings.DOCOS_LOGIN_CODE_TTL_SECONDS)
    if user is None or not user.is_active:
        _redis().set(_phantom_key(email, purpose), 0, ex=ttl)
        return
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    with transaction.atomic():
        LoginCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        login_code = LoginCode(user=user, purpose=purpose, expires_at=now + timedelta(seconds=ttl))
        login_code.code_hash = _code_hash(login_code.pk, code)
        login_code.save(force_insert=True)
        audit_record(actor=None, action="auth.code_sent", obj=user, request=request, metadata={"purpose": purpose})
    unlock = purpose == LoginCode.Purpose.UNLOCK
    _send_email(
        to=user.email,
        subject=f"{code} is your DocOS {'unlock' if unlock else 'sign-in'} code",
        template="accounts/auth/email_code.txt",
        context={"code": code, "unlock": unlock, "minutes": ttl // 60},
    )


def _phantom_attempt(email: str, purpose: str) -> int | None:
    """Mirror of a code check for an email without an account: attempts left, or None if no code."""
    key = _phantom_key(email, purpose)
    if not _redis().exists(key):
        return None
    attempts = int(_redis().incr(key))  # INCR keeps the key's expiry
    return max(settings.DOCOS_LOGIN_CODE_MAX_ATTEMPTS - attempts, 0)


def login_code_verify(*, request: HttpRequest, email: str, code: str, purpose: str = LoginCode.Purpose.LOGIN) -> User:
    """Check an emailed code: single use, valid for DOCOS_LOGIN_CODE_TTL_SECONDS, limited attempts.

    An unlock code also lifts the lockout. Returns the user (first factor done)."""
    email = normalize_email(email)
    code = "".join((code or "").split())
    method = "code" if purpose == LoginCode.Purpose.LOGIN else "unlock"
    _ip_check(request)
    user = _find_user(email)
    if purpose == LoginCode.Purpose.LOGIN:
        _raise_if_locked(email, user)
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
        if purpose == LoginCode.Purpose.UNLOCK:
            _unlock(request=request, user=user)
        return user
    if left is None:
        reason, message = "code_expired", CODE_EXPIRED
    elif left == 0:
        reason, message = "code_attempts_exceeded", CODE_EXHAUSTED
    else:
        reason = "bad_code"
        message = f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
    _fail(request=request, email=email, user=user, method=method, reason=reason, message=message)


def _unlock(*, request: HttpRequest, user: User) -> None:
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
    _ip_check(request)
    user.refresh_from_db(fields=["locked_until"])
    _raise_if_locked(user.email, user)
    if not totp_code_valid(user, code):
        _fail(request=request, email=user.email, user=user, method="totp", reason="bad_totp", message=TOTP_INVALID)


def login_complete(*, request: HttpRequest, user: User, method: str, second_factor: str = "none") -> None:
    """Start the session (new key), stamp it for the idle/absolute limits, and audit the sign-in."""
    login(request, user, backend=BACKEND)
    now = time.time()
    request.session[SESSION_STARTED] = now
    request.session[SESSION_LAST_SEEN] = now
    for key in (SESSION_LOGIN_EMAIL, SESSION_PENDING):
        request.session.pop(key, None)
    _redis().delete(_failures_key(user.email))
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
    """The clinic requires two-factor authentication of its owners and administrators, and this is one."""
    if not getattr(user, "is_authenticated", False) or not getattr(clinic, "require_2fa_for_admins", False):
        return False
    role = getattr(user, "role", None)
    return role is not None and role.slug in ADMIN_ROLE_SLUGS


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
        _ip_check(request)
        _raise_if_locked(user.email, user)
        if not user.check_password(current_password):
            _fail(
                request=request,
                email=user.email,
                user=user,
                method="password_change",
                reason="bad_password",
                message="Your current password is not right.",
            )
    except AuthError as exc:
        raise ValidationError({"current_password": exc.message}) from None
    if current_password == new_password:
        raise ValidationError({"new_password": "Choose a password different from the current one."})
    user_validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="auth.password_change", obj=user, changed_fields=["password"], request=request)
    update_session_auth_hash(request, user)


def password_reset_request(*, request: HttpRequest, email: str) -> None:
    """Email a one-time link to set a new password, if the email belongs to an active account."""
    email = normalize_email(email)
    _ip_check(request)
    _throttle_sends(email)
    user = _find_user(email)
    if user is None or not user.is_active:
        return
    from clinics.services import clinic_url

    clinic = _clinic()
    link = clinic_url(clinic, password_set_url(user)) if clinic is not None else password_set_url(user)
    with transaction.atomic():
        audit_record(actor=None, action="auth.password_reset_requested", obj=user, request=request)
    _send_email(
        to=user.email,
        subject="Set a new DocOS password",
        template="accounts/auth/email_password_reset.txt",
        context={"link": link, "user": user},
    )


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
        raise ValidationError({"code": TOTP_INVALID})
    with transaction.atomic():
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_confirmed_at"])
        audit_record(actor=user, action="auth.totp_enable", obj=user, changed_fields=["totp_secret"], request=request)


def totp_disable(*, request: HttpRequest, user: User, code: str) -> None:
    if not user.totp_enabled:
        raise ValidationError("Two-factor authentication is not on.")
    if two_factor_required(user, _clinic()):
        raise ValidationError("Your clinic requires two-factor authentication for owners and administrators.")
    if not totp_code_valid(user, code):
        raise ValidationError({"code": TOTP_INVALID})
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
