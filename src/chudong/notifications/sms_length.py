"""SMS length: GSM 03.38 (7-bit) vs UCS-2 and the number of segments a text costs.

Vietnamese with diacritics is not in the GSM-7 alphabet, so such a text is sent as
UCS-2: 70 characters in one SMS, 67 per segment when concatenated (the user-data
header takes the rest). GSM-7 gives 160 / 153; characters of the extension table
(``^{}[]~|€\\`` and form feed) take two septets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    """How a text is encoded and what it costs."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of one segment at this length


def sms_length(text: str) -> SmsLength:
    """Return the encoding, length and segment count of ``text`` as an SMS."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, enc = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, enc = 70, 67, "UCS-2"
    if units <= single:
        return SmsLength(enc, units, 1 if units else 0, single)
    return SmsLength(enc, units, math.ceil(units / multi), multi)
