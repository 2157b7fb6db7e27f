"""One Ingest stream into a gallery that adds in one batch (AFIS, facial images): the converted items added at once,
each one that does not convert rejected by its position and reference."""

from __future__ import annotations

from prum.services.common.errors import InvalidInput
from prum.services.common.store import ingest_in_one_batch


def convert(request: tuple[str, int]) -> int:
    if request[1] < 0:
        raise InvalidInput(f"{request[1]}; allowed: 0 or more", field="template.width")
    return request[1]


def test_good_items_are_added_in_one_batch_and_bad_ones_rejected_by_position_and_reference() -> None:
    added: list[list[int]] = []

    def add_many(batch: list[int]) -> int:
        added.append(batch)
        return len(batch)

    accepted, rejections = ingest_in_one_batch(iter([("NL-F-1", 3), ("NL-F-2", -1), ("NL-F-3", 5)]), convert,
                                               lambda request: request[0], add_many)
    assert (accepted, added) == (2, [[3, 5]])
    assert rejections == ["#2 NL-F-2: template.width: -1; allowed: 0 or more"]
    assert ingest_in_one_batch(iter([("NL-F-9", -2)]), convert, lambda r: r[0], add_many)[0] == 0
    assert len(added) == 1  # nothing to add: the gallery is not called
