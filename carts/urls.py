from django.urls import path

from carts import views

app_name = "carts"

urlpatterns = [
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="add"),
    path("cart/items/<int:item_id>/", views.cart_item_update, name="item_update"),
    path("cart/items/<int:item_id>/remove/", views.cart_item_remove, name="item_remove"),
]
