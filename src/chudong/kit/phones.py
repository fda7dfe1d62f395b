"""Vietnamese phone numbers: accept the forms agencies send, store E.164 (+84...).

Accepted: ``+84…``, ``84…``, ``0…``, with spaces, dots, dashes or brackets, the old
11-digit mobile numbers renumbered in 2018 (e.g. 0168… → 038…, also as +84 168…), and a
number whose leading zero a spreadsheet export dropped (``905123456``, ``1688123456``). Mobile numbers are 10
digits starting 03, 05, 07, 08, 09; landlines start 02 (11 digits with area code).
"""

from __future__ import annotations

import re

# 2018 conversion of 11-digit mobile prefixes to 10-digit ones (Ministry of Information
# and Communications, Circular 22/2014 implementation plan).
OLD_MOBILE_PREFIXES = {
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036", "0167": "037",
    "0168": "038", "0169": "039", "0120": "070", "0121": "079", "0122": "077", "0126": "076",
    "0128": "078", "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0186": "056", "0188": "058", "0199": "059",
}
MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
_SEPARATORS = re.compile(r"[\s.\-()]")


class InvalidPhone(ValueError):
    """The text is not a Vietnamese phone number; the message says why."""


def normalise_phone(text: str) -> str:
    """Return the number in E.164 form (``+84xxxxxxxxx``) or raise InvalidPhone."""
    raw = _SEPARATORS.sub("", text or "")
    if not raw:
        raise InvalidPhone("empty phone number")
    if raw.startswith("+84"):
        national = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) in (11, 12):
        national = "0" + raw[2:]
    elif raw.isascii() and raw.isdigit() and (
            (len(raw) == 9 and raw[0] in "35789") or (len(raw) == 10 and "0" + raw[:3] in OLD_MOBILE_PREFIXES)):
        national = "0" + raw  # the leading zero lost in a spreadsheet
    else:
        national = raw
    if not (national.isascii() and national.isdigit()):
        raise InvalidPhone(f"phone {text!r} has characters other than digits")
    if not national.startswith("0"):
        raise InvalidPhone(f"phone {text!r} must start with +84 or 0")
    if len(national) == 11 and national[:4] in OLD_MOBILE_PREFIXES:
        national = OLD_MOBILE_PREFIXES[national[:4]] + national[4:]
    if len(national) == 10 and national.startswith(MOBILE_PREFIXES):
        return "+84" + national[1:]
    if len(national) == 11 and national.startswith("02"):
        return "+84" + national[1:]
    raise InvalidPhone(f"phone {text!r} is not a Vietnamese mobile (10 digits, 03/05/07/08/09) or landline (02…)")


def is_mobile(e164: str) -> bool:
    """Return True for a normalised mobile number (can receive SMS)."""
    return e164.startswith("+84") and len(e164) == 12 and ("0" + e164[3]) in MOBILE_PREFIXES


def last_digits(e164: str, n: int = 4) -> str:
    """Return the last ``n`` digits (used as a second factor and for masked display)."""
    return e164[-n:]
