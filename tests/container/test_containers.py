"""The image, run as the pods of `prum kube render` would run it: a 3-state federation of containers (issue 19).

Builds the image (Docker's layer cache makes a rerun take seconds), renders a federation with `prum kube render`
and starts each state's node from its rendered Deployment, to the letter: the container's command and env, its
user, the pod's fsGroup (as `--group-add` and a volume whose group it owns, setgid, as the kubelet leaves it; the
Secret's files 0440 to that group), a fresh volume for the PersistentVolumeClaim at /var/lib/prum, the Secret and
the ConfigMap's run.json mounted read-only where the manifest mounts them, a read-only root filesystem with a
tmpfs at /tmp, and the Service's DNS names as network aliases on a user-defined network. Then loads national
files through the Ingest RPCs (as the data Job does), searches DNA and vehicles across borders from DE's contact
point over mTLS (published ports on loopback), and partitions FR with `docker network disconnect`: FR alone
is unreachable. Every container, network and volume is removed afterwards. A router federation (Prüm II) runs the
same way with the router's pod beside two states' (its rendered Deployment `router`, Service `router.prum-eu`):
DE's DNA search reaches NL through the router pod, and the router partitioned gives NL UNAVAILABLE quickly.

Skipped, with the reason, where no Docker engine answers (`deploy/docker/start-engine.sh` starts one from
Debian's packages; `.ci/run` runs it). The base image: $PRUM_BASE_IMAGE, else python:3.11-slim or
prum-base:debian when present, else prum-base:debian built by `deploy/docker/build-debian-base.sh` (root).
A site CA for the build's pip (a TLS-intercepting proxy): $PRUM_BUILD_EXTRA_CA (a PEM file), else this
machine's local additions in /usr/local/share/ca-certificates/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.processes import health_of
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.vehicle.model import (
    Address,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleStatus,
)
from prum.services.vehicle.wire import record_to_proto
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("PRUM_TEST_IMAGE", "prum:container-test")
DEBIAN_BASE = "prum-base:debian"
#: The pod's user and fsGroup when the rendered manifests carry no securityContext yet (the image's USER).
IMAGE_USER = 10001
LABEL = "prum-container-test"
START_TIMEOUT_S = 240.0  # three cold nodes at once on two cores take ~80 s; with the image's kernels, seconds

FEDERATION = """
[federation]
name = "containers"
deadline_ms = 1500
[defaults]
dna_profiles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
"""

DONOR = {"D3S1358": ["15", "16"], "VWA": ["17", "18"], "D8S1179": ["13", "14"], "D21S11": ["29", "30"],
         "D18S51": ["14", "17"], "TH01": ["6", "9.3"], "FGA": ["21", "24"], "D1S1656": ["12", "15.3"],
         "D2S441": ["10", "14"], "D10S1248": ["13", "15"], "D12S391": ["18", "20"], "D22S1045": ["15", "16"]}
STRANGER = {"D3S1358": ["14", "14"], "VWA": ["15", "16"], "D8S1179": ["10", "11"], "D21S11": ["27", "28"],
            "D18S51": ["12", "13"], "TH01": ["7", "8"], "FGA": ["19", "20"], "D1S1656": ["11", "13"],
            "D2S441": ["11", "11.3"], "D10S1248": ["12", "14"], "D12S391": ["17", "19"], "D22S1045": ["11", "17"]}
VIN = "WVWZZZ1JZ3W386752"
PLATE = "12-GHJ-3"


def _docker(*args: str, timeout: float = 120, check: bool = True, **options: Any) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], check=False, capture_output=True, text=True, timeout=timeout, **options)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:3])} ...: exit {result.returncode}\n{result.stdout[-3000:]}\n"
                             f"{result.stderr[-3000:]}")
    return result


def _engine_problem() -> str | None:
    """Why no container can run here, or None."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer `docker info` within 20 s"
    if info.returncode != 0:
        return ("no Docker engine answers (start one: sudo deploy/docker/start-engine.sh): "
                + (info.stderr.strip().splitlines() or ["?"])[-1])
    return None


problem = _engine_problem()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(problem is not None, reason=str(problem))]


def _image_exists(name: str) -> bool:
    return _docker("image", "inspect", name, check=False).returncode == 0


def _base_image() -> str:
    if os.environ.get("PRUM_BASE_IMAGE"):
        return os.environ["PRUM_BASE_IMAGE"]
    for name in ("python:3.11-slim", DEBIAN_BASE):
        if _image_exists(name):
            return name
    if os.geteuid() != 0:
        pytest.skip(f"no base image (python:3.11-slim or {DEBIAN_BASE}) and building {DEBIAN_BASE} needs root")
    built = subprocess.run(["bash", str(ROOT / "deploy/docker/build-debian-base.sh"), DEBIAN_BASE],
                           check=False, capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, f"build-debian-base.sh failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    return DEBIAN_BASE


def _extra_ca() -> str:
    """The PEM text of the site CA(s) the build's pip must trust (a TLS-intercepting proxy), or ''."""
    given = os.environ.get("PRUM_BUILD_EXTRA_CA")
    files = [Path(given)] if given else sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    return "\n".join(f.read_text("utf-8").strip() for f in files if f.is_file())


@pytest.fixture(scope="module")
def image() -> str:
    """The image, built from this checkout (cached layers: a rerun with no change takes seconds)."""
    arguments = ["build", "--network", "host", "-t", IMAGE, "--build-arg", f"BASE_IMAGE={_base_image()}"]
    if ca := _extra_ca():
        arguments += ["--build-arg", f"EXTRA_CA_CERTS={ca}"]
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        if os.environ.get(f"PRUM_BUILD_{name}"):
            arguments += ["--build-arg", f"{name}={os.environ[f'PRUM_BUILD_{name}']}"]
    started = time.monotonic()
    _docker(*arguments, str(ROOT), timeout=1500, env={**os.environ, "DOCKER_BUILDKIT": "0"})
    print(f"image {IMAGE} built in {time.monotonic() - started:.1f} s")
    return IMAGE


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render")
    (out / "federation.toml").write_text(FEDERATION)
    result = CliRunner().invoke(app, ["kube", "render", "-f", str(out / "federation.toml"), "--out",
                                      str(out / "k8s"), "--image", IMAGE, "--json"])
    assert result.exit_code == 0, result.output
    return out / "k8s"


@dataclass
class Pod:
    """One state's Deployment (or the router's, `state` EU), read from the rendered manifests."""

    state: str
    container: dict[str, Any]
    pod_spec: dict[str, Any]
    secret: dict[str, str]
    config: dict[str, str]
    #: The name of its Service in its namespace: "node" for a state, "router" for the Prüm II router.
    service: str = "node"

    @property
    def security(self) -> dict[str, Any]:
        """The effective security settings: the container's over the pod's. Manifests rendered before the pods
        had a securityContext get the image's user as uid, gid and fsGroup (what the pods are meant to run as)."""
        pod = self.pod_spec.get("securityContext")
        container = self.container.get("securityContext", {})
        if pod is None and not container:
            return {"runAsUser": IMAGE_USER, "runAsGroup": IMAGE_USER, "fsGroup": IMAGE_USER,
                    "readOnlyRootFilesystem": True, "tmpfs": "/tmp"}
        return {**(pod or {}), **container}


def pods(rendered: Path, kind: str = "Deployment", container_name: str = "node") -> dict[str, Pod]:
    """Each state's pod of `kind` (its node's Deployment, or the Job `load` that loads its files); in a router
    federation also the router's Deployment, under EU (`container_name` "router")."""
    objects = [item for item in yaml.safe_load_all((rendered / "federation.yaml").read_text()) if item]

    def owner(item: dict[str, Any]) -> str | None:  # a state's objects, or the router's; not the collector's
        labels = item["metadata"].get("labels", {})
        return labels.get("prum/state") or labels.get("prum/router")

    def of(kind: str, state: str) -> list[dict[str, Any]]:
        return [o for o in objects if o["kind"] == kind and owner(o) == state]

    found = {}
    for deployment in (o for o in objects if o["kind"] == kind and owner(o)):
        state = owner(deployment)
        assert state is not None
        spec = deployment["spec"]["template"]["spec"]
        chosen = [c for c in spec["containers"] if c["name"] in (container_name, "router")]
        if not chosen:
            continue
        (container,) = chosen
        secret = {k: v for s in of("Secret", state) for k, v in s.get("stringData", {}).items()}
        config = {k: v for c in of("ConfigMap", state) for k, v in c.get("data", {}).items()}
        found[state] = Pod(state, container, spec, secret, config, deployment["metadata"]["name"])
    return found


@dataclass
class Federation:
    """Containers, networks and volumes of one run, all labelled, all removed by `remove`."""

    run_id: str
    workdir: Path
    network: str = ""
    containers: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)

    def name(self, *parts: str) -> str:
        return "-".join(["prum-ct", self.run_id, *parts]).lower()

    def volume(self, *parts: str) -> str:
        name = self.name(*parts)
        _docker("volume", "create", "--label", f"{LABEL}={self.run_id}", name)
        self.volumes.append(name)
        return name

    def remove(self) -> None:
        for container in self.containers.values():
            _docker("rm", "-f", "-v", container, check=False)
        leftover = _docker("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}", check=False).stdout.split()
        if leftover:
            _docker("rm", "-f", "-v", *leftover, check=False)
        if self.network:
            _docker("network", "rm", self.network, check=False)
        if self.volumes:
            _docker("volume", "rm", "-f", *self.volumes, check=False)

    def address(self, state: str, port: int) -> str:
        return _docker("port", self.containers[state], f"{port}/tcp").stdout.splitlines()[0].strip()

    def logs(self, state: str) -> str:
        result = _docker("logs", "--tail", "40", self.containers[state], check=False)
        return result.stdout + result.stderr


def prepare_volumes(federation: Federation, pod: Pod, image: str, fs_group: int | None) -> list[str]:
    """Fresh volumes for the pod's volumes and the `docker run` mount options for its volumeMounts (docker's
    volume-nocopy: nothing of the image is copied into them, as on a cluster). With
    `fs_group`, as the kubelet leaves them for a pod with that fsGroup: a PersistentVolumeClaim's root owned by
    the group, group-writable and setgid; a Secret's files owned by the group with group read added to
    defaultMode. Without, as a volume without fsGroup: root's, 0755, and the Secret's files root's, defaultMode."""
    volumes = {v["name"]: v for v in pod.pod_spec.get("volumes", [])}
    mounts: list[str] = []
    setup: list[str] = []
    host = federation.workdir / pod.state
    host.mkdir(parents=True, exist_ok=True)
    for mount in pod.container.get("volumeMounts", []):
        source = volumes[mount["name"]]
        target = mount["mountPath"]
        readonly = ",readonly" if mount.get("readOnly") else ""
        if "persistentVolumeClaim" in source:
            name = federation.volume(pod.state, mount["name"])
            mounts += ["--mount", f"type=volume,source={name},target={target}{readonly},volume-nocopy"]
            setup.append(f"chgrp {fs_group} /v/{mount['name']} && chmod 2775 /v/{mount['name']}" if fs_group
                         else f"chmod 0755 /v/{mount['name']}")
            setup_mount = f"type=volume,source={name},target=/v/{mount['name']}"
        elif "secret" in source:
            name = federation.volume(pod.state, mount["name"])
            mode = source["secret"].get("defaultMode", 0o644) | (0o440 if fs_group else 0)
            files = host / mount["name"]
            files.mkdir(exist_ok=True)
            for key, text in pod.secret.items():
                (files / key).write_text(text)
            group = fs_group if fs_group else 0
            setup.append(f"cp /h/{mount['name']}/* /v/{mount['name']}/ && chown -R 0:{group} /v/{mount['name']} && "
                         f"chmod {mode:o} /v/{mount['name']}/* && chmod 0755 /v/{mount['name']}")
            mounts += ["--mount", f"type=volume,source={name},target={target}{readonly},volume-nocopy"]
            setup_mount = f"type=volume,source={name},target=/v/{mount['name']}"
        elif "configMap" in source:
            key = mount.get("subPath")
            path = host / f"{mount['name']}-{key or 'all'}"
            if key:
                path.write_text(pod.config[key])
                path.chmod(0o644)
            else:
                path.mkdir(exist_ok=True)
                for k, text in pod.config.items():
                    (path / k).write_text(text)
            mounts += ["--mount", f"type=bind,source={path},target={target}{readonly}"]
            continue
        elif "emptyDir" in source:
            mounts += ["--tmpfs", f"{target}:rw,mode=1777"]
            continue
        else:
            raise AssertionError(f"a volume the test cannot emulate: {source}")
        _docker("run", "--rm", "--label", f"{LABEL}={federation.run_id}", "--user", "0", "--network", "none",
                "--mount", setup_mount, "--mount", f"type=bind,source={host},target=/h,readonly", "--entrypoint",
                "sh", image, "-c", setup[-1])
    return mounts


def _run_options(federation: Federation, pod: Pod, fs_group: int | None) -> list[str]:
    """The `docker run` options of a pod's container as the kubelet would run it: user, groups, read-only root,
    its env, on the federation's network."""
    security = pod.security
    options = ["--label", f"{LABEL}={federation.run_id}", "--network", federation.network,
               "--security-opt", "no-new-privileges", "--cap-drop", "ALL"]
    user = security.get("runAsUser", IMAGE_USER)
    options += ["--user", f"{user}:{security.get('runAsGroup', user)}"]
    if fs_group:
        options += ["--group-add", str(fs_group)]
    if security.get("readOnlyRootFilesystem"):
        # Then /tmp (numba's cache, seeded from the image) needs a volume in the manifest, an emptyDir; without,
        # numba compiles at first start into $HOME/.cache (the state's volume): a cold start (~40 s), no failure.
        options.append("--read-only")
    if security.get("tmpfs"):  # manifests without a securityContext yet: the /tmp such a pod will need
        options += ["--tmpfs", f"{security['tmpfs']}:rw,mode=1777"]
    for variable in pod.container.get("env", []):
        options += ["--env", f"{variable['name']}={variable['value']}"]
    return options


def start_node(federation: Federation, pod: Pod, image: str, fs_group: int | None,
               extra_env: dict[str, str] | None = None) -> None:
    """`docker run` of the pod's node container: what the kubelet would start (`extra_env`: for measurements)."""
    mounts = prepare_volumes(federation, pod, image, fs_group)
    options = ["--detach", "--name", federation.name(pod.state), *_run_options(federation, pod, fs_group)]
    service = f"{pod.service}.prum-{pod.state.lower()}"
    for alias in (service, f"{service}.svc", f"{service}.svc.cluster.local"):
        options += ["--network-alias", alias]
    for name, value in (extra_env or {}).items():
        options += ["--env", f"{name}={value}"]
    for port in pod.container.get("ports", []):
        options += ["--publish", f"127.0.0.1::{port['containerPort']}"]
    command = [*pod.container.get("command", []), *pod.container.get("args", [])]
    federation.started[pod.state] = time.monotonic()
    federation.containers[pod.state] = federation.name(pod.state)
    _docker("run", *options, *mounts, image, *command)


def run_job(federation: Federation, job: Pod, image: str) -> dict[str, Any]:
    """`docker run` of a state's Job `load` to its end, as the Job's pod runs it; the JSON line it reports."""
    mounts = prepare_volumes(federation, job, image, job.security.get("fsGroup"))
    command = [*job.container.get("command", []), *job.container.get("args", [])]
    done = _docker("run", "--rm", *_run_options(federation, job, job.security.get("fsGroup")), *mounts, image,
                   *command, timeout=300, check=False)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


def grpc_port(pod: Pod) -> int:
    return next(p["containerPort"] for p in pod.container["ports"] if p.get("name") == "grpc")


def wait_serving(federation: Federation, pods: dict[str, Pod], tls: TlsMaterial) -> dict[str, float]:
    """Seconds from `docker run` to SERVING on the gRPC health service (over mTLS) per state."""
    ready: dict[str, float] = {}
    addresses: dict[str, str] = {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(ready) < len(pods) and time.monotonic() < deadline:
        for state, pod in pods.items():
            if state in ready:
                continue
            running = _docker("inspect", "-f", "{{.State.Running}}", federation.containers[state]).stdout.strip()
            assert running == "true", f"{state}'s node exited:\n{federation.logs(state)}"
            if state not in addresses:  # published once the container runs
                addresses[state] = federation.address(state, grpc_port(pod))
            if health_of(addresses[state], tls, 1.0) == "SERVING":
                ready[state] = time.monotonic() - federation.started[state]
        time.sleep(0.2)
    assert len(ready) == len(pods), {s: federation.logs(s) for s in pods if s not in ready}
    return ready


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    running = Federation(uuid.uuid4().hex[:8], tmp_path)
    try:
        running.network = running.name("net")
        _docker("network", "create", "--label", f"{LABEL}={running.run_id}", running.network)
        yield running
    finally:
        running.remove()
    assert not _docker("ps", "-aq", "--filter", f"label={LABEL}={running.run_id}").stdout.strip()
    assert not _docker("volume", "ls", "-q", "--filter", f"label={LABEL}={running.run_id}").stdout.strip()


def _profile(reference: str, loci: dict[str, list[str]], kind: int) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=kind, loci={k: dna_pb2.Alleles(values=v) for k, v in loci.items()})


def load(address: str, tls: TlsMaterial, dna: list[dna_pb2.Profile], vehicles: list[VehicleRecord]) -> None:
    """A state's national files through its own Ingest RPCs, with its own certificate (as the data Job)."""
    with open_channel(address, tls) as channel:
        if dna:
            reply = dna_pb2_grpc.DnaIndexServiceStub(channel).Ingest(
                iter([dna_pb2.IngestRequest(profile=p) for p in dna]), timeout=30)
            assert reply.accepted == len(dna), reply.rejections
        if vehicles:
            answer = vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Ingest(
                iter([vehicle_pb2.IngestRequest(record=record_to_proto(r)) for r in vehicles]), timeout=30)
            assert answer.accepted == len(vehicles), answer.rejections


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def dna_search(stub: cp_pb2_grpc.ContactPointServiceStub) -> cp_pb2.SearchResponse:
    return stub.Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="homicide, art. 3 search",
        case_reference="DE-2026-0001", category=common_pb2.CATEGORY_DNA, deadline_ms=1500,
        profile=_profile("DE-CS-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=15)


def vehicle_search(stub: cp_pb2_grpc.ContactPointServiceStub) -> cp_pb2.SearchResponse:
    return stub.Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="stolen vehicle, art. 12 search",
        case_reference="DE-2026-KFZ-7", category=common_pb2.CATEGORY_VEHICLE, deadline_ms=1500,
        vehicle=cp_pb2.VehicleKey(vin=VIN)), timeout=15)


def nl_vehicle() -> VehicleRecord:
    address = Address("Lange Voorhout 9", "2514 EA", "Den Haag", "NL")
    return VehicleRecord(
        Vehicle(VIN, PLATE, "Volkswagen", "Golf", "blue", "M1", "2003-05-12", VehicleStatus.STOLEN),
        (Holder(HolderRole.OWNER, person=NaturalPerson("de Vries", "Anna Maria", "1981-02-03", address)),),
        (Registration(PLATE, datetime(2024, 1, 1, tzinfo=UTC)),))


def test_three_states_as_pods_search_across_borders_and_one_is_partitioned(
        image: str, rendered: Path, federation: Federation) -> None:
    states = pods(rendered)
    assert set(states) == {"DE", "NL", "FR"}
    for pod in states.values():
        start_node(federation, pod, image, pod.security.get("fsGroup"))
    de_tls = TlsMaterial.load(rendered / "pki", "DE")
    started = wait_serving(federation, states, de_tls)
    print("seconds from docker run to SERVING: " + ", ".join(f"{s} {v:.1f}" for s, v in sorted(started.items())))

    address = {state: federation.address(state, grpc_port(pod)) for state, pod in states.items()}
    load(address["NL"], TlsMaterial.load(rendered / "pki", "NL"),
         [_profile("NL-P-1", DONOR, dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON)], [nl_vehicle()])
    load(address["FR"], TlsMaterial.load(rendered / "pki", "FR"),
         [_profile("FR-P-2", STRANGER, dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON)], [])
    # FR's national files (the federation file's synthetic sizes) as its rendered Job `load` loads them: the same
    # container, user, mounts and certificate as on a cluster, reaching FR's node by its Service name.
    loaded = run_job(federation, pods(rendered, "Job", "load")["FR"], image)
    assert loaded["event"] == "national files loaded" and loaded["state"] == "FR", loaded
    assert loaded["vehicles"]["accepted"] > 0 and loaded["persons"]["accepted"] > 0, loaded

    with open_channel(address["DE"], de_tls) as channel:
        contact_point = cp_pb2_grpc.ContactPointServiceStub(channel)
        # Across borders, DE's contact point to NL's and FR's nodes by their Service names, over mTLS.
        # A peer that was not up when DE's catch-up at start asked it (here its Service name did not even resolve:
        # docker's DNS knows an alias only while its container runs, a cluster's Service outlives its pods) is
        # UNAVAILABLE until DE's channel resolves and reconnects (gRPC's backoff). Bounded: the federation settles.
        begun = time.monotonic()
        found = dna_search(contact_point)
        while "UNAVAILABLE" in statuses(found).values() and time.monotonic() < begun + 45:
            time.sleep(0.5)
            found = dna_search(contact_point)
        print(f"first cross-border answers from both peers after {time.monotonic() - begun:.1f} s")
        assert statuses(found) == {"NL": "HIT", "FR": "NO_HIT"}, (found, federation.logs("DE"), federation.logs("NL"))
        vehicles = vehicle_search(contact_point)
        assert statuses(vehicles) == {"NL": "HIT", "FR": "NO_HIT"}
        (record,) = next(r for r in vehicles.results if r.state == "NL").vehicles
        assert record.holders[0].person.surname == "de Vries"

        # FR is cut off the network: FR alone does not answer, NL still does, within the deadline.
        _docker("network", "disconnect", federation.network, federation.containers["FR"])
        begun = time.monotonic()
        partitioned = statuses(dna_search(contact_point))
        elapsed = time.monotonic() - begun
    assert partitioned["NL"] == "HIT"
    assert partitioned["FR"] in {"UNAVAILABLE", "DEADLINE_EXCEEDED"}, partitioned
    assert elapsed < 5, elapsed

    # Each node logs JSON lines on its stdout, where `kubectl logs` reads them.
    for state in ("DE", "NL"):
        lines = [json.loads(line) for line in federation.logs(state).splitlines() if line.startswith("{")]
        assert any(line.get("event") == "state serving" for line in lines), federation.logs(state)


def test_without_the_pods_fs_group_the_node_cannot_create_its_folder(
        image: str, rendered: Path, federation: Federation) -> None:
    """The emulation is what makes the pods start: the same pod without fsGroup (a fresh volume is root's, the
    Secret's files are root's 0400) fails at once, as it would on a cluster."""
    pod = pods(rendered)["NL"]
    start_node(federation, pod, image, fs_group=None)
    container = federation.containers["NL"]
    status = _docker("wait", container, timeout=120).stdout.strip()
    output = federation.logs("NL")
    assert status != "0", output
    assert "PermissionError" in output and "/var/lib/prum/NL" in output, output


ROUTER_FEDERATION = """
[federation]
name = "containers-router"
topology = "router"
deadline_ms = 1500
[defaults]
dna_profiles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
"""


def test_a_router_federation_as_pods_searches_through_the_router_pod_and_the_router_is_partitioned(
        image: str, federation: Federation, tmp_path: Path) -> None:
    """P2-ROUTER-1 on the pods' terms: the router's Deployment run to the letter of its manifest (its own
    certificate only, its volume, read-only root), DE's contact point reaching it by its Service name."""
    from prum.router.v1 import router_pb2, router_pb2_grpc

    (tmp_path / "federation.toml").write_text(ROUTER_FEDERATION)
    result = CliRunner().invoke(app, ["kube", "render", "-f", str(tmp_path / "federation.toml"), "--out",
                                      str(tmp_path / "k8s"), "--image", IMAGE, "--json"])
    assert result.exit_code == 0, result.output
    rendered = tmp_path / "k8s"
    running = pods(rendered)
    assert set(running) == {"DE", "NL", "EU"} and running["EU"].service == "router"
    assert sorted(running["EU"].secret) == ["EU.key", "EU.pem", "ca.pem"]
    for pod in running.values():
        start_node(federation, pod, image, pod.security.get("fsGroup"))
    de_tls = TlsMaterial.load(rendered / "pki", "DE")
    started = wait_serving(federation, running, de_tls)
    print("seconds from docker run to SERVING: " + ", ".join(f"{s} {v:.1f}" for s, v in sorted(started.items())))
    address = {state: federation.address(state, grpc_port(pod)) for state, pod in running.items()}
    load(address["NL"], TlsMaterial.load(rendered / "pki", "NL"),
         [_profile("NL-P-1", DONOR, dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON)], [])

    with open_channel(address["DE"], de_tls) as channel:
        contact_point = cp_pb2_grpc.ContactPointServiceStub(channel)
        begun = time.monotonic()  # the Service names resolve once every container runs (see the test above)
        found = dna_search(contact_point)
        while "UNAVAILABLE" in statuses(found).values() and time.monotonic() < begun + 45:
            time.sleep(0.5)
            found = dna_search(contact_point)
        assert statuses(found) == {"NL": "HIT"}, (found, federation.logs("DE"), federation.logs("EU"))
        with open_channel(address["EU"], de_tls) as to_router:
            logged = router_pb2_grpc.RouterServiceStub(to_router).ListRoutedQueries(
                router_pb2.ListRoutedQueriesRequest(page_size=100), timeout=10).queries
        assert [(q.requesting_state, q.requested_state) for q in logged if q.request_id == found.request_id] == [
            ("DE", "NL")]

        # The router is cut off the network: every routed search gives NL its own status, within the deadline.
        _docker("network", "disconnect", federation.network, federation.containers["EU"])
        begun = time.monotonic()
        partitioned = statuses(dna_search(contact_point))
        elapsed = time.monotonic() - begun
    assert partitioned["NL"] in {"UNAVAILABLE", "DEADLINE_EXCEEDED"}, partitioned
    assert elapsed < 5, elapsed
    lines = [json.loads(line) for line in federation.logs("EU").splitlines() if line.startswith("{")]
    assert any(line.get("event") == "router serving" for line in lines), federation.logs("EU")
