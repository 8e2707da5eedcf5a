from django.dispatch import Signal

# Sent by inventory after a commit that changed the availability of these products
# (keyword argument `product_ids: list[int]`), so the catalogue can drop cached stock hints.
stock_changed = Signal()
