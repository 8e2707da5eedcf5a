from yourlocalshop.errors import DomainError


class ProductNotFound(DomainError):
    """Unknown SKU, or a product the shop has taken off sale (inactive)."""

    code = "product_not_found"
    status = 404
    title = "Product not found."


class SeedFileInvalid(DomainError):
    """A product seed file has rows that cannot be loaded; nothing was written."""

    code = "seed_file_invalid"
    status = 400
    title = "The seed file is invalid."


class UnknownCategory(DomainError):
    """A list filter names a category that does not exist (a bad query value, hence 400)."""

    code = "unknown_category"
    status = 400
    title = "Bad request."
