"""Synthetic national police records (EPRIS, P2-EPRIS-1) and queries with planted variations.

Each state's records carry the names of its faker locale (Greek ones in Greek script, Polish and German with
their diacritics), a quarter with a compound surname, some with an alias, a date of birth, nationality,
place and country of birth and gender. `planted_query` makes the query another state's officer would type
for a record, with one variation a real index must tolerate: transliteration and diacritics (Müller ->
Mueller, Łukasz -> Lukasz, Ελένη -> Eleni), compound surnames swapped (García López -> López García), first
names and surnames swapped, a typo, the year of birth only, day and month swapped.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from enum import StrEnum

from faker import Faker
from prum.federation.synthetic.vehicle import FAKER_LOCALE, ISO_COUNTRY
from prum.services.police_records.index import BiographicQuery, PoliceRecord
from unidecode import unidecode

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


class Variation(StrEnum):
    EXACT = "EXACT"
    TRANSLITERATION = "TRANSLITERATION"  # Latin letters without diacritics, or German's ue/oe/ae
    COMPOUND_SWAPPED = "COMPOUND_SWAPPED"  # García López -> López García
    NAMES_SWAPPED = "NAMES_SWAPPED"  # first names given as surnames and back
    TYPO = "TYPO"  # one letter changed, dropped or doubled in the surname
    YEAR_ONLY = "YEAR_ONLY"
    DAY_MONTH_SWAPPED = "DAY_MONTH_SWAPPED"


class _Names:
    """A locale's names, pooled: cheap to draw a million records."""

    def __init__(self, country: str, seed: int, size: int = 600) -> None:
        faker = Faker(FAKER_LOCALE.get(country, "en_GB"))
        faker.seed_instance(seed)
        self.surnames = list(dict.fromkeys(faker.last_name() for _ in range(size)))
        self.female = list(dict.fromkeys(faker.first_name_female() for _ in range(size // 2)))
        self.male = list(dict.fromkeys(faker.first_name_male() for _ in range(size // 2)))
        self.places = list(dict.fromkeys(faker.city() for _ in range(size // 4)))


def police_records(country: str, count: int, seed: int) -> Iterator[PoliceRecord]:
    """`count` records of `country`'s national index, deterministic for a seed."""
    rng = random.Random(f"{seed}-{country}-police-records")
    names = _Names(country, seed)
    iso = ISO_COUNTRY.get(country, country)
    for number in range(1, count + 1):
        gender = rng.choice("FM")
        first = rng.choice(names.female if gender == "F" else names.male)
        surname = rng.choice(names.surnames)
        if rng.random() < 0.25:
            surname = f"{surname} {rng.choice(names.surnames)}"
        aliases: tuple[str, ...] = ()
        if rng.random() < 0.15:
            aliases = (f"{rng.choice(names.female if gender == 'F' else names.male)} {surname}",)
        born = date(1945, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
        native = rng.random() < 0.85
        yield PoliceRecord(f"{country}-PR-{number:07d}", first, surname, born.isoformat(), aliases,
                           iso if native else rng.choice(("DE", "FR", "PL", "GR", "ES", "IT", "RO")),
                           rng.choice(names.places), iso if native else "", gender)


def _typo(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = rng.choice(letters[1:] or letters)  # keep the first letter: a typo rarely hits it
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1:]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice("aeiounrst") + text[i + 1:]


def planted_query(record: PoliceRecord, variation: Variation, rng: random.Random) -> BiographicQuery:
    """The query for `record` with one planted `variation`."""
    first, surname, born = record.first_names, record.surnames, record.date_of_birth
    if variation is Variation.TRANSLITERATION:
        first, surname = unidecode(first.translate(_GERMAN)), unidecode(surname.translate(_GERMAN))
    elif variation is Variation.COMPOUND_SWAPPED:
        parts = surname.split()
        surname = " ".join(reversed(parts)) if len(parts) > 1 else surname
    elif variation is Variation.NAMES_SWAPPED:
        first, surname = surname, first
    elif variation is Variation.TYPO:
        surname = _typo(rng, surname)
    elif variation is Variation.YEAR_ONLY:
        born = born[:4]
    elif variation is Variation.DAY_MONTH_SWAPPED:
        year, month, day = born.split("-")
        born = f"{year}-{day}-{month}" if int(day) <= 12 else f"{year}-{month}"  # no such month: year and month
    return BiographicQuery(first, surname, born)


def unrelated_query(rng: random.Random, country: str = "IE") -> BiographicQuery:
    """A person of another locale, on no state's records (the false-match rate's probe)."""
    names = _Names(country, rng.randrange(1_000_000), size=60)
    born = date(1945, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
    return BiographicQuery(rng.choice(names.female + names.male), rng.choice(names.surnames), born.isoformat())
