"""Row ids as they arrive in URLs and forms.

Ids are 32-bit integers in PostgreSQL: a number outside 1..``MAX_ROW_ID`` names no row, and
must not reach the database (SQLite raises ``OverflowError`` beyond 64 bits, PostgreSQL a
``DataError`` beyond 32). Every ``<int:…>`` in a route is a ``RowIdConverter`` (``create_app``
installs it), so such a number matches no route (404); ``row_id`` reads one from a form.
"""

import re

from werkzeug.routing import IntegerConverter

MAX_ROW_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:…>``: 1 to ``MAX_ROW_ID`` unless the rule says otherwise."""

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ROW_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def row_id(value) -> int | None:
    """``value`` (text from a form or query) as a row id; None when it names no row (not
    ASCII digits, 0, or beyond ``MAX_ROW_ID``)."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,10}", value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ROW_ID else None
