"""Cart forms only turn text into whole numbers; limits and stock are `carts.services` rules."""

from django import forms


class CartItemAddForm(forms.Form):
    sku = forms.CharField(max_length=64)
    quantity = forms.IntegerField(min_value=1)


class CartItemUpdateForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, help_text="0 removes the line.")
