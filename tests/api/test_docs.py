"""The OpenAPI document and the interactive docs, served by the project under the CSP."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("get", "/api/v1/connectionSpecs"),
    ("get", "/api/v1/connections"),
    ("post", "/api/v1/connections"),
    ("get", "/api/v1/connections/{connection_id}"),
    ("patch", "/api/v1/connections/{connection_id}"),
    ("delete", "/api/v1/connections/{connection_id}"),
    ("get", "/api/v1/dataflows"),
    ("post", "/api/v1/dataflows"),
    ("get", "/api/v1/dataflows/{dataflow_id}"),
    ("patch", "/api/v1/dataflows/{dataflow_id}"),
    ("delete", "/api/v1/dataflows/{dataflow_id}"),
    ("get", "/api/v1/dataflows/{dataflow_id}/runs"),
    ("get", "/api/v1/segments"),
}


def test_the_openapi_document_lists_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations >= OPERATIONS
    schemas = document["components"]["schemas"]
    secret = schemas["AuthParamsIn"]["properties"]["secretKey"]
    assert secret.get("writeOnly") is True
    assert "secretKey" not in str(schemas["ConnectionOut"])
    assert "BearerToken" in document["components"]["securitySchemes"]


def test_the_docs_page_uses_local_files_and_no_inline_script(client):
    response = client.get("/api/v1/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert not re.search(r"https?://", html.replace("http://testserver", ""))  # no CDN
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert 'src="/static/' in attributes and not body.strip()
    for url in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
        assert finders.find(url), f"{url} is not among the static files"


@pytest.mark.browser
def test_the_docs_render_in_a_browser_without_csp_violations(live_server, page):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("/api/v1/dataflows/{dataflow_id}/runs").first.wait_for()
    assert page.get_by_role("button", name=re.compile("Authorize")).count() == 1
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems
