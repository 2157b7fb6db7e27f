"""Who may call each RPC of a state's server: one table, enforced before any servicer runs (SEC-1, SEC-2).

Every method of every service a state serves has exactly one entry; a method without one is refused
(default deny). The caller is the state named by its client certificate (mutual TLS, SEC-1):

- `OWN_STATE`: the state's own authorities only: its officers at its contact point (SEC-2), the
  administration of its national files, its protocol log and its supervisor's own work.
- `PEER`: any member state of the federation, acting in its own name: the service checks that what the
  message claims (requesting state, origin, voter) is the certificate's state.
- `MEMBER`: any member state, with nothing to claim: what the federation makes visible to every member
  (readiness, GATE-2; declarations, DEC-1; the list of authorised officers, SEC-2), health and reflection.

The Prüm II router (`prum.router.v1.RouterService`) is a server of its own, not a state's (its certificate names
`identity.ROUTER`): `Route` is `PEER` (the router checks that the search's requesting state is the caller's,
P2-ROUTER-1); its statistics and its log are `MEMBER` (P2-LOG-2: every state sees the router's monitoring).

On a server without TLS (a member-state team running one service locally) no caller can be identified:
every method with an entry is open there, as the interceptors' docstring says.
"""

from __future__ import annotations

import enum


class Caller(enum.Enum):
    """Who may call a method."""

    OWN_STATE = "the state's own authorities"
    PEER = "any member state, in its own name"
    MEMBER = "any member state"


_OWN, _PEER, _MEMBER = Caller.OWN_STATE, Caller.PEER, Caller.MEMBER


def _service(name: str, methods: dict[str, Caller]) -> dict[str, Caller]:
    return {f"/{name}/{method}": caller for method, caller in methods.items()}


CALLERS: dict[str, Caller] = {
    **_service("prum.dna.v1.DnaIndexService", {
        "Search": _PEER,            # Art 3: a peer's NCP searches this state's file
        "Compare": _PEER,           # Art 4: a peer's comparison, by agreement
        "Ingest": _OWN, "Delete": _OWN, "Mark": _OWN, "Block": _OWN, "GetFileStats": _OWN,
        "ListMatchMarks": _OWN,     # P2-DNA-5: the state's own notes of matched traces
    }),
    **_service("prum.afis.v1.AfisService", {
        "Search": _PEER,            # Art 9
        "Ingest": _OWN, "Delete": _OWN, "GetFileStats": _OWN,
    }),
    **_service("prum.face.v1.FaceService", {
        "Search": _PEER,            # Prüm II Art 20: a peer's NCP (or the router in its name) searches faces
        "Ingest": _OWN, "Delete": _OWN, "GetFileStats": _OWN,
    }),
    **_service("prum.vehicle.v1.VehicleRegisterService", {
        "Lookup": _PEER,            # Art 12
        "Ingest": _OWN, "GetRegisterStats": _OWN,
    }),
    **_service("prum.police_records.v1.PoliceRecordsService", {
        "Search": _PEER,            # P2-EPRIS-2: a peer's search of this state's police-record index
        "ReceiveRecordRequest": _PEER, "ReceiveRecordDecision": _PEER,  # P2-EPRIS-4, in the sender's own name
        "Ingest": _OWN, "Refresh": _OWN, "GetIndexStats": _OWN, "GetRecordRequest": _OWN,
        "RequestRecord": _OWN, "DecideRecordRequest": _OWN,  # P2-EPRIS-4: this state's officers
    }),
    **_service("prum.logger.v1.ProtocolLoggerService", {
        "Append": _OWN, "Query": _OWN, "Export": _OWN, "Verify": _OWN, "Purge": _OWN, "GetLogStats": _OWN,
        "CreateCheckpoint": _OWN,
        "ListCheckpoints": _MEMBER,  # LOG-5: signed anchors of the log, kept by peers to check it years later
    }),
    **_service("prum.supervisor.v1.SupervisorService", {
        "GetReadiness": _MEMBER,    # GATE-2: readiness is visible to every state
        "RecordStep": _OWN, "CastCouncilVote": _OWN, "RevokeReadiness": _OWN, "RunPilot": _OWN,
        "ShareReadinessChange": _PEER,  # a peer's step, vote, pilot window or revocation
        "FileDeclaration": _OWN,
        "ListDeclarations": _MEMBER,    # DEC-1: declarations take effect for the whole federation
        "ShareDeclaration": _PEER,
        "SyncDeclarations": _OWN, "SyncReadiness": _OWN, "SyncJointCases": _OWN,
        "OpenJointCase": _OWN, "AddJointFinding": _OWN, "CloseJointCase": _OWN,
        "ListJointCases": _MEMBER,  # a partner DPA sees the cases the two hold together (AUD-1)
        "ShareJointCase": _PEER,
        "RequestLogs": _OWN, "ListLogRequests": _OWN, "RunAudit": _OWN, "ListAudits": _OWN,
        "OpenSubjectCase": _OWN, "ListSubjectCases": _OWN,
    }),
    **_service("prum.contact_point.v1.ContactPointService", {
        "Search": _OWN,             # SEC-2: only the state's own authorised officers search through its NCP
        "SearchSeveral": _OWN,
        "FollowUp": _OWN,
        "AnswerFollowUp": _PEER,    # Art 5, 10: a peer asks for the personal data behind its hit
        "SendInformation": _OWN,
        "ReceiveInformation": _PEER,  # Art 13-16: a peer supplies information
        "ListReceivedInformation": _OWN, "CloseInformation": _OWN, "RegisterPersons": _OWN,
        "ListOfficers": _MEMBER,    # SEC-2: the list of authorised officers, to other states on request
    }),
    **_service("prum.contact_point.v1.CoreDataService", {  # Prüm II core data after a confirmed match (Art 47)
        "RequestCoreData": _OWN, "DecideCoreData": _OWN, "ListCoreDataCases": _OWN, "RegisterCoreDetails": _OWN,
        "OpenCoreDataCase": _PEER,  # a requesting state's request, carried by the router (P2-ROUTER-1)
        "DeliverCoreData": _PEER,   # a requested state's decision, carried by the router
    }),
    **_service("prum.contact_point.v1.FaceConfirmationService", {  # P2-FACE-3
        "ConfirmFaceCandidate": _OWN,     # the state's own officer confirms or rejects a face candidate
        "ReceiveFaceConfirmation": _PEER,  # a requesting state's decision on a candidate this state supplied
    }),
    **_service("prum.router.v1.CoreDataRelayService", {
        "RelayCoreDataRequest": _PEER, "RelayCoreDataDecision": _PEER,  # Art 47(1): in the sender's own name
        "ListRelayedCoreData": _MEMBER,  # P2-ROUTER-3: the router's log, without data, to every member
    }),
    **_service("prum.router.v1.RouterService", {
        "Route": _PEER,             # P2-ROUTER-1: a state's search, in its own name, through the router
        "RouteSeveral": _PEER,      # P2-ROUTER-2: the same, across several categories at once
        "GetRouterStats": _MEMBER, "ListRoutedQueries": _MEMBER,  # P2-LOG-2, P2-ROUTER-3
    }),
    **_service("prum.echo.v1.EchoService", {"Echo": _MEMBER}),  # the load tests' ceiling
    **_service("grpc.health.v1.Health", {"Check": _MEMBER, "Watch": _MEMBER, "List": _MEMBER}),
    **_service("grpc.reflection.v1alpha.ServerReflection", {"ServerReflectionInfo": _MEMBER}),
}

