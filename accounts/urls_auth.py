"""Sign-in, sessions, passwords and the user's own account page (clinic hosts)."""

from django.urls import URLPattern, URLResolver, path

from accounts import auth_views as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("login", views.login_email, name="login"),
    path("login/verify", views.login_verify, name="login-verify"),
    path("login/code/send", views.login_code_send, name="login-code-send"),
    path("login/code", views.login_code, name="login-code"),
    path("login/unlock", views.login_unlock, name="login-unlock"),
    path("login/two-factor", views.login_two_factor, name="login-two-factor"),
    path("logout", views.logout_view, name="logout"),
    path("session/keepalive", views.session_keepalive, name="session-keepalive"),
    path("session/status", views.session_status, name="session-status"),
    path("password-reset", views.password_reset, name="password-reset"),
    path("set-password/<str:uidb64>/<str:token>", views.set_password, name="set-password"),
    path("account/", views.account, name="account"),
    path("account/password", views.account_password, name="account-password"),
    path("account/two-factor", views.account_two_factor, name="account-two-factor"),
    path("account/two-factor/disable", views.account_two_factor_disable, name="account-two-factor-disable"),
    path("account/sign-out-everywhere", views.account_sign_out_everywhere, name="account-sign-out-everywhere"),
    path("account/theme", views.account_theme, name="account-theme"),
    path("account/language", views.account_language, name="account-language"),
]
