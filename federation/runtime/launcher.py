"""Runs a federation in this process: every state's services on its own loopback port, real gRPC over mTLS.

    with InProcessFederation(load_federation(), workdir) as federation:
        stub = federation.contact_point("DE")   # an officer's client of DE's NCP
        ...

In the router topology (Prüm II) the launcher also starts the central router (`build_router`): its own server on its
own loopback port, with its own certificate (`ROUTER`), log and readiness view under `workdir/router/`; the states'
contact points then send DNA and fingerprint searches through it (`RouterTransport`), vehicle searches bilaterally.

Per state: one SQLite (WAL) DNA file and one protocol log under `workdir/<STATE>/`, a readiness
book (`readiness.db`) first loaded from the federation file, the supervisor's registers (`supervisor.db`),
and one gRPC server hosting the state's services (DNA index,
protocol logger, supervisor, contact point) with health and reflection.
"""

from __future__ import annotations

import shutil
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

import grpc
from opentelemetry.sdk.trace import TracerProvider
from prum.afis.v1 import afis_pb2_grpc
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.contact_point.v1 import core_data_pb2_grpc, face_confirmation_pb2_grpc
from prum.dna.v1 import dna_pb2_grpc
from prum.echo.v1 import echo_pb2_grpc
from prum.face.v1 import face_pb2_grpc
from prum.federation.runtime.europol import FOLDER as EUROPOL_FOLDER
from prum.federation.runtime.europol import EuropolNode, build_europol
from prum.federation.runtime.pki import FederationPki
from prum.federation.runtime.topology import Federation, StateSpec
from prum.logger.v1 import logger_pb2_grpc
from prum.police_records.v1 import police_records_pb2_grpc
from prum.router.v1 import core_data_relay_pb2_grpc, router_pb2_grpc
from prum.services.afis import warmup as afis_warmup
from prum.services.afis.capacity import CapacityLedger, CapacityLimits
from prum.services.afis.gallery import Gallery
from prum.services.afis.servicer import AfisServicer
from prum.services.categories import CATEGORIES
from prum.services.common.category import Category
from prum.services.common.channels import PeerChannels
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.identity import EUROPOL, ROUTER
from prum.services.common.server import ServiceBinding, create_server, drain, open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.contact_point.core_data_servicer import CoreDataServicer
from prum.services.contact_point.core_data_transport import RouterCoreData
from prum.services.contact_point.face_confirmation_servicer import FaceConfirmationServicer
from prum.services.contact_point.face_confirmation_transport import GrpcFaceConfirmations
from prum.services.contact_point.persons import PersonRegister
from prum.services.contact_point.servicer import ContactPointServicer
from prum.services.contact_point.transport import GrpcPeers, RouterTransport
from prum.services.dna import warmup as dna_warmup
from prum.services.dna.file import DnaFile
from prum.services.dna.servicer import DnaIndexServicer
from prum.services.echo.servicer import EchoServicer
from prum.services.exchange.core_data import CoreDataCases, CoreDataExchange, CoreDataSettings
from prum.services.exchange.face_confirmation import FaceConfirmations
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.follow_up import FollowUps
from prum.services.exchange.information import InformationExchange, ReceivedInformationStore
from prum.services.exchange.plugin import FollowUp
from prum.services.exchange.record_requests import RecordRequests
from prum.services.exchange.requesting import ContactPoint
from prum.services.face.gallery import FaceGallery
from prum.services.face.servicer import FaceServicer
from prum.services.logger import CheckpointKey, ProtocolLog, RetentionPolicy
from prum.services.logger.servicer import ProtocolLoggerServicer
from prum.services.police_records.index import PoliceRecord, PoliceRecordIndex
from prum.services.police_records.servicer import PoliceRecordsServicer
from prum.services.police_records.transport import GrpcRecordRequests
from prum.services.router.audit import RouterAudit, audit_router_log
from prum.services.router.log import RouterLog
from prum.services.router.relay import CoreDataRelay
from prum.services.router.relay_servicer import CoreDataRelayServicer
from prum.services.router.routing import Router, RouterSettings
from prum.services.router.servicer import (
    RouterReadinessServicer,
    RouterServicer,
    add_router_readiness_to_server,
)
from prum.services.router.transport import GrpcCoreDataStates, GrpcDataServices
from prum.services.supervisor import ReadinessBook
from prum.services.supervisor.authority import SupervisoryAuthority
from prum.services.supervisor.servicer import SupervisorServicer
from prum.services.supervisor.transport import audience, fetch_from_supervisor, share_with_supervisors
from prum.services.vehicle.register import VehicleRegister
from prum.services.vehicle.servicer import VehicleRegisterServicer
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from prum.vehicle.v1 import vehicle_pb2_grpc


@dataclass
class StateNode:
    """One running member state."""

    spec: StateSpec
    tls: TlsMaterial
    log: ProtocolLog
    readiness: ReadinessBook
    dna: DnaFile
    vehicles: VehicleRegister
    persons: PersonRegister
    received: ReceivedInformationStore
    gallery: Gallery
    ledger: CapacityLedger
    contact_point: ContactPoint
    channels: PeerChannels
    server: grpc.Server
    port: int
    authority: SupervisoryAuthority | None = None
    # Core data after a confirmed match (Prüm II Art 47): both halves and the state's cases.
    core_data: CoreDataExchange | None = None
    # The facial-image file (Prüm II Arts 19-20) and the officers' confirmations of its candidates (P2-FACE-3).
    faces: FaceGallery = field(default_factory=FaceGallery)
    face_confirmations: FaceConfirmations | None = None
    # EPRIS (P2-EPRIS-1..5): the national police-record index and the reasoned follow-ups.
    police_records: PoliceRecordIndex | None = None
    record_requests: RecordRequests | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        """Close the state's channels and stores, once its server has stopped and its handlers have
        returned (`drain`), the log last."""
        drain(self.server)
        self.contact_point.close()
        if self.core_data is not None:
            self.core_data.cases.close()
        if self.record_requests is not None:
            self.record_requests.close()
        if self.police_records is not None:
            self.police_records.close()
        self.channels.close()
        self.dna.close()
        self.vehicles.close()
        self.persons.close()
        self.received.close()
        if self.authority is not None:
            self.authority.close()
        self.readiness.close()
        self.log.close()


@dataclass
class RouterNode:
    """The running Prüm II router."""

    tls: TlsMaterial
    router: Router
    log: RouterLog
    readiness: ReadinessBook
    channels: PeerChannels
    server: grpc.Server
    port: int
    # The forwarding of core data after a confirmed match (Art 47(1)).
    relay: CoreDataRelay | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        """Close the router's channels and stores once its server has stopped, the log last."""
        drain(self.server)
        self.router.close()
        self.channels.close()
        self.readiness.close()
        self.log.close()


def marking(dna: DnaFile, gallery: Gallery, category: Category, reference: str,
            faces: FaceGallery | None = None) -> tuple[bool, str]:
    """The ACC-1 marking of a reference a follow-up asks about: a DNA profile's own (a blocked profile is
    unknown, ACC-2); a fingerprint template or a face template carries none, and one taken out of the file is
    unknown."""
    if category is Category.FINGERPRINT:
        gallery.template(reference)
        return False, ""
    if category is Category.FACE and faces is not None:
        faces.template(reference)
        return False, ""
    stored = dna.get(reference)
    return stored.contested, stored.marking_note


def readiness_from_file(federation: Federation, clock: Clock, path: Path | None = None) -> ReadinessBook:
    """A state's view of the Council's decisions as the federation file records them (GATE-2); a book reopened
    from `path` keeps the rows it holds (decisions, revocations and steps since the file was first loaded)."""
    # Europol is gated like a state (its router connection, its data) but has no vote in the Council.
    book = ReadinessBook(federation.participants, clock=clock, path=path, voters=federation.codes)
    for spec in federation.states:
        for category in spec.ready:
            book.seed_ready(spec.code, Category[category])
        if spec.epris:  # taking part in EPRIS is opt-in (P2-EPRIS-1) and declares the index ready (P2-GATE-1)
            book.seed_ready(spec.code, Category.POLICE_RECORD)
        if spec.router_ready:  # the router connection, declared in the file (P2-GATE-1)
            book.seed_ready(spec.code, Category.ROUTER_CONNECTION)
    if federation.europol.enabled:  # Europol: its biometric data and its router connection (P2-EUROPOL-1, -2)
        for category in (Category.DNA, Category.FINGERPRINT):
            book.seed_ready(EUROPOL, category)
        if federation.europol.router_ready:
            book.seed_ready(EUROPOL, Category.ROUTER_CONNECTION)
    return book


def catch_up(address: str, tls: TlsMaterial, timeout_s: float,
             tracer_provider: TracerProvider | None = None) -> dict[str, list[str]]:
    """What a state that starts or rejoins missed while it was down, through its own supervisor: every other
    state's readiness (GATE-2: steps, Council decisions, revocations), declarations (DEC-1) and the joint cases
    of its DPA (AUD-1). Returns the states not reached, per kind; `timeout_s` bounds each of the three calls."""
    with open_channel(address, tls, tracer_provider) as channel:
        stub = supervisor_pb2_grpc.SupervisorServiceStub(channel)
        return {
            "readiness": list(stub.SyncReadiness(supervisor_pb2.SyncReadinessRequest(),
                                                 timeout=timeout_s).unreached_states),
            "declarations": list(stub.SyncDeclarations(supervisor_pb2.SyncDeclarationsRequest(),
                                                       timeout=timeout_s).unreached_states),
            "joint_cases": list(stub.SyncJointCases(supervisor_pb2.SyncJointCasesRequest(),
                                                    timeout=timeout_s).unreached_states),
        }


def catch_up_router(address: str, tls: TlsMaterial, timeout_s: float,
                    tracer_provider: TracerProvider | None = None) -> dict[str, list[str]]:
    """What the router missed while it was down (or before it first started): every state's readiness rows and
    votes (GATE-2, P2-GATE-1), through the router's own `SyncReadiness`, with the router's certificate `tls`.
    Returns the states not reached."""
    with open_channel(address, tls, tracer_provider) as channel:
        reply = supervisor_pb2_grpc.SupervisorServiceStub(channel).SyncReadiness(
            supervisor_pb2.SyncReadinessRequest(), timeout=timeout_s)
    return {"readiness": list(reply.unreached_states)}


def catch_up_timeout(federation: Federation) -> float:
    """Each peer is asked in turn with the federation's deadline: the bound of one catch-up call."""
    return len(federation.codes) * federation.deadline_ms / 1000 + 5


def compile_kernels() -> float:
    """Compile the DNA index's and the fingerprint matcher's kernels (numba) once per process, before any
    state serves: a first compile inside a search outlasts any deadline. Seconds it took (0 when done).
    Each servicer also does it when made (a member state embedding one service); here it happens up front,
    so the demo can say why its first start takes a while."""
    return dna_warmup.compile_kernels() + afis_warmup.compile_kernels()


def build_state(spec: StateSpec, federation: Federation, tls: TlsMaterial, folder: Path,
                directory: MutableMapping[str, str], clock: Clock, tracer_provider: TracerProvider | None = None,
                address: str = "127.0.0.1:0") -> StateNode:
    """Open one state's stores and build (not start) its server."""
    folder.mkdir(parents=True, exist_ok=True)
    log = ProtocolLog(folder / "protocol-log.db", spec.code, clock=clock,
                      retention=RetentionPolicy.for_state(spec.code, spec.retention_days),
                      key=CheckpointKey.from_pem(tls.cert_pem, tls.key_pem, tls.ca_pem))
    readiness = readiness_from_file(federation, clock, folder / "readiness.db")
    marks = spec.mark_matched_traces if spec.mark_matched_traces is not None else federation.topology == "router"
    dna = DnaFile(folder / "dna.db", clock=clock, mark_matched_traces=marks)  # P2-DNA-5
    vehicles = VehicleRegister(folder / "vehicles.db", clock=clock, country=spec.code)
    gallery = Gallery()
    faces = FaceGallery()
    person_searches, trace_searches, max_candidates = spec.afis_limits
    ledger = CapacityLedger(default=CapacityLimits(person_searches, trace_searches, max_candidates), clock=clock)
    channels = PeerChannels(directory, tls, tracer_provider)
    # The mesh: every peer's data service directly. The router topology: DNA and fingerprint searches through the
    # router, the same requesting side around them; vehicle searches stay bilateral (P2-VRD-1).
    transport: GrpcPeers | RouterTransport = GrpcPeers(channels)
    if federation.topology == "router":
        transport = RouterTransport(channels, GrpcPeers(channels),
                                    several_categories=federation.router.several_categories,
                                    phases=federation.router.phases, readiness=readiness, clock=clock)
    # When the router carries the routed categories (P2-TIME-1): the router topology's dates; the mesh has none.
    router_phases = federation.router.phases if federation.topology == "router" else None
    contact_point = ContactPoint(
        state=spec.code, members=federation.participants, purposes=federation.purposes,
        named_only=frozenset({EUROPOL}),
        officers={o.officer_id: o for o in spec.officers},
        readiness=readiness, log=log, transport=transport, clock=clock, deadline_ms=federation.deadline_ms,
        router_phases=router_phases)
    exchange = FileManagingSide(spec.code, readiness, log, clock,
                                router_phases=router_phases,
                                purposes=federation.purposes)
    persons = PersonRegister(folder / "persons.db")
    # EPRIS (P2-EPRIS-1): every state has the service; one not taking part is not ready for it (GATE-1).
    police_records = PoliceRecordIndex(clock, fields=federation.epris.fields,
                                       refresh_interval=timedelta(hours=federation.epris.refresh_hours),
                                       path=folder / "police-records.db")
    record_requests = RecordRequests(spec.code, log, police_records,
                                     frozenset(o.officer_id for o in spec.officers if o.authorised), clock,
                                     folder / "record-requests.db",
                                     lambda data: PoliceRecord(**{**data, "aliases": tuple(data["aliases"])}))
    received = ReceivedInformationStore(folder / "received-information.db", clock)
    authority = SupervisoryAuthority(spec.code, readiness, log, {o.officer_id for o in spec.officers if o.authorised},
                                     clock, folder / "supervisor.db")
    follow_ups = FollowUps(spec.code, readiness, log, persons,
                           lambda category, reference: marking(dna, gallery, category, reference, faces), clock,
                           frozenset(c for c, r in CATEGORIES.items() if r.plugin.follow_up is FollowUp.PERSONAL_DATA))
    # Core data after a confirmed match travel through the router (P2-CORE-1, P2-ROUTER-1); in the mesh a request is
    # refused (no router to carry it), while the cases and the list work alike.
    core_data = CoreDataExchange(
        spec.code, log, CoreDataCases(folder / "core-data.db", clock), persons,
        RouterCoreData(channels) if federation.topology == "router" else None, spec.core_data,
        CoreDataSettings(federation.router.core_data_deadline_hours, federation.router.core_data_fields), clock,
        federation.deadline_ms / 1000, phases=federation.router.phases)
    authority.overdue_core_data = lambda: core_data.cases.list(overdue_only=True)
    face_confirmations = FaceConfirmations(spec.code, log, clock)
    services = [
        ServiceBinding("prum.dna.v1.DnaIndexService",
                       DnaIndexServicer(spec.code, dna, exchange, spec.comparison_partners),
                       dna_pb2_grpc.add_DnaIndexServiceServicer_to_server),
        ServiceBinding("prum.afis.v1.AfisService", AfisServicer(spec.code, gallery, ledger, exchange),
                       afis_pb2_grpc.add_AfisServiceServicer_to_server),
        ServiceBinding("prum.vehicle.v1.VehicleRegisterService", VehicleRegisterServicer(spec.code, vehicles, exchange),
                       vehicle_pb2_grpc.add_VehicleRegisterServiceServicer_to_server),
        ServiceBinding("prum.police_records.v1.PoliceRecordsService",
                       PoliceRecordsServicer(spec.code, police_records, exchange, record_requests,
                                             GrpcRecordRequests(channels, federation.deadline_ms / 1000)),
                       police_records_pb2_grpc.add_PoliceRecordsServiceServicer_to_server),
        ServiceBinding("prum.logger.v1.ProtocolLoggerService", ProtocolLoggerServicer(spec.code, log),
                       logger_pb2_grpc.add_ProtocolLoggerServiceServicer_to_server),
        ServiceBinding("prum.supervisor.v1.SupervisorService", SupervisorServicer(spec.code, authority,
            lambda change, states=None: share_with_supervisors(
                channels, states or audience(federation.codes, spec.code, change,
                                             ROUTER if federation.topology == "router" else None), change,
                federation.deadline_ms / 1000),
            lambda search: cp_pb2_grpc.ContactPointServiceStub(channels.channel(spec.code)).Search(
                search, timeout=federation.deadline_ms / 1000 + 10),
            lambda state, what: fetch_from_supervisor(channels, state, what, federation.deadline_ms / 1000)),
                       supervisor_pb2_grpc.add_SupervisorServiceServicer_to_server),
        ServiceBinding("prum.contact_point.v1.ContactPointService", ContactPointServicer(
            contact_point, follow_ups, InformationExchange(spec.code, log, received), persons, max_candidates),
                       cp_pb2_grpc.add_ContactPointServiceServicer_to_server),
        ServiceBinding("prum.contact_point.v1.CoreDataService", CoreDataServicer(contact_point, core_data, persons),
                       core_data_pb2_grpc.add_CoreDataServiceServicer_to_server),
        ServiceBinding("prum.face.v1.FaceService", FaceServicer(spec.code, faces, exchange, spec.face_limits),
                       face_pb2_grpc.add_FaceServiceServicer_to_server),
        ServiceBinding("prum.contact_point.v1.FaceConfirmationService", FaceConfirmationServicer(
            contact_point, face_confirmations, GrpcFaceConfirmations(channels), federation.deadline_ms / 1000),
                       face_confirmation_pb2_grpc.add_FaceConfirmationServiceServicer_to_server),
        ServiceBinding("prum.echo.v1.EchoService", EchoServicer(), echo_pb2_grpc.add_EchoServiceServicer_to_server),
    ]
    server, port = create_server(address, services, state=spec.code, tls=tls, tracer_provider=tracer_provider)
    if address.startswith("127.0.0.1"):
        directory[spec.code] = f"127.0.0.1:{port}"  # the port it bound (port 0 picks one)
    elif not address.startswith(("0.0.0.0:", "[::]:")):
        directory[spec.code] = address
    # Bound to every interface (a container): peers, and this state itself, keep using its advertised name.
    return StateNode(spec, tls, log, readiness, dna, vehicles, persons, received, gallery, ledger, contact_point, channels,
                     server, port, authority, core_data, faces, face_confirmations, police_records,
                     record_requests)


def build_router(federation: Federation, tls: TlsMaterial, folder: Path, directory: MutableMapping[str, str],
                 clock: Clock, tracer_provider: TracerProvider | None = None,
                 address: str = "127.0.0.1:0") -> RouterNode:
    """Open the router's log and readiness view and build (not start) its server; its address goes into
    `directory` under `ROUTER`, where the states' contact points find it."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = federation.router
    log = RouterLog(folder / "router-log.db", clock, spec.log_retention_days)
    # The router's view of the Council's decisions: the federation file's, kept in its own book (P2-GATE-1).
    readiness = readiness_from_file(federation, clock, folder / "readiness.db")
    channels = PeerChannels(directory, tls, tracer_provider)
    router = Router(federation.participants, readiness, log, GrpcDataServices(channels), clock,
                    RouterSettings(spec.all_states, spec.several_categories, spec.log_retention_days,
                                   federation.deadline_ms, spec.phases), named_only=frozenset({EUROPOL}))
    relay = CoreDataRelay(federation.codes, readiness, log, GrpcCoreDataStates(channels), clock,
                          federation.deadline_ms / 1000)
    services = [
        ServiceBinding("prum.router.v1.RouterService", RouterServicer(router, log),
                       router_pb2_grpc.add_RouterServiceServicer_to_server),
        ServiceBinding("prum.router.v1.CoreDataRelayService", CoreDataRelayServicer(relay, log),
                       core_data_relay_pb2_grpc.add_CoreDataRelayServiceServicer_to_server),
        # The Council's later decisions reach the router's book as they reach every state's (GATE-2, P2-GATE-1).
        ServiceBinding("prum.supervisor.v1.SupervisorService", RouterReadinessServicer(
            readiness, lambda state, what: fetch_from_supervisor(channels, state, what, federation.deadline_ms / 1000)),
                       add_router_readiness_to_server),
        ServiceBinding("prum.echo.v1.EchoService", EchoServicer(), echo_pb2_grpc.add_EchoServiceServicer_to_server),
    ]
    server, port = create_server(address, services, state=ROUTER, tls=tls, tracer_provider=tracer_provider)
    directory[ROUTER] = f"127.0.0.1:{port}" if address.startswith("127.0.0.1") else address
    return RouterNode(tls, router, log, readiness, channels, server, port, relay)


class InProcessFederation:
    """All states of a federation in this process, each on its own loopback port, over mTLS."""

    def __init__(self, federation: Federation, workdir: Path, clock: Clock | None = None,
                 tracer_provider: TracerProvider | None = None, fresh: bool = True,
                 authority: FederationPki | None = None) -> None:
        """`authority`: the federation CA to issue from (`FederationPki.load_authority`), the one an external
        state's certificate chains to (`prum pki issue`); else a new CA. An external state (`external = true`) is not
        started: the directory points at its address, and every state calls it as a peer."""
        self.federation = federation
        self.workdir = Path(workdir)
        self.clock = clock or SystemClock()
        self.tracer_provider = tracer_provider
        self.fresh = fresh
        self.pki = authority or FederationPki.create()
        for spec in federation.states:
            if not spec.external:
                self.pki.issue(spec.code)
        if federation.topology == "router":
            self.pki.issue_router()
        if federation.europol.enabled:  # Europol's certificate (P2-EUROPOL-1)
            self.pki.issue(EUROPOL, unit="Europol")
        self.directory: dict[str, str] = {}
        self.nodes: dict[str, StateNode] = {}
        self.router: RouterNode | None = None
        self.europol: EuropolNode | None = None
        self._channels: list[grpc.Channel] = []

    def start(self) -> Self:
        if self.fresh:  # only what this launcher writes: logs and traces beside it are the caller's
            for folder in ["pki", "router", "europol", *self.federation.codes]:
                shutil.rmtree(self.workdir / folder, ignore_errors=True)
        self.pki.write(self.workdir / "pki")
        if self.federation.topology == "router":
            self.router = build_router(self.federation, self.pki.material_for(ROUTER), self.workdir / "router",
                                       self.directory, self.clock, self.tracer_provider)
            self.router.server.start()
        if self.federation.europol.enabled:
            europol_folder = self.workdir / EUROPOL_FOLDER
            europol_folder.mkdir(parents=True, exist_ok=True)
            self.europol = build_europol(self.federation, self.pki.material_for(EUROPOL), europol_folder,
                                         self.directory, self.clock, readiness_from_file(
                                             self.federation, self.clock, europol_folder / "readiness.db"),
                                         marking, self.tracer_provider)
            self.europol.server.start()
        for spec in self.federation.states:
            if spec.external:
                assert spec.address is not None  # the federation file requires it
                self.directory[spec.code] = spec.address
                continue
            self.nodes[spec.code] = build_state(
                spec, self.federation, self.pki.material_for(spec.code), self.workdir / spec.code,
                self.directory, self.clock, self.tracer_provider)
        for node in self.nodes.values():
            node.server.start()
        return self

    def restart(self, state: str) -> dict[str, list[str]]:
        """Bring a state back (a fault scenario: it was down and rejoins): its stores reopened from its folder, its
        server on the same port, then the catch-up of what it missed (`catch_up`). Returns the states the
        catch-up did not reach, per kind. The router (`ROUTER`) comes back the same way: its log and readiness book
        reopened, then its catch-up of the Council's decisions (`catch_up_router`)."""
        if state == ROUTER and self.router is not None:
            router = self.router
            router.server.stop(0).wait()
            router.close()
            self.router = build_router(self.federation, router.tls, self.workdir / "router", self.directory,
                                       self.clock, self.tracer_provider, address=router.address)
            self.router.server.start()
            return catch_up_router(self.router.address, router.tls, catch_up_timeout(self.federation),
                                   self.tracer_provider)
        node = self.nodes[state]
        node.server.stop(0).wait()  # nothing happens if it was stopped already
        node.close()
        self.nodes[state] = build_state(node.spec, self.federation, node.tls, self.workdir / state, self.directory,
                                        self.clock, self.tracer_provider, address=node.address)
        self.nodes[state].server.start()
        return catch_up(self.directory[state], node.tls, catch_up_timeout(self.federation), self.tracer_provider)

    def stop(self, state: str | None = None, grace: float = 0.5) -> None:
        """Stop one state's server (a fault scenario: the state goes down), the router's (`ROUTER`), or the whole
        federation."""
        if state == ROUTER and self.router is not None:
            self.router.server.stop(grace).wait()
            return
        if state == EUROPOL and self.europol is not None:
            self.europol.server.stop(grace).wait()
            return
        if state is not None:
            self.nodes[state].server.stop(grace).wait()
            return
        for channel in self._channels:
            channel.close()
        for node in self.nodes.values():
            node.server.stop(grace).wait()
        if self.router is not None:
            self.router.server.stop(grace).wait()
            self.router.close()
        if self.europol is not None:
            self.europol.server.stop(grace).wait()
            self.europol.close()
        for node in self.nodes.values():
            node.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def channel(self, state: str, as_state: str | None = None) -> grpc.Channel:
        """A channel to `state`'s server, authenticated with the certificate of `as_state` (default: itself)."""
        channel = open_channel(self.directory[state], self.pki.material_for(as_state or state), self.tracer_provider)
        self._channels.append(channel)
        return channel

    def audit_router_log(self) -> RouterAudit:
        """The supervisors' audit of the router's log against every state's protocol log (router topology)."""
        if self.router is None:
            raise ValueError("this federation has no router (topology mesh)")
        europol = self.europol  # a participant too: its log holds its side of each routed search (P2-EUROPOL-1, -2)
        return audit_router_log(self.router.log.export(),
                                lambda state, request_id: (europol.log if state == EUROPOL and europol is not None
                                                           else self.nodes[state].log).query(request_id=request_id),
                                self.federation.participants, self.clock.now(), self.router.log.retention)

    def router_client(self, as_state: str) -> router_pb2_grpc.RouterServiceStub:
        """A client of the router (router topology), authenticated with the certificate of `as_state`."""
        return router_pb2_grpc.RouterServiceStub(self.channel(ROUTER, as_state=as_state))

    def contact_point(self, state: str) -> cp_pb2_grpc.ContactPointServiceStub:
        """An officer's client of `state`'s national contact point."""
        return cp_pb2_grpc.ContactPointServiceStub(self.channel(state))

    def core_data(self, state: str) -> core_data_pb2_grpc.CoreDataServiceStub:
        """An officer's client of `state`'s core-data service (Prüm II Art 47)."""
        return core_data_pb2_grpc.CoreDataServiceStub(self.channel(state))
