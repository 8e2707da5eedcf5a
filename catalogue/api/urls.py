from django.urls import path

from catalogue.api.views import CategoryListView, ProductDetailView, ProductListView

urlpatterns = [
    path("products", ProductListView.as_view(), name="product-list"),
    path("products/<str:sku>", ProductDetailView.as_view(), name="product-detail"),
    path("categories", CategoryListView.as_view(), name="category-list"),
]
