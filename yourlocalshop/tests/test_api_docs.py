"""/api/docs (Swagger UI) and /api/redoc work offline: everything they load is the shop's own."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders

DOCS_PAGES = ["/api/docs", "/api/redoc"]
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def _references(html: str) -> list[str]:
    return REFERENCE.findall(html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS_PAGES)
def test_api_docs_page_references_no_external_host(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE), html
    references = _references(html)
    assert references, "the page loads its UI from script and link tags"
    for reference in references:
        assert not urlsplit(reference).netloc, reference


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS_PAGES)
def test_api_docs_assets_are_installed_static_files(client, path):
    html = client.get(path).content.decode()

    static_files = [ref for ref in _references(html) if ref.startswith("/static/")]

    assert static_files
    for reference in static_files:
        assert finders.find(reference.removeprefix("/static/")), reference


@pytest.mark.django_db
def test_swagger_ui_start_up_script_is_served_by_the_shop(client):
    html = client.get("/api/docs").content.decode()
    scripts = [ref for ref in _references(html) if ref.startswith("/api/docs")]

    response = client.get(scripts[0])

    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()
    assert "/api/schema" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS_PAGES)
def test_api_docs_policy_allows_only_the_shop_origin(client, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src" not in policy  # default-src 'self': no inline or foreign scripts
    assert "https:" not in policy
    assert "frame-ancestors 'none'" in policy
