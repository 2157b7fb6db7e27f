"""Registration-plate formats of the EU member states, as data, and the engine that reads them (VRD-1).

Each state has a tuple of `PlateFormat`s. A format is a sequence of segments (letters, digits, a
code from a table such as a German district, a fixed literal) with the separator the canonical form
puts between them (`"-"`, `" "`, or `""`). From that one description the engine derives

- the regular expressions that recognise a plate typed without separators (one per combination of
  segment lengths, so every match has exactly one reading),
- the canonical form (segments joined with the format's separators, e.g. "B-AB 1234"),
- where a person may put a separator (only at a segment boundary, which is how "BA-B 1234" and
  "B-AB 1234" are told apart), and
- random plates for the synthetic registers (`random_plate`).

The tables follow the current national series and the older series still on the road, simplified
where a national rule is too fine to model (noted per state). They are data: correct them here.
Sources: the Wikipedia articles "Vehicle registration plates of <state>"; German district codes as
listed by berlin.de (via faker's de_DE provider), Austrian district codes via faker's de_AT provider.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"


def _without(letters: str, excluded: str) -> str:
    return "".join(c for c in letters if c not in excluded)


# -- segments ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """One run of a plate: `kind` is "L" (letters), "N" (digits), "X" (letters or digits), "C" (a code
    from `codes`) or "K" (the literal in `chars`); its length is lo..hi characters."""

    kind: str
    lo: int
    hi: int
    chars: str = ""
    codes: frozenset[str] = frozenset()
    leading_zero: bool = True

    def lengths(self) -> list[int]:
        if self.kind == "C":
            return sorted({len(code) for code in self.codes})
        return list(range(self.lo, self.hi + 1))

    def pattern(self, length: int) -> str:
        if self.kind == "K":
            return re.escape(self.chars)
        if self.kind == "C":
            letters = "".join(sorted({c for code in self.codes if len(code) == length for c in code}))
            return f"([{re.escape(letters)}]{{{length}}})"
        chars = re.escape(self.chars)
        if self.kind == "N" and not self.leading_zero:
            return f"([1-9][0-9]{{{length - 1}}})"
        return f"([{chars}]{{{length}}})"

    def accepts(self, value: str) -> bool:
        return self.kind != "C" or value in self.codes

    def draw(self, rng: random.Random, length: int) -> str:
        if self.kind == "K":
            return self.chars
        if self.kind == "C":
            return rng.choice(sorted(code for code in self.codes if len(code) == length))
        if self.kind == "N" and not self.leading_zero:
            return rng.choice("123456789") + "".join(rng.choice(DIGITS) for _ in range(length - 1))
        return "".join(rng.choice(self.chars) for _ in range(length))


def L(length: int | tuple[int, int], letters: str = AZ) -> Segment:
    lo, hi = (length, length) if isinstance(length, int) else length
    return Segment("L", lo, hi, letters)


def N(length: int | tuple[int, int], *, leading_zero: bool = True) -> Segment:
    lo, hi = (length, length) if isinstance(length, int) else length
    return Segment("N", lo, hi, DIGITS, leading_zero=leading_zero)


def Z(length: int | tuple[int, int]) -> Segment:
    """Digits without a leading zero."""
    return N(length, leading_zero=False)


def X(length: int | tuple[int, int], chars: str = AZ + DIGITS) -> Segment:
    lo, hi = (length, length) if isinstance(length, int) else length
    return Segment("X", lo, hi, chars)


def C(codes: Iterable[str] | str) -> Segment:
    table = frozenset(codes.split() if isinstance(codes, str) else codes)
    return Segment("C", min(map(len, table)), max(map(len, table)), codes=table)


def K(literal: str) -> Segment:
    return Segment("K", len(literal), len(literal), literal)


# -- formats ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Variant:
    """One combination of segment lengths of a format: a fixed-length regex with one reading."""

    format: PlateFormat
    lengths: tuple[int, ...]
    regex: re.Pattern[str]
    boundaries: frozenset[int]


@dataclass(frozen=True)
class PlateFormat:
    """One plate series of a state: `parts` alternate Segment, separator, Segment, ...

    `example` is a plate in canonical form (checked by the tests); `weight` is how often the
    synthetic registers draw it; `min_len` / `max_len` bound the characters without separators;
    `forbidden` are regexes on the compact plate that the series never issues.
    """

    name: str
    example: str
    parts: tuple[Segment | str, ...]
    weight: float = 1.0
    min_len: int = 1
    max_len: int = 99
    forbidden: tuple[str, ...] = ()
    segments: tuple[Segment, ...] = field(init=False, repr=False)
    separators: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        segments = self.parts[0::2]
        separators = self.parts[1::2]
        if not all(isinstance(s, Segment) for s in segments) or not all(isinstance(s, str) for s in separators):
            raise TypeError(f"plate format {self.name!r}: parts alternate Segment and separator string")
        object.__setattr__(self, "segments", segments)
        object.__setattr__(self, "separators", separators)

    @cached_property
    def _forbidden(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(pattern) for pattern in self.forbidden)

    @cached_property
    def variants(self) -> tuple[_Variant, ...]:
        found = []
        for lengths in itertools.product(*(segment.lengths() for segment in self.segments)):
            total = sum(lengths)
            if not self.min_len <= total <= self.max_len:
                continue
            regex = re.compile("".join(segment.pattern(n) for segment, n in zip(self.segments, lengths)))
            boundaries = frozenset(itertools.accumulate(lengths[:-1]))
            found.append(_Variant(self, lengths, regex, boundaries))
        return tuple(found)

    def render(self, values: Sequence[str]) -> str:
        out = [values[0]]
        for separator, value in zip(self.separators, values[1:]):
            out += [separator, value]
        return "".join(out)

    def read_variant(self, variant: _Variant, compact: str, breaks: frozenset[int]) -> str | None:
        """The canonical form of `compact` read as `variant` of this format, or None."""
        if not breaks <= variant.boundaries or variant.regex.fullmatch(compact) is None:
            return None
        values, position = [], 0
        for segment, n in zip(self.segments, variant.lengths):
            value = compact[position:position + n]
            if not segment.accepts(value):
                return None
            values.append(value)
            position += n
        if self.forbidden and any(pattern.search(compact) for pattern in self._forbidden):
            return None
        return self.render(values)

    def read(self, compact: str, breaks: frozenset[int] = frozenset()) -> list[str]:
        """The canonical forms of `compact` in this format whose segment boundaries include `breaks`."""
        readings = (self.read_variant(v, compact, breaks) for v in self.variants if sum(v.lengths) == len(compact))
        return [reading for reading in readings if reading is not None]

    def draw(self, rng: random.Random) -> str:
        """A random plate of this format in canonical form."""
        for _ in range(1000):
            variant = rng.choice(self.variants)
            values = [segment.draw(rng, n) for segment, n in zip(self.segments, variant.lengths)]
            compact = "".join(values)
            if not any(pattern.search(compact) for pattern in self._forbidden):
                return self.render(values)
        raise RuntimeError(f"plate format {self.name!r}: no plate drawn in 1000 tries")  # pragma: no cover


def _shape(shape: str, classes: dict[str, Segment]) -> tuple[Segment | str, ...]:
    """Parts from a shape such as "99-AAA-9": runs of one class character become one segment."""
    parts: list[Segment | str] = []
    pending_separator = ""
    for char, run in itertools.groupby(shape):
        n = len(list(run))
        if char in classes:
            if parts:
                parts.append(pending_separator)
            pending_separator = ""
            base = classes[char]
            parts.append(Segment(base.kind, n, n, base.chars, base.codes, base.leading_zero))
        else:
            pending_separator += char * n
    return tuple(parts)


# -- code tables --------------------------------------------------------------------------------------

DE_DISTRICTS = C("""
A AA AB ABG ABI AC AE AIC AK AM AN AP AS AUR AW AZ AÖ B BA BAD BAR BB BC BD BGL BI BIR BIT BK BL BLK BM BN
BO BOR BOT BP BRA BRB BS BT BTF BW BWL BYL BZ BÜS C CB CE CHA CO COC COE CUX CW D DA DAH DAN DAU DBR DD DE
DEG DEL DGF DH DL DLG DN DO DON DU DÜW E EA EB EBE ED EE EF EI EIC EL EM EMD EMS EN ER ERB ERH ERZ ES ESW EU
F FB FD FDS FF FFB FG FL FN FO FR FRG FRI FS FT FÜ G GAP GE GER GF GG GI GL GM GP GR GRZ GS GT GTH GZ GÖ
GÜ H HA HAL HAM HAS HB HBN HD HDH HE HEF HEI HEL HER HF HG HGW HH HI HL HM HN HO HOL HOM HP HR HRO HS HSK
HST HU HVL HWI HX HZ IGB IK IN IZ J JL K KA KB KC KE KEH KF KG KH KI KIB KL KLE KN KO KR KS KT KU KUS KYF
KÜN L LA LAU LB LD LDK LDS LER LEV LG LI LIF LIP LL LM LOS LRO LSA LSN LU LWL LÖ M MA MB MD ME MEI MG MI
MIL MK MKK MM MN MOL MOS MR MS MSH MSP MST MTK MVL MYK MZ MZG MÜ MÜR N NB ND NDH NE NEA NES NEW NF NI NK NL
NM NMS NOH NOM NR NU NVP NW NWM OA OAL OB OD OE OF OG OH OHA OHV OHZ OL OPR OS OSL OVP P PA PAF PAN PB PCH PE
PF PI PIR PLÖ PM PR PS R RA RD RE REG RO ROS ROW RP RPL RS RT RV RW RZ RÜD RÜG S SAD SAL SAW SB SC SDL SE
SG SH SHA SHG SHK SHL SI SIG SIM SK SL SLF SLK SLS SM SN SO SOK SON SP SPN SR ST STA STD SU SW SZ SÖM SÜW
TBB TDO TF TG THL THW TIR TR TS TUT TÖL TÜ UE UL UM UN V VB VEC VER VIE VK VR VS W WAF WAK WB WE WEN WES WF
WHV WI WIL WL WM WN WND WO WOB WST WT WTM WUG WUN WW WZ WÜ Y Z ZW
""")
AT_DISTRICTS = C("""
A AM B BA BB BD BG BH BK BL BM BN BP BR BZ DL DO E EF EU FB FE FF FK FR FV FW G GB GD GF GK GM GR GS GU HA HB
HE HF HL HO I IL IM JE JO JU JW K KB KD KF KG KI KK KL KO KR KS KU L LA LB LD LE LF LI LK LL LN LZ MA MD ME
MI MT MU MZ N ND NK O OP OW P PE PL PT RA RE RI RO S SB SD SE SK SL SO SP SR ST SV SW SZ T TA TD TK TU UU V
VB VD VI VK VL VO W WB WD WE WK WL WN WO WT WU WY WZ ZE ZT ZW
""")
ES_PROVINCES = C("""
A AB AL AV B BA BI BU C CA CC CS CE CO CR CU GC GE GI GR GU H HU PM IB J L LE LO LU M MA ML MU O OR OU P NA
PO S SA SE SG SO SS T TE TF TO V VA VI Z ZA
""")
FR_DEPARTMENTS = C([f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"] + [str(n) for n in range(971, 977)])
BG_PROVINCES = C("A B BH BP BT CA C CB CH CM CO CC CT E EB EH H K KH M OB P PA PB PK PP T TX X Y")
HR_CITIES = C("BJ BM ČK DA DE DJ DU GS IM KA KC KR KT KŽ MA NA NG OG OS PU PŽ RI SB SK SL ST ŠI VK VT VU VŽ ZD ZG ŽU")
IE_COUNTIES = C("C CE CN CW D DL G KE KK KY L LD LH LK LM LS MH MN MO OY RN SO T TN TS W WD WH WW WX")
RO_COUNTIES = C("AB AR AG BC BH BN BT BV BR BZ CS CL CJ CT CV DB DJ GL GR GJ HR HD IL IS IF MM MH MS NT OT PH SM SJ "
                "SB SV TR TM TL VS VL VN")
SI_REGIONS = C("CE GO KK KP KR LJ MB MS NM PO SG")
CZ_REGIONS = "ABCEHJKLMPSTUZ"
PL_VOIVODESHIPS = "BCDEFGKLNOPRSTWZ"
PL_SERIAL = "ACEFGHJKLMNPRSTUVWXY"
NL_LETTERS = "BDFGHJKLMNPRSTVXZ"
FR_SIV_LETTERS = _without(AZ, "IOU")
IT_LETTERS = _without(AZ, "IOQU")
ES_LETTERS = "BCDFGHJKLMNPRSTVWXYZ"
SE_LETTERS = _without(AZ, "IQV")
GR_LETTERS = "ABEHIKMNOPTXYZ"           # Latin letters that also exist in the Greek alphabet
BG_LETTERS = "ABEKMHOPCTYX"             # Latin letters that also exist in the Cyrillic alphabet
PT_LETTERS = _without(AZ, "KWY")
HR_LETTERS = _without(AZ, "QWXY")
RO_LETTERS = _without(AZ, "Q")


def _nl(sidecode: int, shape: str, weight: float, example: str) -> PlateFormat:
    return PlateFormat(f"sidecode {sidecode}", example,
                       _shape(shape, {"A": L(1, NL_LETTERS), "9": N(1)}), weight=weight)


def _pl() -> tuple[PlateFormat, ...]:
    classes = {"V": L(1, PL_VOIVODESHIPS), "A": L(1), "s": L(1, PL_SERIAL), "9": N(1)}
    fill = {"V": "W", "A": "R", "s": "C"}

    def example(shape: str) -> str:
        digits = iter("12345")
        return "".join(fill.get(c) or (next(digits) if c == "9" else c) for c in shape)

    formats = [PlateFormat(f"2-letter district, {serial}", example("VA " + serial), _shape("VA " + serial, classes),
                           weight=1.5)
               for serial in ("99999", "9999s", "999ss", "9s999", "9ss99")]
    formats += [PlateFormat(f"3-letter district, {serial}", example("VAA " + serial), _shape("VAA " + serial, classes))
                for serial in ("s999", "99ss", "9s99", "99s9", "9ss9", "ss99", "99999", "9999s", "999ss")]
    return tuple(formats)


PLATE_FORMATS: dict[str, tuple[PlateFormat, ...]] = {
    # Austria: district, then digits and letters (personalised plates: letters, then digits).
    "AT": (
        PlateFormat("standard", "GU-123 AB", (AT_DISTRICTS, "-", Z((1, 5)), " ", L((1, 3))), weight=9,
                    min_len=5, max_len=8),
        PlateFormat("personalised", "W-MAX 7", (AT_DISTRICTS, "-", L((1, 5)), " ", Z((1, 3))), min_len=4, max_len=8),
    ),
    # Belgium: plates belong to the holder and move with them to the next vehicle.
    "BE": (
        PlateFormat("since 2010", "1-ABC-123", (Z(1), "-", L(3), "-", N(3)), weight=8),
        PlateFormat("1973-2008", "ABC-123", (L(3), "-", N(3))),
        PlateFormat("2008-2010", "123-ABC", (N(3), "-", L(3))),
    ),
    "BG": (PlateFormat("province", "CA 1234 AB", (BG_PROVINCES, " ", N(4), " ", L(2, BG_LETTERS))),),
    "CY": (PlateFormat("standard", "KAA 123", (L(3), " ", N(3))),),
    # Czechia: region number, region letter, a letter or digit, then four digits.
    "CZ": (PlateFormat("since 2001", "1AB 2345", (Z(1), "", L(1, CZ_REGIONS), "", X(1), " ", N(4))),),
    # Germany: district, 1-2 letters, 1-4 digits (8 characters at most); E for electric, H for historic.
    "DE": (
        PlateFormat("standard", "B-AB 1234", (DE_DISTRICTS, "-", L((1, 2)), " ", Z((1, 4))), weight=18, max_len=8),
        PlateFormat("electric", "M-XY 123E", (DE_DISTRICTS, "-", L((1, 2)), " ", Z((1, 4)), "", K("E")),
                    max_len=9),
        PlateFormat("historic", "HH-AB 12H", (DE_DISTRICTS, "-", L((1, 2)), " ", Z((1, 4)), "", K("H")),
                    max_len=9),
    ),
    "DK": (PlateFormat("standard", "AB 12 345", (L(2), " ", N(2), " ", N(3))),),
    "EE": (PlateFormat("standard", "123 ABC", (N(3), " ", L(3))),),
    "EL": (PlateFormat("standard", "IKA-1234", (L(3, GR_LETTERS), "-", Z(4))),),
    "ES": (
        PlateFormat("national, since 2000", "1234 BCD", (N(4), " ", L(3, ES_LETTERS)), weight=6),
        PlateFormat("provincial, 1971-2000", "M-1234-AB", (ES_PROVINCES, "-", N(4), "-", L((1, 2)))),
    ),
    "FI": (PlateFormat("standard", "ABC-123", (L((2, 3)), "-", Z((1, 3)))),),
    # France: SIV numbers stay with the vehicle for life; FNI numbers (until 2009) end in the département.
    "FR": (
        PlateFormat("SIV, since 2009", "AB-123-CD", (L(2, FR_SIV_LETTERS), "-", N(3), "-", L(2, FR_SIV_LETTERS)),
                    weight=6, forbidden=(r"^WW", r"^SS", r"SS$", r"^..000")),
        PlateFormat("FNI, until 2009", "1234 AB 75", (Z((1, 4)), " ", L((2, 3), _without(AZ, "IOQ")), " ",
                                                      FR_DEPARTMENTS)),
    ),
    "HR": (PlateFormat("standard", "ZG 1234-AB", (HR_CITIES, " ", N((3, 4)), "-", L((1, 2), HR_LETTERS))),),
    "HU": (
        PlateFormat("1990-2022", "ABC-123", (L(3), "-", N(3)), weight=4),
        PlateFormat("since 2022", "AA BC-123", (L(2), " ", L(2), "-", N(3))),
    ),
    # Ireland: year (and half-year since 2013), county, sequence.
    "IE": (
        PlateFormat("1987-2012", "05-D-12345", (N(2), "-", IE_COUNTIES, "-", Z((1, 6)))),
        PlateFormat("since 2013", "191-D-123", (N(2), "", X(1, "12"), "-", IE_COUNTIES, "-", Z((1, 6))), weight=2),
    ),
    "IT": (PlateFormat("since 1994", "AB 123CD", (L(2, IT_LETTERS), " ", N(3), "", L(2, IT_LETTERS))),),
    "LT": (PlateFormat("standard", "ABC 123", (L(3), " ", N(3))),),
    "LU": (
        PlateFormat("standard", "AB 1234", (L(2), " ", N(4)), weight=9),
        PlateFormat("numeric", "12345", (Z((4, 5)),)),
    ),
    "LV": (PlateFormat("standard", "AB-1234", (L(2), "-", Z((1, 4)))),),
    "MT": (PlateFormat("standard", "ABC 123", (L(3), " ", N(3))),),
    # Netherlands: the sidecodes; the registration number stays with the vehicle for life.
    "NL": (
        _nl(1, "AA-99-99", 0.2, "BD-12-34"), _nl(2, "99-99-AA", 0.2, "12-34-BD"), _nl(3, "99-AA-99", 0.3, "12-BD-34"),
        _nl(4, "AA-99-AA", 0.5, "BD-12-FG"), _nl(5, "AA-AA-99", 1, "BD-FG-12"), _nl(6, "99-AA-AA", 1, "12-BD-FG"),
        _nl(7, "99-AAA-9", 2, "12-BDF-3"), _nl(8, "9-AAA-99", 2, "1-BDF-23"), _nl(9, "AA-999-A", 2, "BD-123-F"),
        _nl(10, "A-999-AA", 2, "B-123-DF"), _nl(11, "AAA-99-A", 2, "BDF-12-G"), _nl(12, "A-99-AAA", 1, "B-12-DFG"),
        _nl(13, "9-AA-999", 0.5, "1-BD-234"), _nl(14, "999-AA-9", 0.1, "123-BD-4"),
    ),
    # Poland: voivodeship letter and district, then a serial of digits and letters (no B, D, I, O, Z).
    "PL": _pl(),
    "PT": (
        PlateFormat("since 2020", "AB-12-CD", _shape("AA-99-AA", {"A": L(1, PT_LETTERS), "9": N(1)}), weight=2),
        PlateFormat("2005-2020", "12-AB-34", _shape("99-AA-99", {"A": L(1, PT_LETTERS), "9": N(1)}), weight=3),
        PlateFormat("1992-2005", "12-34-AB", _shape("99-99-AA", {"A": L(1, PT_LETTERS), "9": N(1)}), weight=2),
        PlateFormat("until 1992", "AB-12-34", _shape("AA-99-99", {"A": L(1, PT_LETTERS), "9": N(1)})),
    ),
    # Romania: county, two digits (Bucharest: two or three), three letters (not starting with I or O).
    "RO": (
        PlateFormat("county", "CJ 12 ABC", (RO_COUNTIES, " ", N(2), " ", L(1, _without(RO_LETTERS, "IO")), "",
                                            L(2, RO_LETTERS)), weight=4),
        PlateFormat("Bucharest", "B 123 ABC", (K("B"), " ", N((2, 3)), " ", L(1, _without(RO_LETTERS, "IO")), "",
                                               L(2, RO_LETTERS))),
    ),
    "SE": (
        PlateFormat("standard", "ABC 123", (L(3, SE_LETTERS), " ", N(3)), weight=3),
        PlateFormat("since 2019", "ABC 12D", (L(3, SE_LETTERS), " ", N(2), "", L(1, _without(SE_LETTERS, "O")))),
    ),
    # Slovenia: region, then five letters or digits (simplified: any mix with at least one digit).
    "SI": (PlateFormat("standard", "LJ 12-34A", (SI_REGIONS, " ", X(2), "-", X(3)), forbidden=(r"^\D+$",)),),
    # Slovakia: district letters (not checked against the district table), three digits, two letters.
    "SK": (PlateFormat("standard", "BA-123AB", (L(2), "-", N(3), "", L(2))),),
}
"""Plate formats per state (ISO 3166 alpha-2; Greece as EL, the EU code, or GR)."""

COUNTRY_ALIASES = {"GR": "EL"}
"""Other codes for a state: ISO 3166's GR is the EU's EL."""


_DIGITS = frozenset("0123456789")
"""A plate's digits are ASCII: str.isdigit would also take "٣" and "²"."""


def formats_of(country: str) -> tuple[PlateFormat, ...] | None:
    """The formats of a state by its code (aliases resolved), or None when it has none."""
    code = country.strip().upper()
    return PLATE_FORMATS.get(COUNTRY_ALIASES.get(code, code))


def _classes(segment: Segment, length: int) -> list[str]:
    """Per position, "L" (letter) and/or "N" (digit): what the segment of that length may hold there."""
    if segment.kind == "C":
        codes = [code for code in segment.codes if len(code) == length]
        return ["".join(sorted({"N" if code[i] in _DIGITS else "L" for code in codes})) for i in range(length)]
    if segment.kind == "K":
        return ["N" if c in _DIGITS else "L" for c in segment.chars]
    kinds = "".join(sorted({"N" if c in _DIGITS else "L" for c in segment.chars}))
    return [kinds] * length


@cache
def _variants_by_shape(country: str) -> dict[str, tuple[tuple[PlateFormat, _Variant], ...]]:
    """Shape ("LLNNNL": letter or digit per position) -> the variants that may read a plate of that shape."""
    table: dict[str, list[tuple[PlateFormat, _Variant]]] = {}
    for plate_format in PLATE_FORMATS[country]:
        for variant in plate_format.variants:
            positions = [kinds for segment, n in zip(plate_format.segments, variant.lengths)
                         for kinds in _classes(segment, n)]
            for shape in itertools.product(*positions):
                table.setdefault("".join(shape), []).append((plate_format, variant))
    return {shape: tuple(entries) for shape, entries in table.items()}


def read_plate(country: str, compact: str, breaks: frozenset[int] = frozenset()) -> list[str]:
    """Every canonical reading of `compact` in the formats of `country` (sorted, no duplicates)."""
    code = country.strip().upper()
    code = COUNTRY_ALIASES.get(code, code)
    if code not in PLATE_FORMATS:
        return []
    shape = "".join("N" if c in _DIGITS else "L" for c in compact)
    readings = set()
    for plate_format, variant in _variants_by_shape(code).get(shape, ()):
        reading = plate_format.read_variant(variant, compact, breaks)
        if reading is not None:
            readings.add(reading)
    return sorted(readings)


def random_plate(rng: random.Random, country: str) -> str:
    """A random plate of `country` in canonical form, its series drawn by the formats' weights."""
    formats = formats_of(country)
    if not formats:
        raise ValueError(f"no plate formats for {country!r}")
    chosen = rng.choices(formats, weights=[f.weight for f in formats])[0]
    return chosen.draw(rng)
