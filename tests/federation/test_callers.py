"""SEC-1, SEC-2: who may call what, from one table (`callers.CALLERS`), enforced before any servicer runs.

The table is checked against what a state's server really serves (every method of every service that server
reflection lists), and every RPC is called with the state's own certificate and with another state's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sample_federation import DONOR, officer_search, start_federation

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.router.v1 import core_data_relay_pb2, router_pb2
from prum.services.common.callers import CALLERS, Caller
from prum.services.common.server import open_channel
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

OWN_ONLY = "own authorities only"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    """A federation of its own: the matrix calls every RPC, the administrative ones included."""
    running = start_federation(tmp_path_factory.mktemp("callers"))
    yield running
    running.stop()


def served_methods(channel: grpc.Channel) -> list[tuple[str, object]]:
    """(full method name, method descriptor) of every method the server behind `channel` serves, by reflection."""
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    reply = next(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                           timeout=5))
    pool = descriptor_pool.Default()
    methods = []
    for service in reply.list_services_response.service:
        described = pool.FindServiceByName(service.name)
        methods += [(f"/{described.full_name}/{m.name}", m) for m in described.methods]
    return methods


def test_every_served_method_has_exactly_one_caller_policy(federation: InProcessFederation) -> None:
    methods = [name for name, _ in served_methods(federation.channel("NL"))]
    assert len(methods) >= 59  # 55 of the federation's own services, health's 3, reflection's 1
    missing = sorted(set(methods) - set(CALLERS))
    assert not missing, f"methods without a caller policy (refused by default): {missing}"
    # No entry names a method nobody serves (a renamed RPC would leave a stale, misleading line).
    router = {f"/{service.full_name}/{m.name}" for module in (router_pb2, core_data_relay_pb2)
              for service in module.DESCRIPTOR.services_by_name.values()
              for m in service.methods}  # served by the router (router topology), not by a state
    stale = sorted(set(CALLERS) - set(methods) - router)
    assert not stale, f"caller policies of methods no server serves: {stale}"


def _call(channel: grpc.Channel, method: str, descriptor: object) -> grpc.RpcError | None:
    """Call `method` with an empty request (one message on a stream); the error, or None when it succeeded."""
    request_type = message_factory.GetMessageClass(descriptor.input_type)  # type: ignore[attr-defined]
    serialize, parse = request_type.SerializeToString, lambda data: data
    streams_in = descriptor.client_streaming  # type: ignore[attr-defined]
    streams_out = descriptor.server_streaming  # type: ignore[attr-defined]
    try:
        if streams_out:  # the first answer (or the refusal) says it all; health's Watch would stream on
            call = (channel.stream_stream(method, serialize, parse)(iter([request_type()]), timeout=10) if streams_in
                    else channel.unary_stream(method, serialize, parse)(request_type(), timeout=10))
            next(call, None)
            call.cancel()
        elif streams_in:
            channel.stream_unary(method, serialize, parse)(iter([request_type()]), timeout=10)
        else:
            channel.unary_unary(method, serialize, parse)(request_type(), timeout=10)
    except grpc.RpcError as error:
        return error
    return None


def test_every_rpc_answers_the_own_state_and_another_state_as_its_policy_says(
        federation: InProcessFederation) -> None:
    """The matrix: every RPC with NL's own certificate and with DE's. An own-state RPC refuses DE with
    PERMISSION_DENIED before its servicer runs; every other call gets past the policy (it may still be refused
    for what it carries: an empty request is INVALID_ARGUMENT for most)."""
    own, other = federation.channel("NL"), federation.channel("NL", as_state="DE")
    checked = {caller: 0 for caller in Caller}
    for method, descriptor in served_methods(own):
        policy = CALLERS[method]
        for channel, is_own in ((own, True), (other, False)):
            error = _call(channel, method, descriptor)
            refused_by_policy = (error is not None and error.code() == grpc.StatusCode.PERMISSION_DENIED
                                 and OWN_ONLY in (error.details() or ""))
            assert refused_by_policy == (policy is Caller.OWN_STATE and not is_own), (method, is_own, error)
            if error is not None and method.startswith("/prum."):  # grpcio's health servicer lacks List
                assert error.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
                                            grpc.StatusCode.UNIMPLEMENTED), (method, is_own, error)
        checked[policy] += 1
    assert all(checked.values()), checked


def test_another_state_cannot_search_or_follow_up_through_a_states_contact_point(
        federation: InProcessFederation) -> None:
    """Issue 16, finding 1: FR's certificate at DE's contact point, with DE's officer, used to search as DE and
    to fetch the personal data behind NL's hit."""
    as_france = cp_pb2_grpc.ContactPointServiceStub(federation.channel("DE", as_state="FR"))
    with pytest.raises(grpc.RpcError) as refused:
        as_france.Search(officer_search(DONOR), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "DE's own authorities only" in refused.value.details() and "FR" in refused.value.details()
    reply = federation.contact_point("DE").Search(officer_search(DONOR), timeout=10)
    hit = next(r for r in reply.results if r.state == "NL")
    assert hit.dna_hits
    for call, request in (
            (as_france.FollowUp, cp_pb2.FollowUpRequest(
                officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="identify the donor",
                requested_state="NL", category=common_pb2.CATEGORY_DNA,
                reference=hit.dna_hits[0].reference, original_request_id=reply.request_id)),
            (as_france.SendInformation, cp_pb2.SendInformationRequest(
                officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="major event",
                requested_state="NL"))):
        with pytest.raises(grpc.RpcError) as refused:
            call(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED, call


def test_file_statistics_are_national_administration(federation: InProcessFederation) -> None:
    """GetFileStats / GetRegisterStats answered any state; the contract calls them national administration."""
    dna = dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL", as_state="FR"))
    vehicles = vehicle_pb2_grpc.VehicleRegisterServiceStub(federation.channel("NL", as_state="FR"))
    for call, request in ((dna.GetFileStats, dna_pb2.GetFileStatsRequest()),
                          (vehicles.GetRegisterStats, vehicle_pb2.GetRegisterStatsRequest())):
        with pytest.raises(grpc.RpcError) as refused:
            call(request, timeout=5)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    own = dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL")).GetFileStats(dna_pb2.GetFileStatsRequest(),
                                                                                  timeout=5)
    assert own.profiles == 2


def test_a_method_without_a_policy_is_refused(tmp_path: Path) -> None:
    """Default deny: a service the table does not name, served by the factory without its own policies."""
    from prum.echo.v1 import echo_pb2, echo_pb2_grpc
    from prum.federation.runtime.pki import FederationPki
    from prum.services.common.server import ServiceBinding, create_server
    from prum.services.echo.servicer import EchoServicer

    class Unlisted(echo_pb2_grpc.EchoServiceServicer):
        pass

    pki = FederationPki.create(["NL"])
    handlers = grpc.method_handlers_generic_handler("test.Unlisted", {
        "Echo": grpc.unary_unary_rpc_method_handler(
            EchoServicer().Echo, echo_pb2.EchoRequest.FromString, echo_pb2.EchoResponse.SerializeToString)})
    server, port = create_server("127.0.0.1:0", [ServiceBinding(
        "test.Unlisted", Unlisted(), lambda _, s: s.add_generic_rpc_handlers((handlers,)))],
        state="NL", tls=pki.material_for("NL"))
    server.start()
    try:
        with open_channel(f"127.0.0.1:{port}", pki.material_for("NL")) as channel:
            call = channel.unary_unary("/test.Unlisted/Echo", echo_pb2.EchoRequest.SerializeToString,
                                       echo_pb2.EchoResponse.FromString)
            with pytest.raises(grpc.RpcError) as refused:
                call(echo_pb2.EchoRequest(payload=b"x"), timeout=5)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "no caller policy" in refused.value.details()
    finally:
        server.stop(0)

