"""Locust users for the Prüm federation: one user class per query type, all over gRPC with mutual TLS.

  BareEchoUser            EchoService.Echo on the bare grpcio echo server the bench starts (insecure, no
                          interceptors): the framework's ceiling, the denominator of every ratio
  EchoUser                EchoService.Echo on the target's server: the full stack (mTLS, interceptors)
  DnaSearchUser           DnaIndexService.Search (Art 3) from the requester to the target
  VehicleLookupUser       VehicleRegisterService.Lookup (Art 12) from the requester to the target
  AfisSearchUser          AfisService.Search (Art 9) from the requester to the target
  ContactPointSearchUser  ContactPointService.Search at the requester's NCP: an officer's DNA search
                          fanned out to every peer
  FaceSearchUser          FaceService.Search (Prüm II Art 20) from the requester to the target: a camera
                          still for a robbery, candidates back
  PoliceRecordSearchUser  PoliceRecordsService.Search (EPRIS, P2-EPRIS-2) from the requester to the target

Run by `prum bench load`, which writes the plan and starts Locust headless as a subprocess:

    PRUM_LOAD_PLAN=out/run/plan.json locust -f prum/loadtests/locustfile.py --headless -u 10 -r 10 -t 30s \
        --csv out/run/locust --html out/run/report.html EchoUser DnaSearchUser

Weights and think time come from the plan, or from PRUM_LOAD_WEIGHTS and PRUM_LOAD_THINK (load_plan.py).
Pick user classes by naming them on the command line, as above.
"""

# gRPC must run on gevent's loop before anything else touches it.
import grpc.experimental.gevent as grpc_gevent

grpc_gevent.init_gevent()

from locust import task
from prum.loadtests.grpc_user import PrumGrpcUser, configure


@configure
class BareEchoUser(PrumGrpcUser):
    query_type = "bare"

    @task
    def bare_echo(self) -> None:
        self.send()


@configure
class EchoUser(PrumGrpcUser):
    query_type = "echo"

    @task
    def echo(self) -> None:
        self.send()


@configure
class DnaSearchUser(PrumGrpcUser):
    query_type = "dna"

    @task
    def dna_search(self) -> None:
        self.send()


@configure
class VehicleLookupUser(PrumGrpcUser):
    query_type = "vehicle"

    @task
    def vehicle_lookup(self) -> None:
        self.send()


@configure
class AfisSearchUser(PrumGrpcUser):
    query_type = "afis"

    @task
    def afis_search(self) -> None:
        self.send()


@configure
class ContactPointSearchUser(PrumGrpcUser):
    query_type = "fanout"

    @task
    def fanout_search(self) -> None:
        self.send()


@configure
class FaceSearchUser(PrumGrpcUser):
    query_type = "face"

    @task
    def face_search(self) -> None:
        self.send()


@configure
class PoliceRecordSearchUser(PrumGrpcUser):
    query_type = "police_record"

    @task
    def police_record_search(self) -> None:
        self.send()
