import re

from django.contrib.staticfiles import finders
from drf_spectacular.validation import validate_schema

OPENAPI_JSON = "application/vnd.oai.openapi+json"


def _schema(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT=OPENAPI_JSON)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_schema_is_valid_openapi_3_with_the_account_endpoints(clinic_a, client_for):
    schema = _schema(client_for(clinic_a))  # public: no sign-in needed
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"/api/v1/me", "/api/v1/locations", "/api/v1/staff", "/api/v1/staff/{id}"} <= set(paths)
    assert set(paths["/api/v1/me"]) == {"get"}
    staff_params = {p["name"] for p in paths["/api/v1/staff"]["get"]["parameters"]}
    assert {"q", "role", "status", "page"} <= staff_params
    staff_ok = paths["/api/v1/staff"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert staff_ok["$ref"].endswith("/PaginatedStaffOutputList")
    assert paths["/api/v1/staff/{id}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"][
        "$ref"
    ].endswith("/Error")
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert "cookieAuth" in schemes
    me_properties = schema["components"]["schemas"]["MeOutput"]["properties"]
    assert {"capabilities", "locations", "role", "clinic"} <= set(me_properties)


def test_schema_without_accept_header_is_served_as_yaml(clinic_a, client_for):
    response = client_for(clinic_a).get("/api/v1/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")


def test_docs_page_loads_swagger_ui_from_our_static_files_under_the_csp(clinic_a, client_for):
    client = client_for(clinic_a)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp

    # No inline script or style (the CSP would block them) and nothing from another origin.
    assert "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    styles = re.findall(r'<link[^>]*\bhref="([^"]+)"', html)
    assert scripts and styles
    for url in scripts + styles:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url

    static_assets = [url for url in scripts + styles if url.startswith("/static/")]
    assert any(url.endswith("swagger-ui-bundle.js") for url in static_assets)
    assert any(url.endswith("swagger-ui.css") for url in static_assets)
    for url in static_assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not one of our static files"

    # The initialisation script is a separate same-origin request, pointing at our schema URL.
    (init_script,) = [url for url in scripts if not url.startswith("/static/")]
    assert init_script.startswith("/api/v1/docs/?")
    script = client.get(init_script.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert 'url: "/api/v1/schema/"' in script.content.decode()
    assert "SwaggerUIBundle(" in script.content.decode()
