"""Deny by default: every URL of the clinic site and the public site declares who may use it.

The walk covers whatever `docos.urls_tenant` and `docos.urls_public` contain when the tests run
(nested `include()`s and DRF views too), so a new view is checked the day it is added:

1. Each view declares its access. HTML views carry `docos.permissions.ACCESS_ATTR` ("public",
   "login" or a capability; set by `@public`, `@login_only`, `@capability_required`); DRF views
   set `required_capability` on the view class (a capability, "login", or a per-method dict) and
   keep `HasRequiredCapability` among their permissions. A view that declares nothing fails
   `test_every_clinic_route_declares_its_access`, which names the route.
2. For a view requiring a capability, a signed-in user without it (the seeded `no_role` user and
   the first built-in role lacking it) gets 403 or 404, never a success. URL kwargs are filled
   with random values matching each converter.
3. Anonymous visitors never get a success from a view that is not public.
4. The platform console (`@platform_staff_required`, access "platform") lives in the public URLconf
   only: anonymous visitors are sent to /platform/login/, a signed-in public-schema user who is not
   platform staff gets 403, and the same paths on a clinic's host are 404.

Public clinic routes must be named in PUBLIC_TENANT_ROUTES (keep it small, review every addition).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, path, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.views import APIView

from docos.capabilities import ALL, BUILTIN_ROLES
from docos.permissions import ACCESS_ATTR, PLATFORM_ACCESS, PLATFORM_LOGIN_URL, HasRequiredCapability, public
from tests.accounts.api_helpers import make_token
from tests.clinics.platform_helpers import public_client

TENANT_URLCONF = "docos.urls_tenant"
PUBLIC_URLCONF = "docos.urls_public"

# Clinic-host routes anyone may open without signing in. Every entry is a deliberate decision.
PUBLIC_TENANT_ROUTES = frozenset(
    {
        # signing in (each step of the two-step login) and recovering access
        "login",
        "login-verify",
        "login-code-send",
        "login-code",
        "login-unlock",
        "login-two-factor",
        "password-reset",
        "set-password",
        # signing out is idempotent (POST only); the idle-warning poll answers {"authenticated": false}
        "logout",
        "session-status",
        # the site icon browsers fetch by themselves (a redirect to a static file)
        "favicon",
        # the API's description, and its JSON 404 for unknown URLs
        "api-schema",
        "api-docs",
        "api-not-found",
        # an imaging share link: its secret is the credential (imaging/share_views.py); a random
        # secret is a 404, expired/revoked links a 410, and a link reaches its own study only
        "imaging-share-open",
        "imaging-share-code",
        "imaging-share-verify",
        "imaging-share-manifest",
        "imaging-share-frame",
    }
)
# /healthz and /readyz are answered by docos.middleware.HealthCheckMiddleware before any URLconf.

SUCCESS = range(200, 300)
DENIED = (403, 404)
ANONYMOUS_REFUSED = (302, 401, 403, 404, 405)


# --- walking the URLconfs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    chain: tuple[Any, ...]  # the pattern objects from the URLconf root down to this view
    name: str | None  # "namespace:name" when namespaced
    callback: Callable[..., Any]
    urlconf: str

    @property
    def route(self) -> str:
        return "".join(str(pattern) for pattern in self.chain) or "<root>"

    @property
    def label(self) -> str:
        return f"{self.route} (name={self.name!r}, view={_qualname(self.callback)})"

    @property
    def drf_class(self) -> type[APIView] | None:
        cls = getattr(self.callback, "cls", None)
        return cls if isinstance(cls, type) and issubclass(cls, APIView) else None


def _qualname(callback: Callable[..., Any]) -> str:
    target = getattr(callback, "cls", None) or getattr(callback, "view_class", None) or callback
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def walk(
    patterns: Iterable[URLPattern | URLResolver], urlconf: str, chain: tuple[Any, ...] = (), namespace: str = ""
) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, urlconf, (*chain, entry.pattern), inner)
        else:
            name = f"{namespace}{entry.name}" if entry.name else None
            yield Route(chain=(*chain, entry.pattern), name=name, callback=entry.callback, urlconf=urlconf)


def routes_of(urlconf: str) -> list[Route]:
    return list(walk(get_resolver(urlconf).url_patterns, urlconf))


def declared_access(route: Route) -> Any:
    access = getattr(route.callback, ACCESS_ATTR, None)
    if access is None and route.drf_class is not None:
        access = getattr(route.drf_class, "required_capability", None)
    return access


def access_problem(route: Route) -> str | None:
    """Why this route's declaration is not acceptable, or None when it is."""
    access = declared_access(route)
    if access is None:
        what = "set `required_capability` on the DRF view" if route.drf_class else "decorate the view"
        return f"declares no access; {what} (@public, @login_only or @capability_required)"
    if access == PLATFORM_ACCESS:
        if route.urlconf != PUBLIC_URLCONF or route.drf_class is not None:
            return "is a platform console view outside the public URLconf (it belongs on the public domain only)"
        return None
    valid = {"login", *ALL}
    if isinstance(access, dict):
        bad = {m: c for m, c in access.items() if c not in valid or m != m.upper()}
        if bad or not access:
            return f"has an invalid per-method `required_capability` {access!r}"
    elif access != "public" and access not in valid:
        return f"declares an unknown capability {access!r} (add it to docos.capabilities)"
    cls = route.drf_class
    if cls is not None and access != "public":
        initkwargs = getattr(route.callback, "initkwargs", {})
        permissions = initkwargs.get("permission_classes", cls.permission_classes)
        if not any(issubclass(p, HasRequiredCapability) for p in permissions):
            return "is a DRF view whose permission_classes drop HasRequiredCapability"
    return None


# --- building a URL for a pattern ---------------------------------------------------------------


def _candidates() -> list[str]:
    return [str(uuid.uuid4()), "987654321", "sample-slug", "2026-01-15", "x"]


def _route_options(pattern: RoutePattern) -> list[str]:
    route = str(pattern)
    names = re.findall(r"<(?:[^>:]+:)?([^>]+)>", route)
    per_name: list[list[str]] = []
    for name in names:
        converter = pattern.converters[name]
        values = [c for c in _candidates() if re.fullmatch(converter.regex, c)]
        per_name.append([converter.to_url(converter.to_python(v)) for v in values])
    options = []
    for combo in itertools.product(*per_name):
        values = iter(combo)
        options.append(re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda _m: next(values), route))
    return options


def _named_groups(regex: str) -> list[tuple[int, int, str]]:
    """(start, end, inner regex) of each top-level (?P<name>...) group."""
    groups = []
    for match in re.finditer(r"\(\?P<\w+>", regex):
        depth, i = 1, match.end()
        while i < len(regex) and depth:
            if regex[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(regex[i], 0)
            i += 1
        groups.append((match.start(), i, regex[match.end() : i - 1]))
    return groups


def _literal(regex_text: str) -> str:
    text = re.sub(r"^\^|\$$|\\Z$|\\A", "", regex_text)
    text = text.replace(".*", "").replace(".+", "x")
    return re.sub(r"\\(.)", r"\1", text)


def _regex_options(pattern: RegexPattern) -> list[str]:
    regex = str(pattern)
    groups = [g for g in _named_groups(regex) if not any(o[0] < g[0] and g[1] <= o[1] for o in _named_groups(regex))]
    per_group = [[c for c in _candidates() if re.fullmatch(inner, c)] for _, _, inner in groups]
    options = []
    for combo in itertools.product(*per_group):
        out, last = [], 0
        for (start, end, _), value in zip(groups, combo, strict=True):
            out.extend([_literal(regex[last:start]), value])
            last = end
        out.append(_literal(regex[last:]))
        options.append("".join(out))
    return options


def sample_path(route: Route) -> str:
    """A concrete path that resolves to this route's view, with random values for the kwargs."""
    parts = [_route_options(p) if isinstance(p, RoutePattern) else _regex_options(p) for p in route.chain]
    for combo in itertools.islice(itertools.product(*parts), 200):
        candidate = "/" + "".join(combo)
        try:
            match = resolve(candidate, urlconf=route.urlconf)
        except Resolver404:  # includes a converter refusing the value
            continue
        if match.func is route.callback:
            return candidate
    raise AssertionError(f"Cannot build a URL that resolves to {route.label}; extend tests/test_url_capabilities.py")


# --- the routes under test ----------------------------------------------------------------------

TENANT_ROUTES = routes_of(TENANT_URLCONF)
PUBLIC_SITE_ROUTES = routes_of(PUBLIC_URLCONF)


def _requirements(route: Route) -> list[tuple[str, str]]:
    """(HTTP method, capability) pairs this route guards; "GET" stands for "whatever it serves"."""
    access = declared_access(route)
    if isinstance(access, dict):
        return [(method, cap) for method, cap in sorted(access.items()) if cap in ALL]
    return [("GET", access)] if access in ALL else []


CAPABILITY_CASES = [
    pytest.param(route, method, cap, id=f"{route.route} {method} {cap}")
    for route in TENANT_ROUTES
    if access_problem(route) is None
    for method, cap in _requirements(route)
]
NON_PUBLIC_TENANT_ROUTES = [
    pytest.param(route, id=route.route)
    for route in TENANT_ROUTES
    if access_problem(route) is None and declared_access(route) != "public"
]
NON_PUBLIC_SITE_ROUTES = [
    route for route in PUBLIC_SITE_ROUTES if access_problem(route) is None and declared_access(route) != "public"
]
PLATFORM_ROUTES = [route for route in PUBLIC_SITE_ROUTES if declared_access(route) == PLATFORM_ACCESS]


def _request(client: Any, method: str, url: str, **extra: Any) -> Any:
    return getattr(client, method.lower())(url, **extra)


def _get_or_post(client: Any, url: str, **extra: Any) -> Any:
    """GET the URL; a POST-only view answers 405 to GET, so then try POST (CSRF is not enforced)."""
    response = client.get(url, **extra)
    if response.status_code == 405:
        response = client.post(url, **extra)
    return response


def _users_lacking(capability: str) -> list[str]:
    lacking_roles = [slug for slug, (_, caps) in BUILTIN_ROLES.items() if capability not in caps]
    return ["no_role", *lacking_roles[:1]]


# --- 1. declarations ----------------------------------------------------------------------------


def test_the_walk_reaches_included_urlconfs_and_drf_views():
    by_route = {route.route: route for route in TENANT_ROUTES}
    staff_detail = by_route["api/v1/staff/<uuid:id>"]
    assert staff_detail.drf_class is not None
    assert declared_access(staff_detail) == "staff.manage"
    assert declared_access(by_route["api/v1/me"]) == "login"
    assert any(route.route.startswith("settings/") for route in TENANT_ROUTES)


def test_every_clinic_route_declares_its_access():
    problems = [f"{route.label}: {problem}" for route in TENANT_ROUTES if (problem := access_problem(route))]
    assert not problems, "Routes without a valid access declaration:\n" + "\n".join(problems)


def test_every_public_site_route_declares_its_access():
    problems = [f"{route.label}: {problem}" for route in PUBLIC_SITE_ROUTES if (problem := access_problem(route))]
    assert not problems, "Public-site routes without a valid access declaration:\n" + "\n".join(problems)


def test_public_clinic_routes_are_exactly_the_allowlist():
    public_routes = {route.name or route.route: route for route in TENANT_ROUTES if declared_access(route) == "public"}
    unexpected = sorted(set(public_routes) - PUBLIC_TENANT_ROUTES)
    assert not unexpected, (
        "Public routes on the clinic host that are not in PUBLIC_TENANT_ROUTES (review, then add them): "
        + ", ".join(public_routes[name].label for name in unexpected)
    )
    stale = sorted(PUBLIC_TENANT_ROUTES - set(public_routes))
    assert not stale, f"PUBLIC_TENANT_ROUTES names routes that are gone or no longer public: {stale}"


def test_undeclared_views_are_reported_by_route():
    """The checker itself: an undeclared HTML view, a DRF view without `required_capability` and a
    DRF view that swapped the default permission are all caught; declared ones pass."""

    def plain_view(request: Any) -> Any:
        raise AssertionError

    class NoCapability(APIView):
        pass

    class OpenDoor(APIView):
        required_capability = "patients.view"
        permission_classes: list[Any] = []

    class Declared(APIView):
        required_capability = {"GET": "patients.view", "POST": "patients.edit"}

    def typo_view(request: Any) -> Any:
        raise AssertionError

    setattr(typo_view, ACCESS_ATTR, "patients.veiw")

    patterns = [
        path("plain", plain_view),
        path("drf", NoCapability.as_view()),
        path("open", OpenDoor.as_view()),
        path("typo", typo_view),
        path("ok", Declared.as_view()),
        path("public", public(lambda request: None)),
    ]
    problems = {route.route: access_problem(route) for route in walk(patterns, "unused")}
    assert problems["plain"] and "declares no access" in problems["plain"]
    assert problems["drf"] and "required_capability" in problems["drf"]
    assert problems["open"] and "HasRequiredCapability" in problems["open"]
    assert problems["typo"] and "unknown capability" in problems["typo"]
    assert problems["ok"] is None
    assert problems["public"] is None


# --- 2. users without the capability are refused ------------------------------------------------


@pytest.mark.parametrize(("route", "method", "capability"), CAPABILITY_CASES)
def test_capability_route_refuses_signed_in_users_lacking_it(clinic_a, client_for, route, method, capability):
    url = sample_path(route)
    for role in _users_lacking(capability):
        user = clinic_a.users[role]
        assert not user.has_capability(capability)
        attempts = []
        if method == "GET":
            attempts.append(("session", _get_or_post(client_for(clinic_a, role), url)))
        if route.drf_class is not None:
            token = {"HTTP_AUTHORIZATION": f"Bearer {make_token(clinic_a, user)}"}
            client = client_for(clinic_a)
            response = _get_or_post(client, url, **token) if method == "GET" else _request(client, method, url, **token)
            attempts.append(("token", response))
        elif method != "GET":
            attempts.append(("session", _request(client_for(clinic_a, role), method, url)))
        for how, response in attempts:
            assert response.status_code in DENIED, (
                f"{route.label} needs {capability!r} but {role} ({how}) got {response.status_code} on {method} {url}"
            )


# --- 3. anonymous visitors are refused ----------------------------------------------------------


def _assert_anonymous_refused(route: Route, response: Any, url: str) -> None:
    assert response.status_code not in SUCCESS and response.status_code in ANONYMOUS_REFUSED, (
        f"{route.label} served {response.status_code} to an anonymous visitor at {url}"
    )
    if response.status_code == 302:
        login = PLATFORM_LOGIN_URL if declared_access(route) == PLATFORM_ACCESS else settings.LOGIN_URL
        assert response["Location"].startswith(login), (
            f"{route.label} redirected an anonymous visitor to {response['Location']}, not to sign-in"
        )


@pytest.mark.parametrize("route", NON_PUBLIC_TENANT_ROUTES)
def test_non_public_clinic_route_refuses_anonymous_visitors(clinic_a, client_for, route):
    url = sample_path(route)
    _assert_anonymous_refused(route, _get_or_post(client_for(clinic_a), url), url)
    access = declared_access(route)
    if isinstance(access, dict):
        for method in access:
            _assert_anonymous_refused(route, _request(client_for(clinic_a), method, url), url)


def test_non_public_site_routes_refuse_anonymous_visitors(client, db):
    for route in NON_PUBLIC_SITE_ROUTES:
        url = sample_path(route)
        with override_settings(SHOW_PUBLIC_IF_NO_TENANT_FOUND=True):
            response = _get_or_post(client, url, HTTP_HOST=settings.DOCOS_BASE_DOMAIN)
        _assert_anonymous_refused(route, response, url)


def test_public_site_routes_are_served_by_the_public_urlconf(client, db):
    """The anonymous walk of the public site relies on the base domain reaching docos.urls_public."""
    landing = next(route for route in PUBLIC_SITE_ROUTES if route.name == "public-landing")
    with override_settings(SHOW_PUBLIC_IF_NO_TENANT_FOUND=True):
        response = client.get(sample_path(landing), HTTP_HOST=settings.DOCOS_BASE_DOMAIN)
    assert response.status_code == 200


# --- 4. the platform console ----------------------------------------------------------------------


def test_the_platform_console_is_walked():
    names = {route.name for route in PLATFORM_ROUTES}
    assert {"platform-clinics", "platform-clinic", "platform-plans", "platform-failed-payments"} <= names
    assert not [route.label for route in TENANT_ROUTES if declared_access(route) == PLATFORM_ACCESS]


def test_platform_routes_send_anonymous_visitors_to_the_platform_sign_in(db):
    for route in PLATFORM_ROUTES:
        url = sample_path(route)
        response = _get_or_post(public_client(), url)
        assert response.status_code == 302 and response["Location"].startswith(PLATFORM_LOGIN_URL), (
            f"{route.label} answered {response.status_code} to an anonymous visitor at {url}"
        )


def test_platform_routes_refuse_public_users_who_are_not_platform_staff(public_non_staff):
    client = public_client(public_non_staff)
    for route in PLATFORM_ROUTES:
        url = sample_path(route)
        assert _get_or_post(client, url).status_code == 403, f"{route.label} at {url}"


def test_platform_routes_are_not_found_on_a_clinic_host(clinic_a, client_for):
    """Not even the sign-in: the console's paths do not exist in the clinic URLconf."""
    owner = client_for(clinic_a, "owner")
    for route in [r for r in PUBLIC_SITE_ROUTES if r.route.startswith("platform/")]:
        url = sample_path(route)
        assert _get_or_post(owner, url).status_code == 404, f"{route.label} at {url} on {clinic_a.host}"
        assert _get_or_post(client_for(clinic_a), url).status_code == 404, f"{route.label} (anonymous)"


def test_platform_staff_are_served(platform_staff):
    client = public_client(platform_staff)
    for route in PLATFORM_ROUTES:
        url = sample_path(route)
        response = client.get(url)
        assert response.status_code in (200, 404, 405), f"{route.label} answered {response.status_code} at {url}"
