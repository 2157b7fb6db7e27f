"""Why a search is made, without gRPC: the purposes a query context carries, and who may search for which
(P2-SCOPE-1, P2-EUROPOL-1).

- A state searches for a criminal investigation (2008/615), and for a missing person or the identification of
  human remains only where its national law allows it (P2-SCOPE-1): a per-state setting of the federation file,
  known to every state, so the requesting contact point refuses its officer and the requested state refuses a
  purpose the requesting state has not declared.
- Europol (`identity.EUROPOL`) searches the states only for its tasks under Art 18(2)(a) (cross-checking) and (c)
  (operational analysis) of Regulation 2016/794 (P2-EUROPOL-1): the task is carried as the search's purpose, so a
  Europol search without one of them is refused the same way, and logged with it (one field, one check, one log
  column for both rules). A state may not search under a Europol task, nor Europol for a state's purposes.

The member names equal the suffixes of the contract's `prum.common.v1.SearchPurpose` values; the unspecified zero
value is read as `CRIMINAL_INVESTIGATION`, so clients older than the field keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from prum.services.common.errors import NotAuthorised
from prum.services.common.identity import EUROPOL


class SearchPurpose(StrEnum):
    CRIMINAL_INVESTIGATION = "CRIMINAL_INVESTIGATION"
    MISSING_PERSON = "MISSING_PERSON"
    HUMAN_REMAINS = "HUMAN_REMAINS"
    #: Art 18(2)(a) Regulation 2016/794.
    EUROPOL_CROSS_CHECKING = "EUROPOL_CROSS_CHECKING"
    #: Art 18(2)(c) Regulation 2016/794.
    EUROPOL_OPERATIONAL_ANALYSIS = "EUROPOL_OPERATIONAL_ANALYSIS"
    #: Art 18(2)(b): a task of Europol, but no basis for searching the states' data (P2-EUROPOL-1).
    EUROPOL_STRATEGIC_ANALYSIS = "EUROPOL_STRATEGIC_ANALYSIS"


#: The purposes a state's national law may allow besides a criminal investigation (P2-SCOPE-1): the values of the
#: federation file's `search_purposes`.
OPTIONAL_PURPOSES = (SearchPurpose.MISSING_PERSON, SearchPurpose.HUMAN_REMAINS)
#: Europol's tasks for which it may search the states' data (P2-EUROPOL-1: Art 18(2)(a) and (c)).
EUROPOL_TASKS = frozenset({SearchPurpose.EUROPOL_CROSS_CHECKING, SearchPurpose.EUROPOL_OPERATIONAL_ANALYSIS})
_EUROPOL_PURPOSES = frozenset(p for p in SearchPurpose if p.name.startswith("EUROPOL_"))


def allowed_purposes(state: str, declared: Mapping[str, frozenset[SearchPurpose]]) -> frozenset[SearchPurpose]:
    """The purposes `state` may search for: Europol's tasks for Europol; for a state a criminal investigation and
    what its national law allows (`declared`, from the federation file; a state it does not name has none)."""
    if state == EUROPOL:
        return EUROPOL_TASKS
    return frozenset({SearchPurpose.CRIMINAL_INVESTIGATION, *declared.get(state, frozenset())}) - _EUROPOL_PURPOSES


def check_purpose(state: str, purpose: SearchPurpose, declared: Mapping[str, frozenset[SearchPurpose]],
                  asked_by: str = "") -> None:
    """Refuse (`NotAuthorised`, PERMISSION_DENIED) a search by `state` for a `purpose` it may not search for.
    `asked_by` names who checks it in the message (the requesting contact point, or the requested state)."""
    allowed = allowed_purposes(state, declared)
    if purpose in allowed:
        return
    names = ", ".join(sorted(p.name for p in allowed))
    where = f" ({asked_by})" if asked_by else ""
    if state == EUROPOL:
        raise NotAuthorised(f"Europol searches the states' data only for its tasks under Art 18(2)(a) and (c) of "
                            f"Regulation 2016/794 (P2-EUROPOL-1), and this search states {purpose.name}{where}; "
                            f"allowed: {names}")
    raise NotAuthorised(f"{state} may not search for {purpose.name}: its national law, as the federation file "
                        f"declares it, allows {names} (P2-SCOPE-1){where}")
