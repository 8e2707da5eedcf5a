from yourlocalshop.errors import DomainError


class CartItemNotFound(DomainError):
    """Also the answer for an item of somebody else's cart: no cross-cart access, ever."""

    code = "cart_item_not_found"
    status = 404
    title = "This item is not in your cart."


class CartNotOpen(DomainError):
    code = "cart_not_open"
    status = 409
    title = "This cart can no longer be changed."


class CartNotFound(DomainError):
    code = "cart_not_found"
    status = 404
    title = "No open cart was found."


class CartEmpty(DomainError):
    code = "cart_empty"
    status = 422
    title = "The cart is empty."


class QuantityAboveLimit(DomainError):
    code = "quantity_above_limit"
    status = 422
    title = "That is more than one order line can hold."


class TooManyActiveReservations(DomainError):
    code = "too_many_active_reservations"
    status = 429
    title = "Too many checkouts are holding stock for you right now."


class DeliveryNotAvailable(DomainError):
    """The shop has no delivery zone for the address's country (`country`)."""

    code = "delivery_not_available"
    status = 422
    title = "The shop does not deliver to this country."
