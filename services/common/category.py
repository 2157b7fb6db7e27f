"""The data categories of the Prüm exchange, a layer below every core: the log, the readiness book and the
exchange all name them.

The member names equal the suffixes of the contract's `prum.common.v1.Category` values
(`CATEGORY_DNA` -> `Category.DNA`); `services/common/wire.py` maps them.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """The data categories of the Prüm exchange (Art 3-4 DNA, Art 9 fingerprints, Art 12 vehicles)."""

    DNA = "DNA"
    FINGERPRINT = "FINGERPRINT"
    VEHICLE = "VEHICLE"
    PERSON_INFORMATION = "PERSON_INFORMATION"  # Art 13-16 supplies: logged, not a searched file
    #: A state's connection to the Prüm II router: not a searched file, but gated like one (P2-GATE-1).
    ROUTER_CONNECTION = "ROUTER_CONNECTION"
    #: Facial images (Prüm II Arts 19-20): candidates an officer confirms (P2-FACE-1..4).
    FACE = "FACE"
    #: Police records (Prüm II EPRIS, Art 25, 44): a state's pseudonymised index of biographic data, opt-in
    #: (P2-EPRIS-1); a state taking part is ready for it, one that does not is not (P2-GATE-1).
    POLICE_RECORD = "POLICE_RECORD"


#: The categories of searched files, each with a readiness gate (GATE-1).
GATED_CATEGORIES = (Category.DNA, Category.FINGERPRINT, Category.VEHICLE, Category.FACE, Category.POLICE_RECORD)
#: What the readiness book gates: each searched category (GATE-1) and the router connection (P2-GATE-1).
READINESS_KEYS = (*GATED_CATEGORIES, Category.ROUTER_CONNECTION)
#: The categories the Prüm II router carries (P2-ROUTER-1: DNA, fingerprints, facial images). Vehicle searches stay
#: on their own path (P2-VRD-1).
ROUTED_CATEGORIES = (Category.DNA, Category.FINGERPRINT, Category.FACE)
