"""Europol in an in-process federation (Prüm II, P2-EUROPOL-1..3): its own server on its own loopback port, with its
certificate (`identity.EUROPOL`), beside the states and the router.

    federation = InProcessFederation(parse_federation(...with [europol] enabled = true...), workdir).start()
    federation.europol.files.review()        # EUR-3 on the federation's clock

Under `workdir/europol/`: its DNA file and AFIS of third-country data (loaded by `prum.federation.synthetic.europol`),
its analysis work files with the evaluation codes and reviews (`analysis-files.db`, EUR-1, EUR-3), its protocol log,
its readiness view, and its supervisor: the EDPS, whose audits (`SupervisorService.RunAudit`) add EUR-2's and
EUR-3's checks to the log's (`prum.services.europol.audit`). Its data services answer the states' searches the
router carries (P2-EUROPOL-2), every retrieval logged (EUR-2) and every item with its codes (EUR-1). Its contact
point searches the states through the router only, DNA and fingerprints, for its Art 18(2)(a) and (c) tasks
(P2-EUROPOL-1); a follow-up of one of its hits goes to the state's contact point as a state's does. `prum up` and
Kubernetes do not start Europol yet.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import grpc
from opentelemetry.sdk.trace import TracerProvider
from prum.afis.v1 import afis_pb2_grpc
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2_grpc
from prum.echo.v1 import echo_pb2_grpc
from prum.federation.runtime.topology import Federation, default_officers
from prum.logger.v1 import logger_pb2_grpc
from prum.services.afis.capacity import CapacityLedger, CapacityLimits
from prum.services.afis.exchange import CandidateList
from prum.services.afis.gallery import Gallery
from prum.services.afis.plugin import PLUGIN as FINGERPRINTS
from prum.services.afis.servicer import AfisServicer
from prum.services.categories import CATEGORIES
from prum.services.common.category import ROUTED_CATEGORIES, Category
from prum.services.common.channels import PeerChannels
from prum.services.common.clock import Clock
from prum.services.common.identity import EUROPOL
from prum.services.common.server import ServiceBinding, create_server, drain
from prum.services.common.tls import TlsMaterial
from prum.services.contact_point.persons import PersonRegister
from prum.services.contact_point.servicer import ContactPointServicer
from prum.services.contact_point.transport import GrpcPeers, RouterTransport
from prum.services.dna.file import DnaFile, DnaHit
from prum.services.dna.plugin import PLUGIN as DNA
from prum.services.dna.servicer import DnaIndexServicer
from prum.services.echo.servicer import EchoServicer
from prum.services.europol.analysis_files import AnalysisFiles
from prum.services.europol.audit import check_europol_entry, file_findings
from prum.services.europol.plugin import EuropolData
from prum.services.europol.wire import evaluation_lookup
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.follow_up import FollowUps
from prum.services.exchange.information import InformationExchange, ReceivedInformationStore
from prum.services.exchange.plugin import FollowUp
from prum.services.exchange.requesting import ContactPoint
from prum.services.logger import CheckpointKey, ProtocolLog, RetentionPolicy
from prum.services.logger.servicer import ProtocolLoggerServicer
from prum.services.supervisor import ReadinessBook
from prum.services.supervisor.authority import SupervisoryAuthority
from prum.services.supervisor.servicer import SupervisorServicer
from prum.supervisor.v1 import supervisor_pb2_grpc

#: Europol's folder under the federation's workdir.
FOLDER = "europol"


@dataclass
class EuropolNode:
    """Europol, running."""

    tls: TlsMaterial
    log: ProtocolLog
    readiness: ReadinessBook
    dna: DnaFile
    gallery: Gallery
    files: AnalysisFiles
    persons: PersonRegister
    received: ReceivedInformationStore
    authority: SupervisoryAuthority
    contact_point: ContactPoint
    channels: PeerChannels
    server: grpc.Server
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        """Close Europol's channels and stores once its server has stopped, the log last."""
        drain(self.server)
        self.contact_point.close()
        self.channels.close()
        self.dna.close()
        self.files.close()
        self.persons.close()
        self.received.close()
        self.authority.close()
        self.readiness.close()
        self.log.close()


def _erase(dna: DnaFile, gallery: Gallery, category: Category, reference: str) -> None:
    """An item the review deletes (EUR-3) leaves Europol's DNA file or AFIS with it."""
    if category is Category.FINGERPRINT:
        gallery.remove(reference)
    else:
        dna.delete(reference)


def _dna_supplied(hits: list[DnaHit]) -> list[str]:
    return [hit.reference for hit in hits]


def _fingerprints_supplied(found: CandidateList) -> list[str]:
    return [candidate.reference for candidate, _ in found.candidates]


def build_europol(federation: Federation, tls: TlsMaterial, folder: Path, directory: MutableMapping[str, str],
                  clock: Clock, readiness: ReadinessBook,
                  marking: Callable[[DnaFile, Gallery, Category, str], tuple[bool, str]],
                  tracer_provider: TracerProvider | None = None, address: str = "127.0.0.1:0") -> EuropolNode:
    """Open Europol's stores and build (not start) its server; its address goes into `directory` under `EUROPOL`.
    `readiness` is its view of the Council's decisions (the launcher's, from the federation file, kept in
    `folder`); `marking` the ACC-1 marking of a reference a follow-up asks about, as the states' (the launcher's)."""
    folder.mkdir(parents=True, exist_ok=True)
    log = ProtocolLog(folder / "protocol-log.db", EUROPOL, clock=clock, retention=RetentionPolicy.for_state(EUROPOL),
                      key=CheckpointKey.from_pem(tls.cert_pem, tls.key_pem, tls.ca_pem))
    dna = DnaFile(folder / "dna.db", clock=clock)
    gallery = Gallery()
    files = AnalysisFiles(folder / "analysis-files.db", clock, lambda category, reference: _erase(
        dna, gallery, category, reference))
    ledger = CapacityLedger(default=CapacityLimits(1000, 100, 10), clock=clock)
    channels = PeerChannels(directory, tls, tracer_provider)
    officers = default_officers(EUROPOL)
    # Europol's searches pass the router only (P2-EUROPOL-1); follow-ups go to the state's contact point.
    contact_point = ContactPoint(
        state=EUROPOL, members=federation.participants, officers={o.officer_id: o for o in officers},
        readiness=readiness, log=log, transport=RouterTransport(channels, GrpcPeers(channels)), clock=clock,
        deadline_ms=federation.deadline_ms, purposes=federation.purposes)
    exchange = FileManagingSide(EUROPOL, readiness, log, clock, router_phases=federation.router.phases,
                                purposes=federation.purposes)
    persons = PersonRegister(folder / "persons.db")
    received = ReceivedInformationStore(folder / "received-information.db", clock)
    # The EDPS: the DPA's audit of Europol's log, with EUR-2's fields and EUR-3's files.
    authority = SupervisoryAuthority(EUROPOL, readiness, log, {o.officer_id for o in officers if o.authorised}, clock,
                                     folder / "supervisor.db", entry_checks=check_europol_entry,
                                     other_findings=lambda: file_findings(files, clock.now()))
    follow_ups = FollowUps(EUROPOL, readiness, log, persons,
                           lambda category, reference: marking(dna, gallery, category, reference), clock,
                           frozenset(c for c, r in CATEGORIES.items() if r.plugin.follow_up is FollowUp.PERSONAL_DATA))
    lookup = evaluation_lookup(files)
    services = [
        ServiceBinding("prum.dna.v1.DnaIndexService", DnaIndexServicer(
            EUROPOL, dna, exchange, plugin=EuropolData(DNA, files, _dna_supplied), evaluation=lookup),
                       dna_pb2_grpc.add_DnaIndexServiceServicer_to_server),
        ServiceBinding("prum.afis.v1.AfisService", AfisServicer(
            EUROPOL, gallery, ledger, exchange, plugin=EuropolData(FINGERPRINTS, files, _fingerprints_supplied),
            evaluation=lookup), afis_pb2_grpc.add_AfisServiceServicer_to_server),
        ServiceBinding("prum.logger.v1.ProtocolLoggerService", ProtocolLoggerServicer(EUROPOL, log),
                       logger_pb2_grpc.add_ProtocolLoggerServiceServicer_to_server),
        ServiceBinding("prum.supervisor.v1.SupervisorService", SupervisorServicer(EUROPOL, authority),
                       supervisor_pb2_grpc.add_SupervisorServiceServicer_to_server),
        ServiceBinding("prum.contact_point.v1.ContactPointService", ContactPointServicer(
            contact_point, follow_ups, InformationExchange(EUROPOL, log, received), persons,
            categories={c: r for c, r in CATEGORIES.items() if c in ROUTED_CATEGORIES}),
                       cp_pb2_grpc.add_ContactPointServiceServicer_to_server),
        ServiceBinding("prum.echo.v1.EchoService", EchoServicer(), echo_pb2_grpc.add_EchoServiceServicer_to_server),
    ]
    server, port = create_server(address, services, state=EUROPOL, tls=tls, tracer_provider=tracer_provider)
    directory[EUROPOL] = f"127.0.0.1:{port}" if address.startswith("127.0.0.1") else address
    return EuropolNode(tls, log, readiness, dna, gallery, files, persons, received, authority, contact_point,
                       channels, server, port)
