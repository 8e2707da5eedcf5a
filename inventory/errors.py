from yourlocalshop.errors import DomainError, NotFound


class InsufficientStock(DomainError):
    """Raised with `availability=[{"sku", "requested", "available"}]`, one entry per short SKU."""

    code = "insufficient_stock"
    status = 409
    title = "Not enough stock."


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = "Reservation not found."


class ReservationReferenceConflict(DomainError):
    """The reference already holds an active reservation for different lines."""

    code = "reservation_reference_conflict"
    status = 409
    title = "This reference already has a different active reservation."


class StockBelowReserved(DomainError):
    """A stock change would leave fewer units on hand than are reserved (or fewer than zero)."""

    code = "stock_below_reserved"
    status = 409
    title = "Stock cannot go below what is reserved."


class StockReturnConflict(DomainError):
    """The return reference was already recorded with a different quantity."""

    code = "stock_return_conflict"
    status = 409
    title = "This return was already recorded differently."


class InvalidStockRequest(DomainError):
    """Quantities, TTLs, references or reasons that make no sense (zero, negative, empty)."""

    code = "invalid_stock_request"
    status = 422
    title = "The stock request is invalid."


class CatalogueNotEmpty(DomainError):
    """Seeding was asked of a catalogue that already has products, without leave to update it."""

    code = "catalogue_not_empty"
    status = 409
    title = "The catalogue already has products."


class SupplierFileInvalid(DomainError):
    """A supplier file cannot be read, or has rows that cannot be applied; nothing was written.
    `errors` lists each problem with its row number."""

    code = "supplier_file_invalid"
    status = 400
    title = "The supplier file is invalid."
