"""The national fingerprint file (AFIS) of a state (Art 8-11; FP-1..FP-3): the pure core, without gRPC.

- `templates`: `Template`, minutiae and their rules (FP-1).
- `ansi_nist`: ANSI/NIST-ITL transactions (Type-1, Type-2, Type-9) both ways, exact round trip.
- `capacity`: daily search capacity per requesting state and kind, candidate limits (FP-3).
- `matching`: the 1:1 matcher (MCC cylinders, LSS-R, global alignment), scores 0-100, `verify`
  for the requesting state (Art 9(2), FP-2).
- `gallery`: `Gallery`, the national file with its vectorised 1:N search (FP-2, PUR-2).
"""

from prum.services.afis.ansi_nist import (
    NistTransaction,
    decode_transaction,
    encode_transaction,
    read_templates,
    write_templates,
)
from prum.services.afis.capacity import CapacityGrant, CapacityLedger, CapacityLimits, next_midnight_utc
from prum.services.afis.gallery import Candidate, Gallery, GalleryStats
from prum.services.afis.matching import VERIFY_THRESHOLD, Encoded, encode, score, verify
from prum.services.afis.templates import (
    MAX_MINUTIAE,
    MIN_MINUTIAE,
    Minutia,
    MinutiaType,
    Template,
    check_reference,
    validate_template,
)

__all__ = [
    "MAX_MINUTIAE",
    "MIN_MINUTIAE",
    "VERIFY_THRESHOLD",
    "Candidate",
    "CapacityGrant",
    "CapacityLedger",
    "CapacityLimits",
    "Encoded",
    "Gallery",
    "GalleryStats",
    "Minutia",
    "MinutiaType",
    "NistTransaction",
    "Template",
    "check_reference",
    "decode_transaction",
    "encode",
    "encode_transaction",
    "next_midnight_utc",
    "read_templates",
    "score",
    "validate_template",
    "verify",
    "write_templates",
]
