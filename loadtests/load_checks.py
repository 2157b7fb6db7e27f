"""The query types of the load test, and what a reply must show for each (no Locust, no gevent here).

Every request the load test sends carries its expectation in its case reference,
`LOAD-<code>-<number>-HIT` or `-MISS` (and, for a fingerprint search with a mate, `-HIT-<mate reference>`),
so a check needs only the request and the reply. The Locust interceptor and the driver's preflight
use the same checks. A check returns an `Outcome`: whether a hit was expected and seen, and a problem
(a failure to count) when the reply is wrong:
  - DNA search, vehicle lookup: the matching rules are exact, so a missing or unexpected hit is a failure;
  - police-record search (EPRIS): a planted variation of a stored record must find it; a miss is a person born
    in a year no record has, so any match is a failure;
  - contact-point fan-out: every peer must answer HIT or NO_HIT (a peer UNAVAILABLE, DEADLINE_EXCEEDED,
    NOT_READY or REFUSED on a healthy federation is a failure), and the target's answer must be as planted;
  - AFIS search: the mate among the candidates (score >= VERIFY_THRESHOLD) is tallied, not a failure,
    since a 1:N matcher misses some mates by design (its error rates: `prum afis evaluate`);
  - face search: the mate among the candidates is tallied, not a failure, as for AFIS (a genuine score may
    fall under the threshold: `bench/face_bench.py`);
  - echo and bare (the bare grpcio echo server the bench starts): the payload must come back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prum.contact_point.v1 import contact_point_pb2 as cp_pb2

AFIS_VERIFY_THRESHOLD = 12.0  # prum.services.afis.matching.VERIFY_THRESHOLD; a test checks they agree


@dataclass(frozen=True)
class QueryType:
    key: str           # as in --types, --weights, --think
    user_class: str    # the Locust user class in locustfile.py
    method: str        # Locust's stats name: the full gRPC method name (bare: prefixed, apart from echo's)
    title: str         # for tables
    code: str          # in case references


BARE_ECHO_NAME = "bare:/prum.echo.v1.EchoService/Echo"  # EchoService.Echo on the bare server, named apart
QUERY_TYPES: dict[str, QueryType] = {t.key: t for t in (
    QueryType("bare", "BareEchoUser", BARE_ECHO_NAME, "bare grpcio echo (ceiling)", "B"),
    QueryType("echo", "EchoUser", "/prum.echo.v1.EchoService/Echo", "echo (full stack)", "E"),
    QueryType("dna", "DnaSearchUser", "/prum.dna.v1.DnaIndexService/Search", "DNA search, Art 3", "D"),
    QueryType("vehicle", "VehicleLookupUser", "/prum.vehicle.v1.VehicleRegisterService/Lookup",
              "vehicle lookup, Art 12", "V"),
    QueryType("afis", "AfisSearchUser", "/prum.afis.v1.AfisService/Search", "AFIS search, Art 9", "A"),
    QueryType("fanout", "ContactPointSearchUser", "/prum.contact_point.v1.ContactPointService/Search",
              "contact-point fan-out (DNA)", "F"),
    QueryType("face", "FaceSearchUser", "/prum.face.v1.FaceService/Search", "face search, Prüm II Art 20", "G"),
    QueryType("police_record", "PoliceRecordSearchUser", "/prum.police_records.v1.PoliceRecordsService/Search",
              "police-record search, P2-EPRIS-2", "P"),
)}
BY_METHOD: dict[str, QueryType] = {t.method: t for t in QUERY_TYPES.values()}


@dataclass(frozen=True)
class Outcome:
    expected_hit: bool | None
    hit: bool
    problem: str | None = None


def case_reference(query_type: str, number: int, hit: bool, mate: str = "") -> str:
    code = QUERY_TYPES[query_type].code
    return f"LOAD-{code}-{number:06d}-{'HIT' if hit else 'MISS'}" + (f"-{mate}" if hit and mate else "")


def expectation(reference: str) -> tuple[bool | None, str]:
    """(hit expected?, mate reference) from a case reference; (None, "") when it is not one of ours."""
    parts = reference.split("-", 4)
    if len(parts) < 4 or parts[0] != "LOAD" or parts[3] not in ("HIT", "MISS"):
        return None, ""
    return parts[3] == "HIT", parts[4] if len(parts) == 5 else ""


def _agreement(expected: bool | None, hit: bool) -> str | None:
    if expected is None or expected == hit:
        return None
    return "expected a hit, got none" if expected else "expected no hit, got one"


def check_echo(request: Any, response: Any) -> Outcome:
    same = response.payload == request.payload
    return Outcome(None, False, None if same else "echo returned another payload")


def check_dna(request: Any, response: Any) -> Outcome:
    expected, _ = expectation(request.context.case_reference)
    hit = bool(response.hit or response.hit_count or len(response.hits))
    return Outcome(expected, hit, _agreement(expected, hit))


def check_vehicle(request: Any, response: Any) -> Outcome:
    expected, _ = expectation(request.context.case_reference)
    hit = len(response.records) > 0
    return Outcome(expected, hit, _agreement(expected, hit))


def check_afis(request: Any, response: Any) -> Outcome:
    expected, mate = expectation(request.context.case_reference)
    strong = [c for c in response.candidates if c.score >= AFIS_VERIFY_THRESHOLD]
    hit = any(c.reference == mate for c in strong) if expected and mate else bool(strong)
    return Outcome(expected, hit, None)


def check_face(request: Any, response: Any) -> Outcome:
    expected, mate = expectation(request.context.case_reference)
    hit = any(c.reference == mate for c in response.candidates) if expected and mate else bool(response.candidates)
    return Outcome(expected, hit, None)
def check_police_record(request: Any, response: Any) -> Outcome:
    expected, _ = expectation(request.context.case_reference)
    hit = len(response.matches) > 0
    return Outcome(expected, hit, _agreement(expected, hit))


def check_fanout(request: Any, response: Any, target: str = "") -> Outcome:
    expected, _ = expectation(request.case_reference)
    answered = (cp_pb2.RESULT_STATUS_HIT, cp_pb2.RESULT_STATUS_NO_HIT)
    for result in response.results:
        if result.status not in answered:
            name = cp_pb2.ResultStatus.Name(result.status).removeprefix("RESULT_STATUS_")
            return Outcome(expected, False, f"{result.state}: {name} {result.code}".strip())
    wanted = set(request.target_states)
    missing = wanted - {r.state for r in response.results}
    if missing:
        return Outcome(expected, False, f"no result for {', '.join(sorted(missing))}")
    hit = any(r.status == cp_pb2.RESULT_STATUS_HIT and (not target or r.state == target) for r in response.results)
    return Outcome(expected, hit, _agreement(expected, hit))


CHECKS: dict[str, Callable[[Any, Any], Outcome]] = {
    QUERY_TYPES["bare"].method: check_echo,
    QUERY_TYPES["echo"].method: check_echo,
    QUERY_TYPES["dna"].method: check_dna,
    QUERY_TYPES["vehicle"].method: check_vehicle,
    QUERY_TYPES["afis"].method: check_afis,
    QUERY_TYPES["fanout"].method: check_fanout,
    QUERY_TYPES["face"].method: check_face,
    QUERY_TYPES["police_record"].method: check_police_record,
}


class Tally:
    """Per query type: calls checked, hits expected, hits seen, and how many agreed with the plan."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, key: str, outcome: Outcome) -> None:
        row = self.counts.setdefault(key, {"checked": 0, "expected_hits": 0, "hits": 0, "as_planted": 0})
        row["checked"] += 1
        row["expected_hits"] += bool(outcome.expected_hit)
        row["hits"] += outcome.hit
        row["as_planted"] += outcome.expected_hit is None or outcome.expected_hit == outcome.hit

    def reset(self) -> None:
        self.counts.clear()

    @staticmethod
    def merge(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
        total: dict[str, dict[str, int]] = {}
        for part in parts:
            for key, row in part.items():
                into = total.setdefault(key, {})
                for name, value in row.items():
                    into[name] = into.get(name, 0) + value
        return total
