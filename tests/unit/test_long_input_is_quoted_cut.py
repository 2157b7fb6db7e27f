"""A core's refusal quotes what the caller sent by at most its first 80 characters (errors.quote, issue 16): a
100 KB reference, officer id or state code never comes back in full in a status message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from prum.services.common.category import Category
from prum.services.common.errors import PrumError
from prum.services.exchange.information import ReceivedInformationStore
from prum.services.contact_point.persons import PersonRegister
from prum.services.dna import DnaFile
from prum.services.logger import EntryKind, LogEntry, MessageType, Side
from prum.services.logger.entry import validate_entry
from prum.services.supervisor.dpa import _check_state

LONG = "R" * 100_000


def refused(call: Callable[[], object]) -> str:
    with pytest.raises(PrumError) as caught:
        call()
    message = str(caught.value)
    assert len(message.encode("utf-8")) < 600, message[:200]
    assert "(100,000 characters)" in message
    return message


def test_dna_file(tmp_path: Path) -> None:
    with DnaFile(tmp_path / "dna.db") as file:
        refused(lambda: file.mark(LONG, True, "contested"))
        refused(lambda: file.block(LONG, True, "harm"))
        refused(lambda: file.get(LONG))
        refused(lambda: file.ingest(LONG, "IDENTIFIED_PERSON", {}))


def test_contact_point_registers(tmp_path: Path) -> None:
    refused(lambda: PersonRegister(None).get(LONG))
    refused(lambda: ReceivedInformationStore(None).close_purpose(LONG))


def test_state_codes() -> None:
    refused(lambda: _check_state(LONG))
    refused(lambda: validate_entry(LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY,
                                 category=Category.DNA, side=Side.FILE_MANAGING, logging_state="NL",
                                 requesting_state=LONG, requested_state="NL")))
