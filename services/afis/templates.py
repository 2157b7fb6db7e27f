"""Fingerprint reference data (FP-1): a minutiae template and the rules it must meet.

A template is what ISO/IEC 19794-2 and ANSI/NIST-ITL Type-9 (INCITS 378 block) carry for one finger
view: the image size and resolution, and per minutia its position, direction, type and quality;
plus the Prüm reference data around it: a reference number (no name or other personal data) and
whether it belongs to an identified person or comes from an unidentified trace (FP-1).

Conventions, decided here once (the same as `prum.afis.v1.Minutia`):
- x, y: integer pixels from the top-left corner of the image, 0 <= x < width, 0 <= y < height;
- angle: integer degrees 0-359, counter-clockwise from the positive x axis (y pointing down on
  the image, so counter-clockwise as a person looks at the print);
- type: ridge ending, bifurcation or other; quality 0-100 (ISO/IEC 19794-2);
- finger position: the ANSI/NIST-ITL codes 1 (right thumb) .. 10 (left little); 0 means "unknown"
  and is allowed only for an unidentified trace (a latent mark seldom shows which finger left it);
- resolution: 250-1000 pixels per inch (500 for plain and rolled impressions, 1000 for latents are
  the usual values); the matcher works in millimetres, so any resolution in that range compares.

`Template` checks itself when it is made: a Template object is always valid, and every refusal is
an `InvalidInput` saying which field is wrong and what is allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.reference import ReferenceKind
from prum.services.common.reference import check_reference as check_reference_of

MIN_MINUTIAE = 8
"""The fewest minutiae a template may have (FP-1).

Below 8, a minutiae matcher cannot tell a mate from the chance agreement of an unrelated finger of
the same pattern class: a handful of minutiae in a small area occur by chance in many fingers, and
the global consolidation of local matches needs several mutually consistent pairs. (Forensic
practice asks for more, often 12 for an identification; 8 is the floor for a search to be run.)"""

MAX_MINUTIAE = 255
"""ISO/IEC 19794-2 holds at most 255 minutiae in one finger view."""

MIN_RESOLUTION_PPI = 250
MAX_RESOLUTION_PPI = 1000
MIN_IMAGE_PX = 64
MAX_IMAGE_PX = 4000
MAX_FINGER_POSITION = 10
UNKNOWN_FINGER = 0


FINGER_NAMES: dict[int, str] = {
    0: "unknown finger", 1: "right thumb", 2: "right index", 3: "right middle", 4: "right ring",
    5: "right little", 6: "left thumb", 7: "left index", 8: "left middle", 9: "left ring",
    10: "left little",
}


class MinutiaType(enum.IntEnum):
    """Minutia types, numbered as in `prum.afis.v1.MinutiaType`."""

    RIDGE_ENDING = 1
    BIFURCATION = 2
    OTHER = 3

    @classmethod
    def parse(cls, value: object, field: str = "type") -> MinutiaType:
        if isinstance(value, MinutiaType):
            return value
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and int(value) in (1, 2, 3):
            return cls(int(value))
        if isinstance(value, str):
            key = value.strip().upper().removeprefix("MINUTIA_TYPE_")
            if key in cls.__members__:
                return cls[key]
        raise InvalidInput(f"minutia type {quote(value)} is not known; allowed: RIDGE_ENDING (1), "
                           f"BIFURCATION (2), OTHER (3)", field=field)


class Minutia(NamedTuple):
    """One minutia: pixels from the top-left corner, degrees counter-clockwise, type, quality 0-100."""

    x: int
    y: int
    angle: int
    type: MinutiaType
    quality: int


MINUTIA_DTYPE = np.dtype([("x", "<i4"), ("y", "<i4"), ("angle", "<i2"), ("type", "u1"), ("quality", "u1")])
"""The structured numpy layout of a template's minutiae (`Template.minutiae_array`)."""


_INT32 = 1 << 31


def _int(value: object, field: str, allowed: str) -> int:
    """An integer field; beyond 32 bits it is refused here (no field allows it, and numpy's int64 would
    overflow on it before the field's own range is checked)."""
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))) and not (
            isinstance(value, float) and value.is_integer()):
        raise InvalidInput(f"{quote(value)} is not an integer; allowed: {allowed}", field=field)
    number = int(value)
    if not -_INT32 <= number < _INT32:
        raise InvalidInput(f"{quote(number)} is out of range; allowed: {allowed}", field=field)
    return number


def check_reference(reference: object, field: str = "reference") -> str:
    """A template's reference number (FP-1), in the form every file keeps them in."""
    return check_reference_of(reference, "FP-1", field)


def _minutia(value: object, position: int) -> Minutia:
    field = f"minutiae[{position}]"
    if isinstance(value, Minutia) and type(value.type) is MinutiaType:
        return value
    if isinstance(value, Mapping):
        try:
            raw = (value["x"], value["y"], value["angle"], value["type"], value.get("quality", 0))
        except KeyError as missing:
            raise InvalidInput(f"minutia lacks {missing}; a minutia has x, y, angle, type, quality",
                               field=field) from None
    elif isinstance(value, (tuple, list, np.void)) and len(value) == 5:  # type: ignore[arg-type]  # np.void: no __len__ in numpy's stubs
        raw = tuple(value)  # type: ignore[arg-type]  # a structured np.void iterates (numpy's stubs say not)
    else:
        raise InvalidInput(f"{quote(value)} is not a minutia; allowed: (x, y, angle, type, quality) or a "
                           f"mapping with those keys", field=field)
    x, y, angle, kind, quality = raw
    return Minutia(_int(x, f"{field}.x", "pixels"), _int(y, f"{field}.y", "pixels"),
                   _int(angle, f"{field}.angle", "degrees 0-359"),
                   MinutiaType.parse(kind, f"{field}.type"), _int(quality, f"{field}.quality", "0-100"))


@dataclass(frozen=True)
class Template:
    """The reference data of one finger view (FP-1); checked when made (see the module docstring).

    `minutiae` is a tuple of `Minutia`; any sequence of 5-tuples or mappings is accepted and
    converted. Equality is exact, field by field (the ANSI/NIST round trip relies on it).
    """

    reference: str
    kind: ReferenceKind
    finger_position: int
    width: int
    height: int
    resolution_ppi: int
    minutiae: tuple[Minutia, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ReferenceKind.parse(self.kind))
        raw = self.minutiae
        if isinstance(raw, np.ndarray) and raw.dtype.names:
            raw = [tuple(row) for row in raw.tolist()]
        if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
            raise InvalidInput("minutiae must be a sequence of minutiae", field="minutiae")
        object.__setattr__(self, "minutiae", tuple(_minutia(m, i) for i, m in enumerate(raw)))
        _check(self)

    @property
    def is_trace(self) -> bool:
        return self.kind is ReferenceKind.UNIDENTIFIED_TRACE

    def minutiae_array(self) -> np.ndarray:
        """The minutiae as a structured array of `MINUTIA_DTYPE` (a copy)."""
        return np.array([tuple(m) for m in self.minutiae], dtype=MINUTIA_DTYPE)

    def with_reference(self, reference: str, kind: ReferenceKind | str | None = None) -> Template:
        """The same minutiae under another reference number (and kind)."""
        return Template(reference, self.kind if kind is None else ReferenceKind.parse(kind), self.finger_position,
                        self.width, self.height, self.resolution_ppi, self.minutiae)


def _check(t: Template) -> None:
    check_reference(t.reference)
    kind = t.kind
    position = _int(t.finger_position, "finger_position", "1-10")
    if not (1 <= position <= MAX_FINGER_POSITION) and not (position == UNKNOWN_FINGER and kind is
                                                           ReferenceKind.UNIDENTIFIED_TRACE):
        allowed = ("1 (right thumb) .. 10 (left little), or 0 for an unknown finger (traces only)")
        why = " (an identified person's finger is always known)" if position == UNKNOWN_FINGER else ""
        raise InvalidInput(f"finger position {position} is not known{why}; allowed: {allowed}",
                           field="finger_position")
    for name in ("width", "height"):
        value = _int(getattr(t, name), name, f"{MIN_IMAGE_PX}-{MAX_IMAGE_PX} pixels")
        if not MIN_IMAGE_PX <= value <= MAX_IMAGE_PX:
            raise InvalidInput(f"image {name} {value} px is out of range; allowed: {MIN_IMAGE_PX}-{MAX_IMAGE_PX} "
                               f"pixels", field=name)
    ppi = _int(t.resolution_ppi, "resolution_ppi", "pixels per inch")
    if not MIN_RESOLUTION_PPI <= ppi <= MAX_RESOLUTION_PPI:
        raise InvalidInput(f"resolution {ppi} ppi is out of range; allowed: {MIN_RESOLUTION_PPI}-"
                           f"{MAX_RESOLUTION_PPI} pixels per inch (500 for tenprints, 1000 for latents)",
                           field="resolution_ppi")
    count = len(t.minutiae)
    if count < MIN_MINUTIAE:
        raise InvalidInput(f"the template has {count} minutiae; at least {MIN_MINUTIAE} are needed: with fewer, "
                           f"a search cannot tell a mate from the chance agreement of an unrelated finger",
                           field="minutiae")
    if count > MAX_MINUTIAE:
        raise InvalidInput(f"the template has {count} minutiae; allowed: at most {MAX_MINUTIAE} per finger view "
                           f"(ISO/IEC 19794-2)", field="minutiae")
    values = np.array([m[:3] + (m[4],) for m in t.minutiae], dtype=np.int64)
    x, y, angle, quality = values.T
    bad = np.flatnonzero((x < 0) | (x >= t.width) | (y < 0) | (y >= t.height))
    if bad.size:
        m = t.minutiae[bad[0]]
        raise InvalidInput(f"minutia at ({m.x}, {m.y}) lies outside the {t.width} x {t.height} image; allowed: "
                           f"0 <= x < {t.width}, 0 <= y < {t.height} (pixels from the top-left corner)",
                           field=f"minutiae[{bad[0]}]")
    bad = np.flatnonzero((angle < 0) | (angle > 359))
    if bad.size:
        raise InvalidInput(f"angle {angle[bad[0]]} is out of range; allowed: 0-359 degrees, counter-clockwise "
                           f"from the x axis", field=f"minutiae[{bad[0]}].angle")
    bad = np.flatnonzero((quality < 0) | (quality > 100))
    if bad.size:
        raise InvalidInput(f"quality {quality[bad[0]]} is out of range; allowed: 0-100 (ISO/IEC 19794-2)",
                           field=f"minutiae[{bad[0]}].quality")


def validate_template(template: Template | Mapping[str, Any]) -> Template:
    """A valid Template from a Template or a mapping of its fields; InvalidInput otherwise (FP-1).

    The mapping takes the dataclass field names; `kind` and minutia `type` may be enum names
    ("UNIDENTIFIED_TRACE", "TEMPLATE_KIND_UNIDENTIFIED_TRACE", "BIFURCATION", 2).
    """
    if isinstance(template, Template):
        _check(template)
        return template
    if not isinstance(template, Mapping):
        raise InvalidInput(f"a template is a mapping of its fields, not {type(template).__name__}",
                           field="template")
    names = ("reference", "kind", "finger_position", "width", "height", "resolution_ppi", "minutiae")
    missing = [name for name in names if name not in template]
    if missing:
        raise InvalidInput(f"the template lacks {', '.join(missing)}; a template has {', '.join(names)}",
                           field=missing[0])
    unknown = sorted(set(template) - set(names))
    if unknown:
        raise InvalidInput(f"unknown template fields {', '.join(unknown)}; allowed: {', '.join(names)}",
                           field=unknown[0])
    return Template(**{name: template[name] for name in names})
