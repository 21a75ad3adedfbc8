"""Text users and imports write, made storable and exportable everywhere.

XML 1.0 (and so XLSX, and every Office file) allows tab, newline and carriage return, and
no other control character, no lone surrogate and neither U+FFFE nor U+FFFF. One such
character in one comment made every XLSX export fail, and PostgreSQL refuses NUL in text
outright. They carry no meaning anyone typed on purpose: they are removed where text comes
in (forms, importers) and again where it goes out (exports), for rows stored before.
"""

from __future__ import annotations

import re

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)
