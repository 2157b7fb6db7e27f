"""The federation file: one TOML file that describes states, their files, readiness and officers.

The same file drives the in-process federation (`prum demo`), one process per state (`prum up`)
and Kubernetes. Unknown keys are refused, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from prum.services.common.errors import InvalidInput
from prum.services.common.identity import EUROPOL
from prum.services.common.purpose import OPTIONAL_PURPOSES, SearchPurpose
from prum.services.common.router_phases import RouterPhases
from prum.services.exchange.core_data import CORE_DATA_FIELDS, DEFAULT_DEADLINE_HOURS, CoreDataPolicy
from prum.services.exchange.requesting import Officer
from prum.services.face.exchange import MAX_CANDIDATES_LIMIT, FaceLimits
from prum.services.police_records.index import FIELDS as EPRIS_FIELDS
from prum.services.police_records.index import REQUIRED_FIELDS as EPRIS_REQUIRED_FIELDS

CATEGORIES = ("DNA", "FINGERPRINT", "VEHICLE", "FACE")
#: "mesh": the 2008 bilateral links; "router": Prüm II (Regulation (EU) 2024/982), DNA and fingerprint searches
#: through the central router, vehicle searches still bilateral (P2-VRD-1).
TOPOLOGIES = ("mesh", "router")
#: The code of the router's certificate (`prum.services.common.identity.ROUTER`): no state may take it.
ROUTER_CODE = "EU"

# EU member states added, in this order, when `--states N` asks for more than the file has.
EU_MEMBER_STATES = {
    "BE": "Belgium", "DE": "Germany", "ES": "Spain", "FR": "France", "LU": "Luxembourg",
    "NL": "Netherlands", "AT": "Austria", "IT": "Italy", "PT": "Portugal", "SE": "Sweden",
    "FI": "Finland", "DK": "Denmark", "IE": "Ireland", "PL": "Poland", "CZ": "Czechia",
    "SK": "Slovakia", "SI": "Slovenia", "HU": "Hungary", "HR": "Croatia", "RO": "Romania",
    "BG": "Bulgaria", "EL": "Greece", "CY": "Cyprus", "MT": "Malta", "EE": "Estonia",
    "LV": "Latvia", "LT": "Lithuania",
}

_DURATION = re.compile(r"^(\d+)\s*(d|w|m|y)$")

#: The most candidates a state may accept from each peer for verification (FP-3): the contract's bound of
#: `afis.v1.SearchRequest.max_candidates`.
MAX_CANDIDATES = 1000


class FederationFileError(ValueError):
    """The federation file is wrong; the message names the key and what is allowed."""


@dataclass(frozen=True)
class StateSpec:
    code: str
    name: str
    ready: frozenset[str]
    dna_profiles: int
    officers: tuple[Officer, ...]
    # Synthetic vehicles in the state's register.
    vehicles: int = 300
    # Synthetic fingerprint templates in the state's AFIS.
    fingerprints: int = 150
    # FP-3: searches per day this state answers for each requesting state (persons, traces), and the most
    # candidates it returns and accepts for verification.
    afis_limits: tuple[int, int, int] = (1000, 100, 10)
    # Where the state's services listen in `prum up` / Kubernetes ("host:port"); in-process picks free ports.
    address: str | None = None
    # National retention policy overrides per log entry kind, in days (LOG-6).
    retention_days: dict[str, int] = field(default_factory=dict)
    # States this state has agreed with to compare their unidentified profiles against its file (Art 4, DNA-11).
    comparison_partners: frozenset[str] = frozenset()
    # Whether the Council has declared the state's connection to the Prüm II router ready (P2-GATE-1).
    router_ready: bool = True
    # P2-SCOPE-1: the purposes besides a criminal investigation the state's national law allows its searches for
    # (MISSING_PERSON, HUMAN_REMAINS); default none: allowed only where the file declares the law allows it.
    search_purposes: frozenset[str] = frozenset()
    # P2-DNA-5: whether the state notes in its DNA file that another state's search matched one of its unidentified
    # profiles (None: the default of the topology, yes under Prüm II's router, no under the 2008 mesh).
    mark_matched_traces: bool | None = None
    # Its national law on core data (the `core_data` table): a judicial authorisation needed (P2-CORE-2), and
    # whether it supplies at once when every condition holds or waits for an operator's decision.
    core_data: CoreDataPolicy = field(default_factory=CoreDataPolicy)
    # Facial-image searches of its file (the `face` table): the candidate cap (P2-FACE-2, U: default 10), the least
    # cosine score of a candidate and the least probe quality it searches with.
    face_limits: FaceLimits = field(default_factory=FaceLimits)
    # P2-EPRIS-1: whether the state takes part in EPRIS (opt-in, default no); taking part declares its
    # police-record index ready (P2-GATE-1), and its index holds this many synthetic records.
    epris: bool = False
    police_records: int = 300
    # A state prum does not start (`external = true`): a member-state team's own node at `address`, with a
    # certificate the federation CA issued it (`prum pki issue`); `prum up` and the peers talk to it like any peer.
    external: bool = False

    def is_ready(self, category: str) -> bool:
        return category in self.ready


@dataclass(frozen=True)
class EprisSpec:
    """The `[epris]` table: EPRIS settings the rules leave unconfirmed (U) or bound, with the catalogue's defaults."""

    # P2-EPRIS-1 (U): the biographic fields the national indexes search; the optional ones may be left out.
    fields: tuple[str, ...] = EPRIS_FIELDS
    # P2-EPRIS-5: hours between the rebuilds of each index under a new key: at least daily (1 to 24, default 24).
    refresh_hours: int = 24

    def to_file_data(self) -> dict[str, Any]:
        return {"fields": list(self.fields), "refresh_hours": self.refresh_hours}


@dataclass(frozen=True)
class RouterSpec:
    """The `[router]` table: the Prüm II router's address and the settings its rules leave unconfirmed (U)."""

    # Where the router listens in `prum up` / Kubernetes ("host:port"); in-process picks a free loopback port.
    address: str | None = None
    # P2-ROUTER-2 (U): a search with no state named goes to every state; a search across several categories.
    all_states: bool = True
    several_categories: bool = True
    # P2-ROUTER-3 (U): how long the router keeps its log, in days (default one year).
    log_retention_days: int = 365
    # P2-TIME-1: from when the router may, then must, carry DNA and fingerprint searches (default: from the start).
    phases: RouterPhases = field(default_factory=RouterPhases)
    # P2-CORE-1: the hours within which a requested state sends core data (48); P2-CORE-3 (U): the fields of the
    # core data set.
    core_data_deadline_hours: int = DEFAULT_DEADLINE_HOURS
    core_data_fields: tuple[str, ...] = CORE_DATA_FIELDS

    def to_file_data(self) -> dict[str, Any]:
        table: dict[str, Any] = {"all_states": self.all_states, "several_categories": self.several_categories,
                                 "log_retention": f"{self.log_retention_days}d",
                                 "core_data_deadline_hours": self.core_data_deadline_hours,
                                 "core_data_fields": list(self.core_data_fields)}
        if self.address:
            table["address"] = self.address
        if self.phases.available_from is not None:
            table["available_from"] = self.phases.available_from.isoformat()
            table["mandatory_from"] = self.phases.mandatory_from.isoformat() if self.phases.mandatory_from else None
        return table


@dataclass(frozen=True)
class EuropolSpec:
    """The `[europol]` table: Europol as a participant of the Prüm II federation (P2-EUROPOL-1..3), its code
    `identity.EUROPOL`. Off by default, so a federation without the table is the states alone."""

    enabled: bool = False
    # Synthetic third-country data in Europol's DNA file and AFIS (P2-EUROPOL-2).
    dna_profiles: int = 40
    fingerprints: int = 20
    # Whether the Council has declared Europol's connection to the router ready (P2-GATE-1).
    router_ready: bool = True
    # Where Europol's services listen in `prum up` / Kubernetes (not served there yet); in-process picks a port.
    address: str | None = None

    def to_file_data(self) -> dict[str, Any]:
        table: dict[str, Any] = {"enabled": self.enabled, "dna_profiles": self.dna_profiles,
                                 "fingerprints": self.fingerprints, "router_ready": self.router_ready}
        if self.address:
            table["address"] = self.address
        return table


@dataclass(frozen=True)
class Federation:
    name: str
    topology: str
    seed: int
    deadline_ms: int
    states: tuple[StateSpec, ...]
    # Share of the traces that start in this federation which are recorded (0.0 to 1.0): every state samples
    # a trace it starts with this probability and follows the caller's decision for the rest (parent-based).
    trace_sample_ratio: float = 1.0
    # The Prüm II router (used when `topology` is "router").
    router: RouterSpec = field(default_factory=RouterSpec)
    # Europol (P2-EUROPOL-1..3), in the router topology only.
    europol: EuropolSpec = field(default_factory=EuropolSpec)
    # EPRIS's settings (P2-EPRIS-1, -5); which states take part is each state's `epris`.
    epris: EprisSpec = field(default_factory=EprisSpec)

    @property
    def codes(self) -> list[str]:
        return [s.code for s in self.states]

    @property
    def participants(self) -> list[str]:
        """The states, and Europol when it takes part: who the router and the readiness books know."""
        return [*self.codes, EUROPOL] if self.europol.enabled else self.codes

    @property
    def purposes(self) -> dict[str, frozenset[SearchPurpose]]:
        """What each state's national law allows besides a criminal investigation (P2-SCOPE-1): every state
        knows every other's, so the requested state refuses a purpose the requesting state has not declared."""
        return {s.code: frozenset(SearchPurpose[p] for p in s.search_purposes) for s in self.states}

    def state(self, code: str) -> StateSpec:
        for spec in self.states:
            if spec.code == code:
                return spec
        raise KeyError(f"state {code!r} is not in federation {self.name!r}; states: {', '.join(self.codes)}")

    def to_file_data(self) -> dict[str, Any]:
        """This federation in the federation file's schema: `parse_federation(f.to_file_data()) == f`."""
        def state(spec: StateSpec) -> dict[str, Any]:
            table: dict[str, Any] = {
                "code": spec.code, "name": spec.name, "ready": sorted(spec.ready), "dna_profiles": spec.dna_profiles,
                "vehicles": spec.vehicles, "fingerprints": spec.fingerprints,
                "afis": dict(zip(("person_searches_per_day", "trace_searches_per_day", "max_candidates"),
                                 spec.afis_limits)),
                "officer": [{"id": o.officer_id, "name": o.name, "authorised": o.authorised} for o in spec.officers],
                "retention": {kind: f"{days}d" for kind, days in spec.retention_days.items()},
                "comparison_partners": sorted(spec.comparison_partners), "router_ready": spec.router_ready,
                "search_purposes": sorted(spec.search_purposes), "epris": spec.epris,
                "police_records": spec.police_records,
                "core_data": {"judicial_authorisation": spec.core_data.judicial_authorisation,
                              "automatic": spec.core_data.automatic},
                "face": {"max_candidates": spec.face_limits.max_candidates, "threshold": spec.face_limits.threshold,
                         "min_quality": spec.face_limits.min_quality},
                **({"mark_matched_traces": spec.mark_matched_traces} if spec.mark_matched_traces is not None else {}),
                **({"external": True} if spec.external else {})}
            if spec.address:
                table["address"] = spec.address
            return table
        return {"federation": {"name": self.name, "topology": self.topology, "seed": self.seed,
                               "deadline_ms": self.deadline_ms, "trace_sample_ratio": self.trace_sample_ratio},
                "router": self.router.to_file_data(), "europol": self.europol.to_file_data(),
                "epris": self.epris.to_file_data(),
                "state": [state(s) for s in self.states]}

    def scaled(self, count: int) -> Federation:
        """This federation with `count` states: the first `count`, or more EU member states appended."""
        if not 2 <= count <= len(EU_MEMBER_STATES):
            raise FederationFileError(f"--states must be between 2 and {len(EU_MEMBER_STATES)}, got {count}")
        states = list(self.states[:count])
        template = self.states[0]
        for code, name in EU_MEMBER_STATES.items():
            if len(states) >= count:
                break
            if code not in {s.code for s in states}:
                states.append(replace(template, code=code, name=name, officers=default_officers(code),
                                      ready=frozenset(CATEGORIES), retention_days={}, address=None,
                                      comparison_partners=frozenset(), router_ready=True))
        # Art 4 agreements with states left out of a smaller federation go with them.
        codes = {s.code for s in states}
        states = [replace(s, comparison_partners=s.comparison_partners & codes) for s in states]
        return replace(self, states=tuple(states))


#: Europol (P2-EUROPOL-1..3) runs in-process only for now (`InProcessFederation`, `prum demo --topology router`).
NO_EUROPOL_HERE = ("[europol] enabled = true: Europol runs in-process only for now (prum demo --topology router); "
                   "{command} does not start it yet, so searches naming it could not be answered; set enabled = false")


def default_officers(code: str) -> tuple[Officer, ...]:
    """Two authorised NCP officers and one who is not (SEC-2), for a state without a list of its own."""
    return (
        Officer(f"{code}-NCP-01", f"{code} duty officer", True),
        Officer(f"{code}-NCP-02", f"{code} ordering officer", True),
        Officer(f"{code}-TRAINEE", f"{code} trainee (not authorised)", False),
    )


def parse_duration_days(text: str, where: str) -> int:
    match = _DURATION.match(str(text).strip())
    if not match:
        raise FederationFileError(f"{where}: {text!r} is not a duration; write e.g. '730d', '104w', '24m' or '2y'")
    value, unit = int(match.group(1)), match.group(2)
    return value * {"d": 1, "w": 7, "m": 30, "y": 365}[unit] + (value // 4 if unit == "y" else 0)


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise FederationFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _ready(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list) or any(v not in CATEGORIES for v in value):
        raise FederationFileError(f"{where}.ready: {value!r}; allowed: a list of {', '.join(CATEGORIES)}")
    return frozenset(value)


def parse_federation(data: dict[str, Any], source: str = "<federation>") -> Federation:
    _check_keys(data, {"federation", "defaults", "router", "europol", "epris", "state"}, source)
    head = data.get("federation", {})
    _check_keys(head, {"name", "topology", "seed", "deadline_ms", "trace_sample_ratio"}, f"{source} [federation]")
    defaults = data.get("defaults", {})
    _check_keys(defaults, {"ready", "dna_profiles", "vehicles", "fingerprints", "afis", "router_ready",
                           "search_purposes", "face", "epris", "police_records"}, f"{source} [defaults]")
    topology = head.get("topology", "mesh")
    if topology not in TOPOLOGIES:
        raise FederationFileError(f"{source} [federation].topology: {topology!r}; allowed: {', '.join(TOPOLOGIES)}")
    router = _router(data.get("router", {}), f"{source} [router]")
    states: list[StateSpec] = []
    for index, table in enumerate(data.get("state", [])):
        where = f"{source} [[state]] #{index + 1}"
        _check_keys(table, {"code", "name", "ready", "dna_profiles", "vehicles", "fingerprints", "afis", "officer",
                            "address", "retention", "comparison_partners", "router_ready", "mark_matched_traces",
                            "search_purposes", "core_data", "face", "epris", "police_records", "external"}, where)
        code = table.get("code", "")
        if not (isinstance(code, str) and len(code) == 2 and code.isalpha() and code.isupper()):
            raise FederationFileError(f"{where}.code: {code!r}; allowed: an ISO 3166 alpha-2 code in capitals, e.g. 'NL'")
        if code in {s.code for s in states}:
            raise FederationFileError(f"{where}.code: {code} appears twice")
        if code == ROUTER_CODE:
            raise FederationFileError(f"{where}.code: {code} is the Prüm II router's code, not a state's")
        if code == EUROPOL:
            raise FederationFileError(f"{where}.code: {code} is Europol's code ([europol]), not a state's")
        purposes = table.get("search_purposes", defaults.get("search_purposes", []))
        allowed_purposes = [p.name for p in OPTIONAL_PURPOSES]
        if not isinstance(purposes, list) or any(p not in allowed_purposes for p in purposes):
            raise FederationFileError(f"{where}.search_purposes: {purposes!r}; allowed: a list of "
                                      f"{', '.join(allowed_purposes)} (what the state's national law allows besides a "
                                      f"criminal investigation, P2-SCOPE-1)")
        external = table.get("external", False)
        if not isinstance(external, bool):
            raise FederationFileError(f"{where}.external: {external!r}; allowed: true or false (a state prum does not "
                                      f"start, at its address)")
        if external and not (isinstance(table.get("address"), str) and ":" in table["address"]):
            raise FederationFileError(f"{where}.address: {table.get('address')!r}; an external state needs the "
                                      f"\"host:port\" where its own node listens")
        router_ready = table.get("router_ready", defaults.get("router_ready", True))
        if not isinstance(router_ready, bool):
            raise FederationFileError(f"{where}.router_ready: {router_ready!r}; allowed: true or false (whether the "
                                      f"state's router connection is declared ready, P2-GATE-1)")
        epris = table.get("epris", defaults.get("epris", False))
        if not isinstance(epris, bool):
            raise FederationFileError(f"{where}.epris: {epris!r}; allowed: true or false (whether the state takes "
                                      f"part in EPRIS, the police-record index exchange, P2-EPRIS-1)")
        police_records = table.get("police_records", defaults.get("police_records", 300))
        officers = []
        for o in table.get("officer", []):
            _check_keys(o, {"id", "name", "authorised"}, f"{where}.officer")
            officers.append(Officer(str(o["id"]), str(o.get("name", o["id"])), bool(o.get("authorised", True))))
        retention = {}
        for kind, text in table.get("retention", {}).items():
            retention[kind] = parse_duration_days(text, f"{where}.retention.{kind}")
        profiles = table.get("dna_profiles", defaults.get("dna_profiles", 400))
        vehicles = table.get("vehicles", defaults.get("vehicles", 300))
        fingerprints = table.get("fingerprints", defaults.get("fingerprints", 150))
        afis = {"person_searches_per_day": 1000, "trace_searches_per_day": 100, "max_candidates": 10,
                **defaults.get("afis", {}), **table.get("afis", {})}
        _check_keys(afis, {"person_searches_per_day", "trace_searches_per_day", "max_candidates"}, f"{where}.afis")
        for key, value in (("dna_profiles", profiles), ("vehicles", vehicles), ("fingerprints", fingerprints),
                           ("police_records", police_records),
                           *((f"afis.{k}", v) for k, v in afis.items())):
            if not isinstance(value, int) or value < 0:
                raise FederationFileError(f"{where}.{key}: {value!r}; allowed: a whole number >= 0")
        if afis["max_candidates"] > MAX_CANDIDATES:
            # A peer refuses a search asking for more (afis.v1.SearchRequest.max_candidates).
            raise FederationFileError(f"{where}.afis.max_candidates: {afis['max_candidates']}; allowed: 0 to "
                                      f"{MAX_CANDIDATES}")
        partners = table.get("comparison_partners", [])
        if not isinstance(partners, list) or not all(isinstance(p, str) and len(p) == 2 for p in partners):
            raise FederationFileError(f"{where}.comparison_partners: {partners!r}; allowed: a list of state codes")
        states.append(StateSpec(
            comparison_partners=frozenset(partners),
            code=code, name=str(table.get("name", code)),
            ready=_ready(table.get("ready", defaults.get("ready", list(CATEGORIES))), where),
            dna_profiles=profiles, vehicles=vehicles, fingerprints=fingerprints,
            afis_limits=(afis["person_searches_per_day"], afis["trace_searches_per_day"], afis["max_candidates"]),
            officers=tuple(officers) or default_officers(code),
            address=table.get("address"), retention_days=retention, router_ready=router_ready,
            search_purposes=frozenset(purposes), epris=epris, police_records=police_records,
            mark_matched_traces=_optional_bool(table.get("mark_matched_traces"), f"{where}.mark_matched_traces"),
            core_data=_core_data(table.get("core_data", {}), f"{where}.core_data"),
            face_limits=_face({**defaults.get("face", {}), **table.get("face", {})}, f"{where}.face"),
            external=external))
    codes = {s.code for s in states}
    for spec in states:
        strangers = sorted(spec.comparison_partners - codes)
        if strangers:
            raise FederationFileError(f"{source} state {spec.code}.comparison_partners: {strangers} are not states "
                                      f"of this federation; allowed: {sorted(codes - {spec.code})}")
    if len(states) < 2:
        raise FederationFileError(f"{source}: a federation needs at least 2 [[state]] tables, found {len(states)}")
    deadline = head.get("deadline_ms", 3000)
    if not isinstance(deadline, int) or not 10 <= deadline <= 600_000:
        raise FederationFileError(f"{source} [federation].deadline_ms: {deadline!r}; allowed: 10 to 600000")
    ratio = head.get("trace_sample_ratio", 1.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0.0 <= ratio <= 1.0:
        raise FederationFileError(f"{source} [federation].trace_sample_ratio: {ratio!r}; allowed: 0.0 to 1.0 (the "
                                  f"share of traces recorded)")
    europol = _europol(data.get("europol", {}), f"{source} [europol]")
    if europol.enabled and topology != "router":
        raise FederationFileError(f"{source} [europol].enabled: Europol searches and is searched through the Prüm II "
                                  f"router only (P2-EUROPOL-1, -2); allowed with [federation].topology = \"router\"")
    return Federation(name=str(head.get("name", "federation")), topology=topology,
                      seed=int(head.get("seed", 2008)), deadline_ms=deadline, states=tuple(states),
                      trace_sample_ratio=float(ratio), router=router, europol=europol,
                      epris=_epris(data.get("epris", {}), f"{source} [epris]"))


def _epris(table: dict[str, Any], where: str) -> EprisSpec:
    _check_keys(table, {"fields", "refresh_hours"}, where)
    fields = table.get("fields", list(EPRIS_FIELDS))
    optional = [f for f in EPRIS_FIELDS if f not in EPRIS_REQUIRED_FIELDS]
    if (not isinstance(fields, list) or any(f not in EPRIS_FIELDS for f in fields)
            or any(f not in fields for f in EPRIS_REQUIRED_FIELDS)):
        raise FederationFileError(f"{where}.fields: {fields!r}; allowed: {', '.join(EPRIS_REQUIRED_FIELDS)} (every "
                                  f"search needs them) and any of {', '.join(optional)} (P2-EPRIS-1)")
    hours = table.get("refresh_hours", 24)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24:
        raise FederationFileError(f"{where}.refresh_hours: {hours!r}; allowed: 1 to 24 (the national indexes are "
                                  f"refreshed at least every 24 hours, P2-EPRIS-5)")
    return EprisSpec(tuple(f for f in EPRIS_FIELDS if f in fields), hours)


def _europol(table: dict[str, Any], where: str) -> EuropolSpec:
    """The `[europol]` table (P2-EUROPOL-1..3); off unless `enabled = true`."""
    _check_keys(table, {"enabled", "dna_profiles", "fingerprints", "router_ready", "address"}, where)
    for key in ("enabled", "router_ready"):
        if not isinstance(table.get(key, True), bool):
            raise FederationFileError(f"{where}.{key}: {table[key]!r}; allowed: true or false")
    for key in ("dna_profiles", "fingerprints"):
        value = table.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FederationFileError(f"{where}.{key}: {value!r}; allowed: a whole number >= 0 (synthetic "
                                      f"third-country data)")
    address = table.get("address")
    if address is not None and not isinstance(address, str):
        raise FederationFileError(f"{where}.address: {address!r}; allowed: \"host:port\"")
    spec = EuropolSpec()
    return EuropolSpec(enabled=table.get("enabled", False), dna_profiles=table.get("dna_profiles", spec.dna_profiles),
                       fingerprints=table.get("fingerprints", spec.fingerprints),
                       router_ready=table.get("router_ready", True), address=address)


def _face(table: dict[str, Any], where: str) -> FaceLimits:
    """The `face` table: P2-FACE-2's candidate cap (U: default 10), the score threshold, the least probe quality."""
    _check_keys(table, {"max_candidates", "threshold", "min_quality"}, where)
    limits = FaceLimits()
    cap, threshold = table.get("max_candidates", limits.max_candidates), table.get("threshold", limits.threshold)
    quality = table.get("min_quality", limits.min_quality)
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CANDIDATES_LIMIT:
        raise FederationFileError(f"{where}.max_candidates: {cap!r}; allowed: 1 to {MAX_CANDIDATES_LIMIT} (the "
                                  f"candidates a facial-image search returns at most, P2-FACE-2)")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not -1 <= threshold <= 1:
        raise FederationFileError(f"{where}.threshold: {threshold!r}; allowed: -1 to 1 (a cosine score)")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
        raise FederationFileError(f"{where}.min_quality: {quality!r}; allowed: 0 to 100")
    return FaceLimits(cap, float(threshold), quality)


def _optional_bool(value: Any, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise FederationFileError(f"{where}: {value!r}; allowed: true or false")
    return value


def _core_data(table: dict[str, Any], where: str) -> CoreDataPolicy:
    """A state's `core_data` table: its national law on core data after a confirmed match (P2-CORE-1, -2)."""
    _check_keys(table, {"judicial_authorisation", "automatic"}, where)
    for key in ("judicial_authorisation", "automatic"):
        if not isinstance(table.get(key, False), bool):
            raise FederationFileError(f"{where}.{key}: {table[key]!r}; allowed: true or false")
    return CoreDataPolicy(judicial_authorisation=table.get("judicial_authorisation", False),
                          automatic=table.get("automatic", True))


def _router(table: dict[str, Any], where: str) -> RouterSpec:
    """The `[router]` table; each setting the rules leave unconfirmed has the default they give (P2-ROUTER-2, -3,
    P2-CORE-3), and the core-data deadline the 48 hours of P2-CORE-1."""
    _check_keys(table, {"address", "all_states", "several_categories", "log_retention", "available_from",
                        "mandatory_from", "core_data_deadline_hours", "core_data_fields"}, where)
    hours = table.get("core_data_deadline_hours", DEFAULT_DEADLINE_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 8760:
        raise FederationFileError(f"{where}.core_data_deadline_hours: {hours!r}; allowed: 1 to 8760 (hours)")
    fields = table.get("core_data_fields", list(CORE_DATA_FIELDS))
    if not isinstance(fields, list) or not fields or any(f not in CORE_DATA_FIELDS for f in fields):
        raise FederationFileError(f"{where}.core_data_fields: {fields!r}; allowed: a non-empty list of "
                                  f"{', '.join(CORE_DATA_FIELDS)}")
    for key in ("all_states", "several_categories"):
        if not isinstance(table.get(key, True), bool):
            raise FederationFileError(f"{where}.{key}: {table[key]!r}; allowed: true or false")
    address = table.get("address")
    if address is not None and not isinstance(address, str):
        raise FederationFileError(f"{where}.address: {address!r}; allowed: \"host:port\"")
    try:
        phases = RouterPhases(_moment(table.get("available_from"), f"{where}.available_from"),
                              _moment(table.get("mandatory_from"), f"{where}.mandatory_from"))
    except InvalidInput as error:
        raise FederationFileError(f"{where}.{error.field.removeprefix('router.') if error.field else ''}: "
                                  f"{error.reason}") from None
    return RouterSpec(address=address, all_states=table.get("all_states", True),
                      several_categories=table.get("several_categories", True),
                      log_retention_days=parse_duration_days(table.get("log_retention", "365d"),
                                                             f"{where}.log_retention"), phases=phases,
                      core_data_deadline_hours=hours, core_data_fields=tuple(fields))


def _moment(value: Any, where: str) -> datetime | None:
    """A TOML date (midnight UTC) or offset date-time, or either in ISO 8601 text (as `to_file_data` writes them
    for JSON); None when not given."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise FederationFileError(f"{where}: {value!r}; allowed: a date (2027-06-01) or a date-time with its "
                                      f"offset (2027-06-01T00:00:00Z)") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise FederationFileError(f"{where}: {value.isoformat()} has no offset; allowed: a date (2027-06-01) or "
                                      f"a date-time with its offset (2027-06-01T00:00:00Z)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise FederationFileError(f"{where}: {value!r}; allowed: a date (2027-06-01) or a date-time with its offset")


def load_federation(path: Path | None = None) -> Federation:
    """Read a federation file; without a path, the default federation shipped with prum."""
    if path is None:
        text = resources.files("prum.federation.runtime").joinpath("default_federation.toml").read_text("utf-8")
        source = "default_federation.toml"
    else:
        text, source = Path(path).read_text("utf-8"), str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FederationFileError(f"{source}: not valid TOML: {exc}") from exc
    return parse_federation(data, source)
