import pytest
from django.test import RequestFactory

from yourlocalshop.views import server_error

pytestmark = pytest.mark.django_db


def test_unknown_page_is_the_friendly_404_with_the_shop_around_it(client):
    response = client.get("/no-such-page/")

    body = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in body
    assert 'href="/products/"' in body
    assert '<nav class="site-nav" aria-label="Main">' in body


def test_500_page_renders_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/checkout/"))

    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert 'href="/"' in body
