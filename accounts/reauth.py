"""Re-authentication for dangerous actions (closing the clinic): the signed-in user enters their
password again, and their authenticator code when they have one, and may act for REAUTH_MINUTES.

The moment is kept in the session (bound to the user), so another session, a signed-out session
or the same session after the window has to re-enter them. Failures are audited (ids only), and
MAX_FAILURES of them in one session end it (the password is then checked by the login's lockout)."""

from __future__ import annotations

from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User

REAUTH_MINUTES = 5
MAX_FAILURES = 5  # wrong passwords or codes in one session before it is ended
SESSION_KEY = "docos_reauth"
FAILURES_KEY = "docos_reauth_failures"


def reauth_fresh(request: HttpRequest) -> bool:
    """Whether the signed-in user re-authenticated in this session within REAUTH_MINUTES."""
    found = request.session.get(SESSION_KEY)
    if not isinstance(found, dict) or str(found.get("user")) != str(request.user.pk):
        return False
    age = timezone.now().timestamp() - float(found.get("at", 0))
    return 0 <= age <= REAUTH_MINUTES * 60


def reauth_verify(*, request: HttpRequest, user: User, password: str, code: str = "") -> None:
    """Check the password (and the authenticator code when the user has one); mark the session fresh.
    Raises ValidationError naming the field that was wrong."""
    from accounts.login import totp_code_valid
    from audit.services import audit_record

    def fail(step: str, error: ValidationError) -> ValidationError:
        audit_record(actor=user, action="accounts.reauth_failed", obj=user, request=request, metadata={"step": step})
        failures = int(request.session.get(FAILURES_KEY, 0)) + 1
        request.session[FAILURES_KEY] = failures
        if failures >= MAX_FAILURES:  # someone at an unlocked screen guessing: end the session
            logout(request)
            return ValidationError("Too many wrong attempts; you were signed out.", code="signed_out")
        return error

    if not password or not user.check_password(password):
        raise fail("password", ValidationError({"password": "That is not your password."}))
    if user.totp_enabled and not totp_code_valid(user, code.strip()):
        raise fail(
            "totp",
            ValidationError({"code": "That code is not right; enter the current code from your authenticator app."}),
        )
    request.session.pop(FAILURES_KEY, None)
    request.session[SESSION_KEY] = {"user": str(user.pk), "at": timezone.now().timestamp()}
    audit_record(actor=user, action="accounts.reauth", obj=user, request=request)


def reauth_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
