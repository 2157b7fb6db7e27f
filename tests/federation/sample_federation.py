"""A small in-process federation over real gRPC and mTLS, and the profiles the end-to-end tests search for."""

from __future__ import annotations

from pathlib import Path

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.supervisor.v1 import supervisor_pb2 as pb
from prum.supervisor.v1 import supervisor_pb2_grpc

# A full profile over the 12 ESS loci, with a microvariant, as a laboratory enters it.
DONOR = {"D3S1358": ["15", "16"], "VWA": ["17", "18"], "D8S1179": ["13", "14"], "D21S11": ["29", "30"],
         "D18S51": ["14", "17"], "TH01": ["6", "9.3"], "FGA": ["21", "24"], "D1S1656": ["12", "15.3"],
         "D2S441": ["10", "14"], "D10S1248": ["13", "15"], "D12S391": ["18", "20"], "D22S1045": ["15", "16"]}
# The donor's brother on France's file: one allele differs (D18S51 17 -> 18): a near match.
RELATIVE = {**DONOR, "D18S51": ["14", "18"]}
# Someone else entirely.
STRANGER = {"D3S1358": ["14", "14"], "VWA": ["15", "16"], "D8S1179": ["10", "11"], "D21S11": ["27", "28"],
            "D18S51": ["12", "13"], "TH01": ["7", "8"], "FGA": ["19", "20"], "D1S1656": ["11", "13"],
            "D2S441": ["11", "11.3"], "D10S1248": ["12", "14"], "D12S391": ["17", "19"], "D22S1045": ["11", "17"]}

FEDERATION = """
[federation]
name = "test"
deadline_ms = 2000
[defaults]
dna_profiles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
comparison_partners = ["DE"]
[[state]]
code = "FR"
[[state]]
code = "LU"
ready = ["VEHICLE"]
"""


def profile(reference: str, loci: dict[str, list[str]], kind: int = dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON
            ) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=kind,
                           loci={k: dna_pb2.Alleles(values=v) for k, v in loci.items()})


def officer_search(loci: dict[str, list[str]], reference: str = "DE-CS-1", **overrides: object) -> cp_pb2.SearchRequest:
    fields: dict[str, object] = dict(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="homicide, art. 3 search",
        case_reference="DE-2026-0001", category=common_pb2.CATEGORY_DNA,
        profile=profile(reference, loci, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE), deadline_ms=2000)
    fields.update(overrides)
    return cp_pb2.SearchRequest(**fields)  # type: ignore[arg-type]


def load(federation: InProcessFederation, state: str, rows: list[dna_pb2.Profile]) -> None:
    stub = dna_pb2_grpc.DnaIndexServiceStub(federation.channel(state))
    reply = stub.Ingest(iter([dna_pb2.IngestRequest(profile=p) for p in rows]), timeout=30)
    assert reply.accepted == len(rows), reply.rejections


def start_federation(workdir: Path, topology: str = "mesh") -> InProcessFederation:
    """The sample federation, in the mesh or (`topology="router"`) with the Prüm II router."""
    import tomllib

    text = FEDERATION.replace('name = "test"', f'name = "test"\ntopology = "{topology}"')
    federation = InProcessFederation(parse_federation(tomllib.loads(text)), workdir).start()
    load(federation, "NL", [profile("NL-P-1", DONOR), profile("NL-P-2", STRANGER)])
    load(federation, "FR", [profile("FR-P-7", RELATIVE)])
    load(federation, "LU", [profile("LU-P-1", DONOR)])
    return federation


def supervisor(federation: InProcessFederation, state: str, as_state: str | None = None
               ) -> supervisor_pb2_grpc.SupervisorServiceStub:
    """A client of `state`'s supervisor, with the certificate of `as_state` (default: the state itself)."""
    return supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(state, as_state=as_state))


def pilot_query(loci: dict[str, list[str]], reference: str, expected: int) -> pb.PilotQuery:
    return pb.PilotQuery(search=officer_search(loci, reference, officer_id="LU-NCP-01", ordering_officer_id="LU-NCP-02",
                                               reason="test profile", deadline_ms=20000), expected=expected)


# The steps a state reports; the pilot run is run (RunPilot), not reported.
STEPS = (pb.READINESS_STEP_DECLARATIONS_FILED, pb.READINESS_STEP_QUESTIONNAIRE_ANSWERED,
         pb.READINESS_STEP_EVALUATION_VISIT_DONE)


def evaluate_lu(fresh: InProcessFederation) -> None:
    """LU reports three evaluation steps and runs its pilot against NL (GATE-1)."""
    lu = supervisor(fresh, "LU")
    for step in STEPS:
        assert list(lu.RecordStep(pb.RecordStepRequest(state="LU", category=common_pb2.CATEGORY_DNA, step=step),
                                  timeout=10).unreached_states) == []
    pilot = lu.RunPilot(pb.RunPilotRequest(state="LU", category=common_pb2.CATEGORY_DNA, peer_state="NL", queries=[
        pilot_query(DONOR, "LU-PILOT-0", cp_pb2.RESULT_STATUS_HIT)]), timeout=60)
    assert pilot.passed and list(pilot.unreached_states) == []
