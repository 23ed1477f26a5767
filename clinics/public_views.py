from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from docos.permissions import public


@public
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "clinics/landing.html")
