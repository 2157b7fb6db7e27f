"""Domain errors raised by the pure cores; the servicers map them to gRPC status codes in one place
(`prum.services.common.interceptors.STATUS_OF`). Cores never import grpc.
"""

from __future__ import annotations

from datetime import datetime


class PrumError(Exception):
    """Base of every refusal a core can give. `str(error)` is the message the caller sees."""


class InvalidInput(PrumError, ValueError):
    """The request is malformed: says which field and what is allowed (INVALID_ARGUMENT)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message  # what is wrong with the field, without its name (a BadRequest's description)


class UnknownReference(PrumError, LookupError):
    """No such reference number, request or record (NOT_FOUND)."""


class Duplicate(PrumError):
    """The reference number is already taken (ALREADY_EXISTS)."""


class GateClosed(PrumError):
    """A readiness gate is closed: the Council has not declared a state ready (GATE-1) (FAILED_PRECONDITION)."""

    def __init__(self, message: str, state: str | None = None, category: str | None = None) -> None:
        super().__init__(message)
        self.state = state
        self.category = category  # the category's name (DNA, FINGERPRINT, VEHICLE), where the refusal knows it


class NotAuthorised(PrumError):
    """The officer or state may not do this (SEC-2, admin calls) (PERMISSION_DENIED)."""


class IdentityMismatch(PrumError):
    """The certificate's state differs from the state the message claims (SEC-1) (UNAUTHENTICATED)."""


class CaseClosed(PrumError):
    """The case is in a state that does not allow this step: a core-data case already decided (P2-CORE-1), a
    delay where national law needs no judicial authorisation (P2-CORE-2) (FAILED_PRECONDITION)."""


class CapacityExhausted(PrumError):
    """A quota is spent (FP-3) (RESOURCE_EXHAUSTED); says when it resets."""

    def __init__(self, message: str, resets_at: datetime | None = None) -> None:
        super().__init__(message)
        self.resets_at = resets_at


def quote(value: object, limit: int = 80) -> str:
    """`value` as a caller sees it in a message: a string's repr ('NL-P-1'), any other value's repr (99, None),
    cut to its first `limit` characters so that a status message never echoes a long input in full. The quote
    takes at most about 4 x `limit` bytes of UTF-8 (a prefix of control or unassigned characters, escaped by repr,
    is cut shorter). Never raises: a huge integer (whose repr Python refuses beyond 4,300 digits) is told by its
    size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {value.bit_length():,} bits>"
    if not isinstance(value, str):
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 - a message must never fail on the value it quotes
            return f"<a {type(value).__name__}>"
        return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"
    shown = value[:limit]
    while len(repr(shown).encode("utf-8", "backslashreplace")) > 4 * limit + 2:
        shown = shown[:len(shown) // 2]
    if len(shown) == len(value):
        return repr(value)
    return f"{shown!r}... ({len(value):,} characters)"
