"""The syntax of symbols and of the identifiers clients choose, shared by the gRPC edge
(api/validation.py) and the Python library's OrderRequest (schemas.py), so that both accept
exactly the same values."""

from __future__ import annotations

import re

SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-/]{0,31}", re.ASCII)
IDENTIFIER = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)  # printable ASCII, no spaces
