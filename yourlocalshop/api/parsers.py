"""The API's JSON parser: DRF's, refusing input that would otherwise fail far from the parser.

- Nesting deeper than `MAX_JSON_DEPTH`: no request of this API nests more than a few levels, and a
  deep document exhausts Python's recursion limit (a 500) while parsing, hashing or serialising.
- A NUL character in any key or string: PostgreSQL refuses it in text and jsonb columns (a 500 at
  the first write), and no field of this shop has a use for it.

Both are answered 400 `malformed_request`, like any other unparseable body.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


def refuse_hostile_json(data) -> None:
    """Raise `ParseError` when `data` nests deeper than MAX_JSON_DEPTH or holds a NUL. Iterative,
    so checking cannot itself run out of stack."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_JSON_DEPTH:
            raise ParseError(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise ParseError("The JSON body holds a NUL character.")
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise ParseError("The JSON body holds a NUL character.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError as error:
            raise ParseError(f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.") from error
        refuse_hostile_json(data)
        return data
