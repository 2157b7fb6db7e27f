"""Template validation (FP-1): every refusal says which field is wrong and what is allowed."""

from __future__ import annotations

import pytest
from prum.services.afis.templates import MIN_MINUTIAE, Minutia, MinutiaType, Template, validate_template
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind


def _minutiae(count: int = 12) -> list[tuple[int, int, int, int, int]]:
    return [(20 + 25 * i, 30 + 20 * i, (37 * i) % 360, 1 + i % 2, 60) for i in range(count)]


def _fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = dict(reference="NL-000123", kind="IDENTIFIED_PERSON", finger_position=2, width=416,
                                     height=512, resolution_ppi=500, minutiae=_minutiae())
    fields.update(changes)
    return fields


def test_a_valid_template_is_normalised():
    template = validate_template(_fields(kind="TEMPLATE_KIND_UNIDENTIFIED_TRACE", finger_position=0,
                                         minutiae=[{"x": 5, "y": 6, "angle": 359, "type": "BIFURCATION", "quality": 0}]
                                         + _minutiae(11)))
    assert template.kind is ReferenceKind.UNIDENTIFIED_TRACE and template.is_trace
    assert template.minutiae[0] == Minutia(5, 6, 359, MinutiaType.BIFURCATION, 0)
    assert all(isinstance(m, Minutia) and type(m.type) is MinutiaType for m in template.minutiae)
    assert validate_template(template) is template
    array = template.minutiae_array()
    assert array.shape == (12,) and int(array["angle"][0]) == 359 and int(array["type"][0]) == 2
    assert Template(**_fields()) == Template(**_fields())  # exact, field-by-field equality


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"minutiae": [(416, 10, 0, 1, 50)] + _minutiae(11)}, "minutiae[0]", ["outside", "0 <= x < 416"]),
    ({"minutiae": [(10, -1, 0, 1, 50)] + _minutiae(11)}, "minutiae[0]", ["outside", "0 <= y < 512"]),
    ({"minutiae": _minutiae(11) + [(10, 10, 360, 1, 50)]}, "minutiae[11].angle", ["360", "0-359"]),
    ({"minutiae": _minutiae(11) + [(10, 10, -5, 1, 50)]}, "minutiae[11].angle", ["-5", "0-359"]),
    ({"minutiae": [(10, 10, 0, 1, 101)] + _minutiae(11)}, "minutiae[0].quality", ["101", "0-100"]),
    ({"minutiae": [(10, 10, 0, 7, 50)] + _minutiae(11)}, "minutiae[0].type", ["RIDGE_ENDING", "BIFURCATION"]),
    ({"minutiae": _minutiae(MIN_MINUTIAE - 1)}, "minutiae", ["7 minutiae", "at least 8", "chance"]),
    ({"minutiae": _minutiae(256)}, "minutiae", ["at most 255"]),
    ({"finger_position": 11}, "finger_position", ["11", "1 (right thumb) .. 10 (left little)"]),
    ({"finger_position": 0}, "finger_position", ["identified person", "traces only"]),
    ({"finger_position": "thumb"}, "finger_position", ["not an integer"]),
    ({"resolution_ppi": 72}, "resolution_ppi", ["72", "250-1000"]),
    ({"resolution_ppi": 5000}, "resolution_ppi", ["250-1000"]),
    ({"width": 20}, "width", ["64-4000"]),
    ({"kind": "SUSPECT"}, "kind", ["IDENTIFIED_PERSON, UNIDENTIFIED_TRACE"]),
    ({"reference": "Jan Jansen"}, "reference", ["not a reference number", "no names"]),
])
def test_invalid_templates_are_refused_with_field_and_allowed_values(changes, field, words):
    with pytest.raises(InvalidInput) as refused:
        validate_template(_fields(**changes))
    assert refused.value.field == field
    for word in words:
        assert word in str(refused.value), (word, str(refused.value))


def test_a_mapping_with_missing_or_unknown_fields_is_refused():
    fields = _fields()
    del fields["width"]
    with pytest.raises(InvalidInput, match="lacks width"):
        validate_template(fields)
    with pytest.raises(InvalidInput, match="unknown template fields name"):
        validate_template(_fields(name="Jan"))


def test_the_constructor_itself_refuses():
    with pytest.raises(InvalidInput):
        Template("NL-1", ReferenceKind.IDENTIFIED_PERSON, 3, 416, 512, 500, _minutiae(3))
