from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from docos.permissions import login_only


@login_only
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")
