"""The Art 30 protocol log of one state (LOG-1..LOG-6): entries, validation, the durable hash-chained log."""

from prum.services.logger.checkpoint import CheckpointKey, SignedCheckpoint, check_checkpoint
from prum.services.logger.entry import (
    GENESIS_HASH,
    EntryKind,
    LogEntry,
    MessageType,
    Outcome,
    Side,
    validate_entry,
)
from prum.services.logger.log import (
    CHECKPOINT_EVERY,
    FOUR_YEARS,
    TWO_YEARS,
    LogStats,
    ProtocolLog,
    PurgeReport,
    RetentionPolicy,
    Verification,
)

__all__ = [
    "CHECKPOINT_EVERY",
    "FOUR_YEARS",
    "GENESIS_HASH",
    "TWO_YEARS",
    "CheckpointKey",
    "EntryKind",
    "LogEntry",
    "LogStats",
    "MessageType",
    "Outcome",
    "ProtocolLog",
    "PurgeReport",
    "RetentionPolicy",
    "Side",
    "SignedCheckpoint",
    "Verification",
    "check_checkpoint",
    "validate_entry",
]
