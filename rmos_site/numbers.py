"""One rule for a whole number written in a query string or a form field: ASCII digits with an
optional leading minus ("5", "-5"), nothing else. Python's ``int()`` also takes " 5", "+5",
"5_000" and other scripts' digits ("٣"), and ``str.isdigit()`` takes "²"; every parameter
reads numbers alike instead."""

from __future__ import annotations

import re

# Any length a person could mean ("99999999999999999999" is a number out of range, not "not a
# number"; every caller checks its range), but short of what int() refuses (4,300 digits).
_WHOLE = re.compile(r"-?[0-9]{1,4000}")


def whole_number(text: str) -> int | None:
    """The number ``text`` writes, or None when it is not a plain whole number."""
    return int(text) if isinstance(text, str) and _WHOLE.fullmatch(text) else None
