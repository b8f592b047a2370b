"""Path parameters: `{x:int}` takes at most 18 digits.

Starlette's own `int` converter takes any run of digits, so `/submissions/1000…0` (30 digits)
reached the database as an integer it cannot hold and answered 500. Every id pcmd hands out
fits in 64 bits; a longer one names nothing, and with this converter the route does not match:
404. Registered once by the app factory; it replaces the converter for the whole process, which
is what every route wants.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class BoundedInt(Convertor[int]):
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= value < 10**18:
            raise ValueError("an id is a whole number of at most 18 digits")
        return str(value)


def register() -> None:
    register_url_convertor("int", BoundedInt())
