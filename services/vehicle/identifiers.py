"""The two search keys of the vehicle register and what a person may type for them (VRD-1).

Only a *complete* VIN or a *complete* registration number is a key: `normalize_vin` and
`normalize_plate` turn what a person types into the canonical key (case, spaces, hyphens and dots
do not matter) and refuse everything else with `InvalidInput` naming the allowed forms: partial
strings, wildcards (`*`, `?`, `%`, `_`), names, and plates that match none of the state's formats.

The messages never repeat the value typed (PUR-2: the query must not end up in a server log).
Nothing here caches a key.
"""

from __future__ import annotations

import datetime
import itertools
import re
import unicodedata
from collections.abc import Callable

from prum.services.common.errors import InvalidInput, quote
from prum.services.vehicle.plates import COUNTRY_ALIASES, PLATE_FORMATS, formats_of, read_plate

VIN_LENGTH = 17
VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
"""ISO 3779: digits and capital letters except I, O and Q."""

VIN_TEXT = ("a complete VIN: exactly 17 characters A-Z and 0-9 without I, O and Q (ISO 3779), with a valid "
            "check digit in position 9 for North American makers (world manufacturer identifier 1-5)")

WILDCARDS = "*?%_"
SEPARATORS = " \t-.\u2010\u2011\u2012\u2013\u2014\u00b7"
"""What a person may put between the characters of a key: spaces, hyphens, dashes, dots."""

CHECK_DIGIT_REGIONS = "12345"
"""First WMI characters whose makers must carry the check digit (North America: 49 CFR 565)."""

_TRANSLITERATION = {**{c: v for c, v in zip("ABCDEFGH", range(1, 9))},
                    **{c: v for c, v in zip("JKLMN", range(1, 6))}, "P": 7, "R": 9,
                    **{c: v for c, v in zip("STUVWXYZ", range(2, 10))},
                    **{str(d): d for d in range(10)}}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

# Greek and Cyrillic capitals that look like Latin ones (Greek and Bulgarian plates use only those).
_HOMOGLYPHS = str.maketrans("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧАВЕКМНОРСТУХ", "ABEZHIKMNOPTYXABEKMHOPCTYX")
_PLATE_CHARACTERS = re.compile(r"[0-9A-ZÄÖÜÅČĆĐŠŽ]+")
_WILDCARD = re.compile(f"[{re.escape(WILDCARDS)}]")
_DIGIT = re.compile(r"[0-9]")
_NON_ASCII_DIGIT = re.compile(r"[^\D0-9]")  # a decimal digit of another script: "٣", "１"
_NAME_WORDS = re.compile(r"\b[^\W\d_]{2,}\s+[^\W\d_]{2,}\s+[^\W\d_]{2,}\b")
_SEPARATOR_RUN = re.compile(f"[{re.escape(SEPARATORS)}]+")


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 / 49 CFR 565 check digit of a 17-character VIN ("0"-"9" or "X")."""
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def uses_check_digit(vin: str) -> bool:
    """Whether the maker of this VIN must carry a check digit (North American WMI)."""
    return vin[:1] in CHECK_DIGIT_REGIONS


def _refuse(message: str, field: str, allowed: str | Callable[[], str]) -> InvalidInput:
    allowed_text = allowed if isinstance(allowed, str) else allowed()
    return InvalidInput(f"{message}; allowed: {allowed_text} (VRD-1)", field=field)


def _common_refusals(text: object, field: str, allowed: str | Callable[[], str], what: str) -> str:
    """The checks both keys share; returns the text upper-cased and stripped."""
    if not isinstance(text, str):
        raise _refuse(f"{what} must be text, not {type(text).__name__}", field, allowed)
    stripped = text.strip()
    if not stripped:
        raise _refuse(f"empty {what}", field, allowed)
    if _NON_ASCII_DIGIT.search(stripped):
        raise _refuse(f"a {what} is written with the ASCII digits 0-9; this has a digit of another script", field,
                      allowed)
    if _WILDCARD.search(stripped):
        raise _refuse("wildcards (*, ?, %, _) are not allowed: the register answers only for a complete key",
                      field, allowed)
    if not _DIGIT.search(stripped) and sum(c.isalpha() for c in stripped) >= 2:
        raise _refuse(f"this has no digits, so it is not a {what}; the register is never searched by the name "
                      "of an owner or holder", field, allowed)
    if "," in stripped or "'" in stripped or _NAME_WORDS.search(stripped):
        raise _refuse(f"this reads like a name or an address, not a {what}; the register is never searched by "
                      "the name of an owner or holder", field, allowed)
    return stripped.upper()


def normalize_vin(text: object) -> str:
    """The canonical VIN (upper case, no separators) for what a person typed; InvalidInput otherwise (VRD-1).

    Refuses an empty value, wildcards, names, characters other than letters and digits (spaces,
    hyphens and dots are dropped), I, O and Q, anything but exactly 17 characters (a partial VIN)
    and, for North American makers, a wrong check digit.
    """
    upper = _common_refusals(text, "vin", VIN_TEXT, "VIN")
    vin = _SEPARATOR_RUN.sub("", upper)
    if not vin.isascii() or not vin.isalnum():
        raise _refuse("a VIN has only letters and digits (spaces, hyphens and dots are ignored)", "vin", VIN_TEXT)
    if any(c in "IOQ" for c in vin):
        raise _refuse("a VIN never contains I, O or Q (ISO 3779)", "vin", VIN_TEXT)
    if len(vin) != VIN_LENGTH:
        raise _refuse(f"{len(vin)} characters is not a complete VIN: a VIN has exactly 17, partial VINs are "
                      "refused", "vin", VIN_TEXT)
    if uses_check_digit(vin) and vin[8] != vin_check_digit(vin):
        raise _refuse("the check digit (9th character) does not agree with the rest of the VIN; North American "
                      "makers (WMI 1-5) always carry one", "vin", VIN_TEXT)
    return vin


def supported_countries() -> list[str]:
    """The state codes `normalize_plate` knows formats for (aliases not included)."""
    return sorted(PLATE_FORMATS)


def plate_forms_text(country: str) -> str:
    """The allowed plate forms of a state, for messages: "AB-123-CD (SIV, since 2009), ..."."""
    formats = formats_of(country) or ()
    return f"a complete registration number of {country.upper()}: " + ", ".join(
        f"{f.example} ({f.name})" for f in formats)


def _country(country: object) -> str:
    if not isinstance(country, str) or formats_of(country) is None:
        supported = ", ".join(supported_countries() + sorted(COUNTRY_ALIASES))
        raise InvalidInput(f"no registration-number formats for country {quote(country)}; supported: {supported}",
                           field="country")
    code = country.strip().upper()
    return COUNTRY_ALIASES.get(code, code)


def normalize_plate(text: object, country: str) -> str:
    """The canonical registration number of `country` for what a person typed; InvalidInput otherwise (VRD-1).

    Case, spaces, hyphens and dots do not matter, except that a separator the person typed must
    fall between two parts of the plate: that is how "BA-B 1234" and "B-AB 1234" are told apart. A
    value that matches none of the state's formats (a partial plate, a wildcard, a name, a plate
    of another state) is refused, and so is one that two formats read differently.
    """
    code = _country(country)

    def allowed() -> str:
        return plate_forms_text(code)

    upper = _common_refusals(text, "registration_number", allowed, "registration number").translate(_HOMOGLYPHS)
    pieces = [piece for piece in _SEPARATOR_RUN.split(upper) if piece]
    compact = "".join(pieces)
    if not _PLATE_CHARACTERS.fullmatch(compact):
        raise _refuse("a registration number has only letters and digits (spaces, hyphens and dots between its "
                      "parts are allowed)", "registration_number", allowed)
    breaks = frozenset(itertools.accumulate(len(piece) for piece in pieces[:-1]))
    readings = read_plate(code, compact, breaks)
    if len(readings) == 1:
        return readings[0]
    if len(readings) > 1:
        raise _refuse(f"ambiguous: {len(readings)} different plates of {code} read this way; type it with its "
                      "separators as on the plate", "registration_number", allowed)
    hint = " (a VIN goes in the vin field)" if len(compact) == VIN_LENGTH else ""
    raise _refuse(f"not a complete registration number of {code}{hint}", "registration_number", allowed)



HOLDER_TEXT = ("the complete surname, first names and date of birth (YYYY-MM-DD) of a natural person who owns or "
               "keeps the vehicle")


def _name_part(text: str) -> str:
    """A name as a key: Unicode NFKC, case-folded, one space between words (diacritics are kept: a name is compared
    as the register writes it, not guessed at)."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def holder_key(surname: str, first_names: str, date_of_birth: str) -> str:
    """The register's key of an owner or holder (P2-VRD-1, keys unconfirmed: surname, first names and date of
    birth, all complete): a partial name, a wildcard or a date that is not a calendar date is refused, without
    repeating the value (PUR-2)."""
    parts = {"surname": _name_part(surname), "first_names": _name_part(first_names)}
    for field, part in parts.items():
        if not part:
            raise InvalidInput(f"is empty; a search by owner or holder needs {HOLDER_TEXT} (P2-VRD-1)",
                               field=f"holder.{field}")
        if any(c in WILDCARDS for c in part):
            raise InvalidInput(f"contains a wildcard; a search by owner or holder needs {HOLDER_TEXT} (P2-VRD-1)",
                               field=f"holder.{field}")
    try:
        born = datetime.date.fromisoformat(date_of_birth.strip()) if len(date_of_birth.strip()) == 10 else None
    except ValueError:
        born = None
    if born is None:
        raise InvalidInput(f"is not a complete date of birth; allowed: YYYY-MM-DD, as part of {HOLDER_TEXT} "
                           f"(P2-VRD-1)", field="holder.date_of_birth")
    return f"{parts['surname']}|{parts['first_names']}|{born.isoformat()}"
