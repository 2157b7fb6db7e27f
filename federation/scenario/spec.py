"""The scenario file: a federation file plus a `[scenario]` table and ordered `[[step]]` tables (TOML).

    [scenario]
    name = "one state down mid-search"
    federation = "../federation.toml"     # or the federation file's own tables inline ([federation], [[state]], ...)
    pki = "run/pki"                       # the federation CA, when a state is external (`prum pki issue`)

    [[step]]
    do = "search"
    name = "planted trace while FR answers slowly"
    planted = "dropped-out allele"        # a planted search of the demo's synthetic data, by part of its title
    expect = { NL = { status = "HIT", match_class = "wildcard" }, FR = "UNAVAILABLE" }

Each kind of step (`do`) takes its own keys (`STEP_KEYS`); an unknown key, kind or value is refused with the line
it stands on, like the federation file refuses its own. This module only reads: `runner.py` runs the steps.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from prum.federation.runtime.topology import (
    Federation,
    FederationFileError,
    load_federation,
    parse_federation,
)
from prum.federation.runtime.toxics import TOXICS

#: What a state's result may be expected to be (the contact point's `ResultStatus`).
STATUSES = ("HIT", "NO_HIT", "NOT_READY", "UNAVAILABLE", "DEADLINE_EXCEEDED", "REFUSED")
#: The readiness workflow's steps (GATE-1), in their order.
READINESS_STEPS = ("DECLARATIONS_FILED", "QUESTIONNAIRE_ANSWERED", "PILOT_RUN_PASSED", "EVALUATION_VISIT_DONE")
#: The checks on the logs a `check` step runs.
CHECKS = ("logged_on_both_sides", "chains_verify", "nothing_left")
#: The LOG-2 fields of an entry a `logged_on_both_sides` check wants filled unless it names its own.
LOG2_FIELDS = ("data_supplied", "recorded_at", "requesting_state", "requested_state")
#: The keys each kind of step takes besides `do` and `name`.
STEP_KEYS: dict[str, frozenset[str]] = {
    "search": frozenset({"planted", "from", "officer", "targets", "expect", "expect_others", "expect_error",
                         "max_ms", "background"}),
    "wait": frozenset({"for"}),
    "sleep": frozenset({"ms"}),
    "stop": frozenset({"state"}),
    "kill": frozenset({"state"}),
    "restart": frozenset({"state"}),
    "toxic": frozenset({"type", "to", "from", "latency", "jitter", "rate", "timeout"}),
    "remove_toxic": frozenset({"toxic"}),
    "partition": frozenset({"between"}),
    "heal": frozenset({"between"}),
    "readiness_step": frozenset({"state", "category", "step"}),
    "vote": frozenset({"subject", "category", "voters", "vote"}),
    "revoke": frozenset({"state", "category", "reason"}),
    "advance_clock": frozenset({"by"}),
    "check": frozenset({"what", "search", "fields"}),
    "foreign_certificate": frozenset({"to", "as"}),
    "declare": frozenset({"state", "kind", "category", "text"}),
}
#: What a state declares (DEC-1), the contract's `DeclarationKind`.
DECLARATION_KINDS = ("CONTACT_POINT", "NATIONAL_FILE", "COMPETENT_AUTHORITY", "DATA_PROTECTION")
#: Steps that change the federation rather than look at it: the report's timeline draws them as faults.
FAULTS = frozenset({"stop", "kill", "restart", "toxic", "remove_toxic", "partition", "heal", "advance_clock"})
_DURATION = re.compile(r"^(\d+)\s*(ms|s|m|h|d)$")
_FEDERATION_KEYS = ("federation", "defaults", "router", "europol", "state")


class ScenarioFileError(ValueError):
    """The scenario file is wrong; the message names the file, the line, the key and what is allowed."""


@dataclass(frozen=True)
class Expectation:
    """What one state's result must be: its status, and optionally a reference among its hits, a match class, the
    peer's refusal code, and bounds on its milliseconds."""

    status: str
    reference: str = ""
    match_class: str = ""
    code: str = ""
    min_ms: float | None = None
    max_ms: float | None = None

    def describe(self) -> str:
        parts = [self.status]
        parts += [f"{k} {v}" for k, v in (("reference", self.reference), ("match class", self.match_class),
                                          ("code", self.code)) if v]
        parts += [f"{k} {v:g} ms" for k, v in ((">=", self.min_ms), ("<=", self.max_ms)) if v is not None]
        return ", ".join(parts)


@dataclass(frozen=True)
class Step:
    do: str
    name: str
    line: int
    params: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Expectation] = field(default_factory=dict)

    @property
    def fault(self) -> bool:
        return self.do in FAULTS


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str
    federation: Federation
    steps: tuple[Step, ...]
    # The federation CA's folder (ca.pem, ca.key), required when a state is external (its certificate chains to it).
    pki: Path | None = None


def _line(lines: list[str], key: str, start: int = 0, header: str | None = None) -> int:
    """The 1-based line of `key = ...` (or of the table `header`) at or after line `start`; `start` + 1 if absent."""
    pattern = re.compile(rf"^\s*(\[{re.escape(header)}\]|\"?{re.escape(key)}\"?\s*=)" if header else
                         rf"^\s*(\"?{re.escape(key)}\"?\s*=|\[\s*step\.{re.escape(key)}\s*\])")
    for number in range(start, len(lines)):
        if pattern.match(lines[number]):
            return number + 1
    return start + 1


def _step_lines(lines: list[str]) -> list[int]:
    return [n for n, text in enumerate(lines) if re.match(r"^\s*\[\[\s*step\s*\]\]", text)]


def duration(text: Any, where: str) -> timedelta:
    """"250ms", "30s", "5m", "25h", "1d" as a timedelta."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ScenarioFileError(f"{where}: {text!r} is not a duration; write e.g. '250ms', '30s', '5m', '25h', '1d'")
    value, unit = int(match.group(1)), match.group(2)
    return timedelta(milliseconds=value * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit])


def _expectation(value: Any, where: str) -> Expectation:
    if isinstance(value, str):
        status, _, code = value.partition(":")  # "REFUSED:RESOURCE_EXHAUSTED"
        value = {"status": status, **({"code": code} if code else {})}
    if not isinstance(value, dict):
        raise ScenarioFileError(f"{where}: {value!r}; allowed: a status ({', '.join(STATUSES)}) or a table "
                                f"{{status, reference, match_class, code, min_ms, max_ms}}")
    unknown = set(value) - {"status", "reference", "match_class", "code", "min_ms", "max_ms"}
    if unknown:
        raise ScenarioFileError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: status, reference, "
                                f"match_class, code, min_ms, max_ms")
    if value.get("status") not in STATUSES:
        raise ScenarioFileError(f"{where}.status: {value.get('status')!r}; allowed: {', '.join(STATUSES)}")
    for key in ("min_ms", "max_ms"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], (int, float))
                             or value[key] < 0):
            raise ScenarioFileError(f"{where}.{key}: {value[key]!r}; allowed: milliseconds >= 0")
    return Expectation(value["status"], str(value.get("reference", "")), str(value.get("match_class", "")),
                       str(value.get("code", "")), value.get("min_ms"), value.get("max_ms"))


def _state(value: Any, codes: list[str], where: str) -> str:
    if value not in codes:
        raise ScenarioFileError(f"{where}: {value!r} is not a state of the federation; allowed: {', '.join(codes)}")
    return str(value)


def _step(table: dict[str, Any], number: int, line: int, lines: list[str], federation: Federation,
          names: set[str], source: str) -> Step:
    codes = federation.codes
    do = table.get("do")
    where = f"{source}:{line} [[step]] #{number}"
    if do not in STEP_KEYS:
        raise ScenarioFileError(f"{source}:{_line(lines, 'do', line - 1)} [[step]] #{number}.do: {do!r}; "
                                f"allowed: {', '.join(STEP_KEYS)}")
    allowed = STEP_KEYS[do] | {"do", "name"}
    for key in table:
        if key not in allowed:
            raise ScenarioFileError(f"{source}:{_line(lines, key, line - 1)} [[step]] #{number} ({do}): unknown key "
                                    f"{key!r}; allowed: {', '.join(sorted(allowed))}")

    def at(key: str) -> str:
        return f"{source}:{_line(lines, key, line - 1)} [[step]] #{number}.{key}"

    name = str(table.get("name", f"{number}. {do}"))
    if name in names:
        raise ScenarioFileError(f"{at('name')}: {name!r} names an earlier step too; each step's name is its own")
    params = {k: v for k, v in table.items() if k not in ("do", "name", "expect")}
    expect: dict[str, Expectation] = {}
    if do == "search":
        if not isinstance(table.get("planted"), str) or not table["planted"]:
            raise ScenarioFileError(f"{where}.planted: {table.get('planted')!r}; allowed: part of the title of one of "
                                    f"the demo's planted searches, or \"*\" for all of them")
        for key in ("from",):
            if key in table:
                _state(table[key], codes, at(key))
        for target in table.get("targets", []):
            _state(target, codes, at("targets"))
        raw = table.get("expect", {})
        if not isinstance(raw, dict):
            raise ScenarioFileError(f"{at('expect')}: allowed: a table of state = expectation")
        for state, value in raw.items():
            _state(state, codes, f"{at('expect')}.{state}")
            expect[state] = _expectation(value, f"{at('expect')}.{state}")
        if "expect_others" in table:
            params["expect_others"] = _expectation(table["expect_others"], at("expect_others"))
        if "expect_error" in table and not (isinstance(table["expect_error"], str)
                                            and table["expect_error"].isupper()):
            raise ScenarioFileError(f"{at('expect_error')}: {table['expect_error']!r}; allowed: a gRPC status code "
                                    f"name, e.g. PERMISSION_DENIED")
        if "max_ms" in table and (not isinstance(table["max_ms"], (int, float)) or table["max_ms"] <= 0):
            raise ScenarioFileError(f"{at('max_ms')}: {table['max_ms']!r}; allowed: milliseconds > 0")
    elif do == "wait":
        if table.get("for") not in names:
            raise ScenarioFileError(f"{at('for')}: {table.get('for')!r}; allowed: the name of an earlier search "
                                    f"step with background = true")
    elif do == "sleep":
        if not isinstance(table.get("ms"), int) or not 0 < table["ms"] <= 60_000:
            raise ScenarioFileError(f"{at('ms')}: {table.get('ms')!r}; allowed: 1 to 60000 milliseconds")
    elif do in ("stop", "kill", "restart"):
        _state(table.get("state"), codes, at("state"))
    elif do == "toxic":
        if table.get("type") not in TOXICS:
            raise ScenarioFileError(f"{at('type')}: {table.get('type')!r}; allowed: {', '.join(TOXICS)} "
                                    f"(Toxiproxy's toxics)")
        _state(table.get("to"), codes, at("to"))
        if "from" in table:
            _state(table["from"], codes, at("from"))
        for key in ("latency", "jitter", "rate", "timeout"):
            if key in table and (isinstance(table[key], bool) or not isinstance(table[key], (int, float))
                                 or table[key] < 0):
                raise ScenarioFileError(f"{at(key)}: {table[key]!r}; allowed: a number >= 0 (ms, or KB/s for rate)")
            if key in table and key not in TOXICS[table["type"]]:
                raise ScenarioFileError(f"{at(key)}: the {table['type']} toxic takes "
                                        f"{', '.join(TOXICS[table['type']])}")
        if table["type"] == "bandwidth" and not table.get("rate"):
            raise ScenarioFileError(f"{at('rate')}: the bandwidth toxic needs rate (KB/s) > 0")
    elif do == "remove_toxic":
        if table.get("toxic") not in names:
            raise ScenarioFileError(f"{at('toxic')}: {table.get('toxic')!r}; allowed: the name of an earlier toxic "
                                    f"step")
    elif do in ("partition", "heal"):
        between = table.get("between")
        if not isinstance(between, list) or len(between) != 2 or between[0] == between[1]:
            raise ScenarioFileError(f"{at('between')}: {between!r}; allowed: two different states, e.g. [\"DE\", "
                                    f"\"FR\"]")
        for state in between:
            _state(state, codes, at("between"))
    elif do in ("readiness_step", "vote", "revoke"):
        _state(table.get("subject" if do == "vote" else "state"), codes, at("subject" if do == "vote" else "state"))
        if table.get("category") not in ("DNA", "FINGERPRINT", "VEHICLE"):
            raise ScenarioFileError(f"{at('category')}: {table.get('category')!r}; allowed: DNA, FINGERPRINT, "
                                    f"VEHICLE")
        if do == "readiness_step":
            chosen = table.get("step", "all")
            if chosen != "all" and chosen not in READINESS_STEPS:
                raise ScenarioFileError(f"{at('step')}: {chosen!r}; allowed: all, {', '.join(READINESS_STEPS)}")
        if do == "vote":
            for voter in table.get("voters", []):
                _state(voter, codes, at("voters"))
            if table.get("vote", "IN_FAVOUR") not in ("IN_FAVOUR", "AGAINST"):
                raise ScenarioFileError(f"{at('vote')}: {table['vote']!r}; allowed: IN_FAVOUR, AGAINST")
        if do == "revoke" and not table.get("reason"):
            raise ScenarioFileError(f"{at('reason')}: required; why the decision is revoked")
    elif do == "declare":
        _state(table.get("state"), codes, at("state"))
        if table.get("kind") not in DECLARATION_KINDS:
            raise ScenarioFileError(f"{at('kind')}: {table.get('kind')!r}; allowed: {', '.join(DECLARATION_KINDS)}")
        if "category" in table and table["category"] not in ("DNA", "FINGERPRINT", "VEHICLE"):
            raise ScenarioFileError(f"{at('category')}: {table['category']!r}; allowed: DNA, FINGERPRINT, VEHICLE")
        if not isinstance(table.get("text"), str) or not table["text"].strip():
            raise ScenarioFileError(f"{at('text')}: required; what the state declares")
    elif do == "foreign_certificate":
        _state(table.get("to"), codes, at("to"))
        claimed = table.get("as", next(c for c in codes if c != table["to"]))
        _state(claimed, codes, at("as"))
        params["as"] = claimed
    elif do == "advance_clock":
        params["by"] = duration(table.get("by"), at("by"))
    elif do == "check":
        if table.get("what") not in CHECKS:
            raise ScenarioFileError(f"{at('what')}: {table.get('what')!r}; allowed: {', '.join(CHECKS)}")
        if table["what"] != "chains_verify" and table.get("search") not in names:
            raise ScenarioFileError(f"{at('search')}: {table.get('search')!r}; allowed: the name of an earlier "
                                    f"search step")
        fields = table.get("fields", list(LOG2_FIELDS))
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ScenarioFileError(f"{at('fields')}: {fields!r}; allowed: a list of log entry field names")
        params["fields"] = tuple(fields)
    return Step(do, name, line, params, expect)


def parse_scenario(text: str, source: str = "<scenario>", folder: Path | None = None) -> Scenario:
    """A scenario from the text of its file; `folder` resolves a federation file named by a relative path."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioFileError(f"{source}: not valid TOML: {error}") from error
    lines = text.splitlines()
    for key in data:
        if key not in ("scenario", "step", *_FEDERATION_KEYS):
            raise ScenarioFileError(f"{source}:{_line(lines, key, header=key)}: unknown table or key {key!r}; "
                                    f"allowed: scenario, step, and the federation file's "
                                    f"{', '.join(_FEDERATION_KEYS)}")
    head = data.get("scenario", {})
    head_line = _line(lines, "scenario", header="scenario")
    for key in head:
        if key not in ("name", "description", "federation", "pki"):
            raise ScenarioFileError(f"{source}:{_line(lines, key, head_line - 1)} [scenario]: unknown key {key!r}; "
                                    f"allowed: description, federation, name, pki")
    inline = {k: v for k, v in data.items() if k in _FEDERATION_KEYS}
    try:
        if "federation" in head:
            if inline:
                raise ScenarioFileError(f"{source}:{_line(lines, 'federation', head_line - 1)} [scenario].federation: "
                                        f"a federation file is named, so the tables {sorted(inline)} may not be "
                                        f"given inline too")
            path = Path(head["federation"])
            federation = load_federation(path if path.is_absolute() else (folder or Path.cwd()) / path)
        elif inline:
            federation = parse_federation(inline, source)
        else:
            federation = load_federation()
    except FederationFileError as error:
        raise ScenarioFileError(str(error)) from error
    external = [s.code for s in federation.states if s.external]
    pki: Path | None = None
    if "pki" in head:
        pki = Path(head["pki"]) if Path(head["pki"]).is_absolute() else (folder or Path.cwd()) / head["pki"]
        if not (pki / "ca.key").exists():
            raise ScenarioFileError(f"{source}:{_line(lines, 'pki', head_line - 1)} [scenario].pki: {pki} holds no "
                                    f"ca.key; allowed: the folder of the federation CA (`prum pki issue --workdir W` "
                                    f"keeps it in W/pki)")
    elif external:
        raise ScenarioFileError(f"{source}:{head_line} [scenario].pki: required, since {', '.join(external)} "
                                f"{'is' if len(external) == 1 else 'are'} external: the folder of the federation CA "
                                f"their certificates come from (`prum pki issue --workdir W` keeps it in W/pki)")
    starts = _step_lines(lines)
    steps: list[Step] = []
    names: set[str] = set()
    raw_steps = data.get("step", [])
    if not raw_steps:
        raise ScenarioFileError(f"{source}: no [[step]] table; a scenario has at least one step")
    for number, table in enumerate(raw_steps, start=1):
        line = starts[number - 1] + 1 if number - 1 < len(starts) else 1
        step = _step(table, number, line, lines, federation, names, source)
        if step.do in ("stop", "kill", "restart") and step.params["state"] in external:
            raise ScenarioFileError(f"{source}:{line} [[step]] #{number}.state: {step.params['state']} is external: "
                                    f"its own team starts and stops its node, not prum")
        names.add(step.name)
        steps.append(step)
    return Scenario(str(head.get("name", Path(source).stem)), str(head.get("description", "")), source, federation,
                    tuple(steps), pki)


def load_scenario(path: Path) -> Scenario:
    path = Path(path)
    return parse_scenario(path.read_text("utf-8"), str(path), path.parent)
