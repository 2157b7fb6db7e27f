"""What a Locust process needs to know about the run, in one JSON file: the plan (no Locust here).

`prum bench load` writes `plan.json` into each run's folder and passes its path to every Locust
process (master, workers, or the single local process) in the environment variable PRUM_LOAD_PLAN.
On Kubernetes, mount the plan, the queries file and the PKI folder into the Locust pods and set
the same variable. Three environment variables override the plan for a hand-made run:

  PRUM_LOAD_WEIGHTS    user-class weights, e.g. "echo=1,dna=2,vehicle=4,afis=0,fanout=1"
  PRUM_LOAD_THINK      think time in seconds between a user's calls: "0", "0.5-1.5" (uniform), or a
                       default and per-type overrides, e.g. "0,afis=1" (AFIS users pause 1 s)
  PRUM_LOAD_DEADLINE_S the gRPC deadline of every call (fan-out: its own deadline plus this margin)
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prum.loadtests.load_checks import QUERY_TYPES

PLAN_VARIABLE = "PRUM_LOAD_PLAN"
DEFAULT_THINK = "0,afis=1"
MAX_WORKERS = 16


def parse_weights(text: str) -> dict[str, int]:
    """'echo=1,dna=2' -> {'echo': 1, 'dna': 2}; ValueError naming what is allowed."""
    weights: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in QUERY_TYPES or not value.strip().isdigit():
            raise ValueError(f"weight {item!r}: write TYPE=INTEGER with TYPE one of {', '.join(QUERY_TYPES)}")
        weights[key] = int(value)
    return weights


def parse_duration(text: str) -> int:
    """'30s', '2m', '1h' or '45' (seconds) -> whole seconds >= 1; ValueError naming the allowed forms."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in ("s", "m", "h") else "s"
    number = value[:-1] if value[-1:] in ("s", "m", "h") else value
    if not number.isdigit() or int(number) < 1:
        raise ValueError(f"duration {text!r}: write a whole number of seconds, minutes or hours, e.g. 30s, 2m, 1h")
    return int(number) * {"s": 1, "m": 60, "h": 3600}[unit]


def parse_types(text: str) -> tuple[str, ...]:
    """'echo,dna' -> ('echo', 'dna'); ValueError naming the allowed query types."""
    types = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [t for t in types if t not in QUERY_TYPES]
    if unknown or not types:
        raise ValueError(f"query types {text!r}: write a comma-separated list of {', '.join(QUERY_TYPES)}")
    return types


def parse_workers(text: str) -> tuple[int, ...]:
    """'0' (one local Locust process), '2' (a master and 2 workers), or '1,2' (each in turn)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) <= MAX_WORKERS for part in parts):
        raise ValueError(f"workers {text!r}: write 0 (one local Locust process), N (a master and N workers, "
                         f"N <= {MAX_WORKERS}) or a list such as 1,2")
    return tuple(dict.fromkeys(int(part) for part in parts))


def _interval(text: str, where: str) -> tuple[float, float]:
    low, dash, high = text.strip().partition("-")
    try:
        values = (float(low), float(high) if dash else float(low))
    except ValueError:
        raise ValueError(f"think time {where}: {text!r} is not seconds ('0', '1.5') or a range ('0.5-1.5')") from None
    if values[0] < 0 or values[1] < values[0]:
        raise ValueError(f"think time {where}: {text!r} must be >= 0 and low <= high")
    return values


def parse_think(text: str) -> dict[str, tuple[float, float]]:
    """'0,afis=1' -> {'*': (0, 0), 'afis': (1, 1)}: a default ('*') and per-type overrides."""
    think: dict[str, tuple[float, float]] = {"*": (0.0, 0.0)}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" in item:
            key, _, value = item.partition("=")
            if key.strip() not in QUERY_TYPES:
                raise ValueError(f"think time {item!r}: TYPE must be one of {', '.join(QUERY_TYPES)}")
            think[key.strip()] = _interval(value, key.strip())
        else:
            think["*"] = _interval(item, "default")
    return think


@dataclass
class Plan:
    pki: str                       # the federation's PKI folder (ca.pem, <STATE>.pem, <STATE>.key)
    requester: str                 # the state whose certificate every user presents
    target: str                    # the requested state of DNA, vehicle, AFIS and echo calls
    addresses: dict[str, str]      # state -> host:port (loopback)
    queries: str                   # the queries file (load_data.write_queries)
    out: str                       # where each Locust process writes its own report (processes/)
    weights: dict[str, int] = field(default_factory=lambda: {key: int(key != "bare") for key in QUERY_TYPES})
    think: str = DEFAULT_THINK
    deadline_s: float = 5.0
    fanout_deadline_ms: int = 3000
    reset_stats: bool = True
    bare: str = ""                 # host:port of the bare echo server the bench started (the bare type), or ""

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2), "utf-8")

    @classmethod
    def read(cls, path: Path) -> Plan:
        return cls(**json.loads(path.read_text("utf-8")))

    @classmethod
    def from_environment(cls) -> Plan:
        """The plan named by PRUM_LOAD_PLAN, with the overrides of PRUM_LOAD_WEIGHTS/THINK/DEADLINE_S."""
        where = os.environ.get(PLAN_VARIABLE)
        if not where:
            raise RuntimeError(f"set {PLAN_VARIABLE} to a plan.json (written by `prum bench load`); see "
                               f"prum/loadtests/load_plan.py")
        plan = cls.read(Path(where))
        if os.environ.get("PRUM_LOAD_WEIGHTS"):
            plan.weights = {**{key: 0 for key in QUERY_TYPES}, **parse_weights(os.environ["PRUM_LOAD_WEIGHTS"])}
        if os.environ.get("PRUM_LOAD_THINK"):
            plan.think = os.environ["PRUM_LOAD_THINK"]
        if os.environ.get("PRUM_LOAD_DEADLINE_S"):
            plan.deadline_s = float(os.environ["PRUM_LOAD_DEADLINE_S"])
        parse_think(plan.think)  # fail early, in every process, on a bad value
        return plan

    def think_of(self, key: str) -> tuple[float, float]:
        think = parse_think(self.think)
        return think.get(key, think["*"])
