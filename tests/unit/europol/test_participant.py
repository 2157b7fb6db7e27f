"""Europol in the readiness books: gated like a state (its data, its router connection; P2-EUROPOL-1, P2-GATE-1),
but without a vote in the Council, whose unanimity stays the member states' (GATE-1)."""

from __future__ import annotations

import pytest
from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.common.identity import EUROPOL
from prum.services.supervisor import ReadinessBook
from prum.services.supervisor.readiness import ReadinessStep, Vote


def test_europol_is_gated_but_has_no_vote_in_the_council() -> None:
    book = ReadinessBook(["DE", "NL", EUROPOL], voters=["DE", "NL"])
    book.seed_ready(EUROPOL, Category.ROUTER_CONNECTION)
    assert book.is_ready(EUROPOL, Category.ROUTER_CONNECTION) and not book.is_ready(EUROPOL, Category.DNA)
    for step in ReadinessStep:
        book.record_step("NL", Category.DNA, step)
    with pytest.raises(InvalidInput, match="has no vote in the Council"):
        book.cast_vote("NL", Category.DNA, EUROPOL, Vote.IN_FAVOUR)
    book.cast_vote("NL", Category.DNA, "DE", Vote.IN_FAVOUR)
    tally = book.cast_vote("NL", Category.DNA, "NL", Vote.IN_FAVOUR)
    assert tally.readiness.ready and tally.votes_needed == 2  # the states' unanimity, without Europol
