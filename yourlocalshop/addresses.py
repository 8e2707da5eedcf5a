"""Postal addresses as the shop stores them (a JSON object: name, line1, line2, city, postcode,
country), formatted once for every page, slip and document that shows one."""

from collections.abc import Mapping


def address_lines(address: Mapping | None, *, with_name: bool = True) -> list[str]:
    """The address as the lines of an envelope, empty parts left out."""
    address = address or {}
    locality = f"{address.get('postcode', '')} {address.get('city', '')}".strip()
    parts = (
        address.get("name") if with_name else None,
        address.get("line1"),
        address.get("line2"),
        locality,
        address.get("country"),
    )
    return [str(part) for part in parts if part]
