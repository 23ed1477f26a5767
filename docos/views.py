from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from docos.dashboard import panels_for
from docos.permissions import login_only, public

FAVICON = "img/favicon.svg"


@login_only
def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's dashboard (panels from the apps, by role and capability) and shortcuts."""
    return render(request, "home.html", {"panels": panels_for(request.user)})


@public
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own (pages link the SVG): point them at it, on any host.
    Cacheable for a day; the Cache-Control set here also keeps docos.middleware.NoStoreMiddleware off."""
    response = HttpResponseRedirect(static(FAVICON))
    response["Cache-Control"] = "public, max-age=86400"
    return response
