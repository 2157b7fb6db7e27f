"""Kubernetes manifests for a federation: one namespace per member state, as national systems are run.

`render(federation, out, image)` writes into `out`:
  - `pki/`: the federation CA and one certificate per state (the same `FederationPki` as `prum up`);
    each state's certificate names `*.prum-<state>.svc[.cluster.local]`, so peers reach it by its
    Service's DNS name over mutual TLS;
  - `run.json`: the federation file as `prum up` writes it, with every state's address set to its
    Service (`node.prum-<state>.svc.cluster.local:50051`);
  - `federation.yaml`: an OpenTelemetry Collector in its own namespace (`prum-observability`: ConfigMap,
    Deployment, Service on OTLP gRPC 4317) and, per state, a Namespace, a Secret with the CA, the state's
    certificate and key (no other state's key), a ConfigMap with `run.json`, a PersistentVolumeClaim for
    its SQLite stores, a Deployment running `python -m prum.federation.runtime.node --listen 0.0.0.0:50051
    --health-port 50052 --trace-exporter otlp` (one replica: the stores are SQLite files on one volume), a
    Service on port 50051 and a Job `load` that loads the state's national files through its Ingest RPCs
    (`prum kube load`, the synthetic sizes of the federation file, as `prum up` loads them).

    prum kube render --out k8s/ && docker build -t prum:latest . && kubectl apply -f k8s/federation.yaml

A federation of the router topology (Prüm II) also gets the central router, eu-LISA's, in its own namespace
`prum-eu` (its certificate's, code `ROUTER`): a Secret with the CA and the router's certificate and key only, the
ConfigMap with `run.json`, a PersistentVolumeClaim for its log and readiness book (SQLite), a Deployment `router`
running the same node module with `--state EU` (same probes, security context and health port as a state's node)
and a Service `router` on 50051. `run.json` names it under `router` (`router.prum-eu.svc.cluster.local:50051`),
where the states' contact points send their DNA and fingerprint searches; no load Job (the router keeps no data).

Every pod runs as uid/gid 10001 (fsGroup 10001, so the fresh volume and the Secret's files are its own), with
no privilege escalation, no capabilities, the runtime's seccomp profile and a read-only root filesystem; what
it writes goes to its volume or an emptyDir (/tmp, where numba's cache is seeded from the image at start). Peers speak mTLS on 50051; the probes are
Kubernetes' native gRPC probes on 50052, a plaintext port that serves grpc.health.v1 alone, from the node's own
HealthServicer (`node --health-port`), so they check health for real without a client certificate. No
PodDisruptionBudget: a state is one replica on a ReadWriteOnce volume, and a budget of one would block every
node drain for ever; a drain stops the state for the time its pod takes to start elsewhere, which its peers
see as UNAVAILABLE, as the federation expects of any state. The PKI is made once at render time: keep `out/pki`
secret, as any CA key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from prum.federation.runtime.pki import FederationPki, namespace_of
from prum.federation.runtime.topology import NO_EUROPOL_HERE, Federation
from prum.services.common.identity import ROUTER

PORT = 50051
HEALTH_PORT = 50052
"""Plaintext, grpc.health.v1 only (`node --health-port`): the kubelet's gRPC probes, which have no certificate."""
WORKDIR = "/var/lib/prum"
"""Where the node finds run.json and pki/ and keeps its stores, inside the container."""
UID = 10001
"""The image's user (see the Dockerfile); also the pods' group and fsGroup."""
# numba's cache: the image compiled the kernels at build time into /opt/prum/numba-cache; a process copies them
# at start into NUMBA_CACHE_DIR, /tmp/prum-numba-cache (the image's ENV; `services/common/jit.seed_numba_cache`),
# because numba uses a cache folder only if it can write a file there, which the image's folder under a
# read-only root never is. So every pod here has an emptyDir at /tmp, and nothing else to set.
OBSERVABILITY = "prum-observability"
COLLECTOR = "otel-collector"
COLLECTOR_IMAGE = "otel/opentelemetry-collector:0.116.0"
OTLP_PORT = 4317
OTLP_ENDPOINT = f"http://{COLLECTOR}.{OBSERVABILITY}.svc.cluster.local:{OTLP_PORT}"
"""Where the nodes send their spans (OTLP over gRPC, plaintext inside the cluster: `http://`)."""

# Sized from measurements (issue 19: psutil on the node process as the pod runs it, default federation, one state
# of 400 DNA profiles, 300 vehicles, 301 persons; Python 3.11, x86-64, 2 cores):
#   kernels cached:  serving after 5.8 s; RSS 297 MiB once serving, 299 MiB after its files were loaded, peak
#                    (VmHWM) 322 MiB; idle CPU 1 millicore (0.7 loaded: health probes, the 5-minute catch-up);
#   kernels compiled at start (no cache): serving after 27.5 s alone (~80 s three at once), RSS 515 MiB after,
#                    peak 560 MiB (LLVM's memory stays);
#   the load Job (`prum kube load`): 3-5 s, peak RSS 177 MiB.
# So: requests cover a node with its kernels cached and some room for its stores (384Mi), the limit a node that
# compiled (560 MiB) with room for larger files and searches in flight (1Gi). CPU: idle is nothing, a search
# burst or a compile takes a core, so a small request and a limit of two cores (the kernels run without the GIL).
NODE_RESOURCES = {"requests": {"cpu": "250m", "memory": "384Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}}
# The Prüm II router (issue 20: /proc of the router's process under `prum up`, a 3-state router federation of 400
# profiles each; Python 3.11, x86-64, 2 shared cores): RSS 145 MiB serving, 150 MiB after 200 routed DNA searches
# (VmHWM the same), idle CPU 1 millicore. It compiles no kernel and keeps no data: a smaller request, room to grow.
ROUTER_RESOURCES = {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
LOAD_RESOURCES = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}

# A cold node (numba compiles its kernels before it opens its port) took up to ~80 s with three starting at once
# (issue 19); from the baked cache a few seconds. The startupProbe allows 40 x 5 s = 200 s before liveness counts.
STARTUP_PROBE = {"grpc": {"port": HEALTH_PORT}, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 40}
READINESS_PROBE = {"grpc": {"port": HEALTH_PORT}, "periodSeconds": 5, "timeoutSeconds": 2, "failureThreshold": 2}
LIVENESS_PROBE = {"grpc": {"port": HEALTH_PORT}, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3}


def pod_security_context() -> dict[str, Any]:
    """Every pod's: uid/gid 10001, and fsGroup 10001 so a fresh volume and the Secret's files are its group's
    (changed only when the volume's root is not yet: OnRootMismatch)."""
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
            "fsGroupChangePolicy": "OnRootMismatch", "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context() -> dict[str, Any]:
    """Every container's: no privilege escalation, no capabilities, a read-only root filesystem."""
    return {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
            "seccompProfile": {"type": "RuntimeDefault"}}


def _env(**values: str) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in values.items()]


def _state_mounts(workdir_volume: str) -> list[dict[str, Any]]:
    """What a state's node and its load Job mount: its working folder (the stores' volume, or a scratch one), the
    CA and its own certificate, run.json, and /tmp (where numba's cache is seeded from the image)."""
    return [
        {"name": workdir_volume, "mountPath": WORKDIR},
        {"name": "pki", "mountPath": f"{WORKDIR}/pki", "readOnly": True},
        {"name": "run", "mountPath": f"{WORKDIR}/run.json", "subPath": "run.json", "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]


def _pki_volume() -> dict[str, Any]:
    # 0440 with fsGroup: the files are root:10001, readable by the node's group, by no other user.
    return {"name": "pki", "secret": {"secretName": "prum-pki", "defaultMode": 0o440}}


class _Dumper(yaml.SafeDumper):
    """YAML as people write it for Kubernetes: multi-line text (certificates, run.json) as `|` blocks,
    and every object written out in full (no anchors and aliases for repeated labels)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def service_address(state: str) -> str:
    """The address peers use: the state's Service in its namespace (named by its certificate)."""
    return f"node.{namespace_of(state)}.svc.cluster.local:{PORT}"


def router_address() -> str:
    """The address the states use for the Prüm II router: its Service in its namespace (named by its certificate)."""
    return f"router.{namespace_of(ROUTER)}.svc.cluster.local:{PORT}"


def _labels(state: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "prum-node", "app.kubernetes.io/part-of": "prum", "prum/state": state}


def _node_deployment(state: str, image: str, meta: dict[str, Any], labels: dict[str, str],
                     name: str = "node", resources: dict[str, Any] = NODE_RESOURCES) -> dict[str, Any]:
    """A state's node, or (`state` ROUTER, `name` "router") the Prüm II router: the same module and pod."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, **meta}, "spec": {
        # SQLite stores on one volume: one writer process. Scale by states, not by replicas.
        "replicas": 1, "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {
            "terminationGracePeriodSeconds": 15,
            "automountServiceAccountToken": False,  # the node never calls the Kubernetes API
            "securityContext": pod_security_context(),
            "containers": [{
                "name": name, "image": image,
                "command": ["python", "-m", "prum.federation.runtime.node", "--workdir", WORKDIR, "--state", state,
                            "--listen", f"0.0.0.0:{PORT}", "--log-stdout", "--health-port", str(HEALTH_PORT),
                            "--trace-exporter", "otlp"],
                "env": _env(OPENBLAS_NUM_THREADS="1", OTEL_EXPORTER_OTLP_ENDPOINT=OTLP_ENDPOINT),
                "ports": [{"name": "grpc", "containerPort": PORT}, {"name": "health", "containerPort": HEALTH_PORT}],
                "startupProbe": STARTUP_PROBE, "readinessProbe": READINESS_PROBE, "livenessProbe": LIVENESS_PROBE,
                "resources": resources,
                "securityContext": container_security_context(),
                "volumeMounts": _state_mounts("stores"),
            }],
            "volumes": [
                {"name": "stores", "persistentVolumeClaim": {"claimName": "prum-stores"}},
                _pki_volume(),
                {"name": "run", "configMap": {"name": "prum-run"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            ],
        }},
    }}


def _load_job(state: str, image: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Loads the state's national files through its Ingest RPCs, with its own certificate, once its Service
    serves (`prum kube load`). Loading twice adds nothing: the stores refuse references they hold."""
    labels = {"app.kubernetes.io/name": "prum-load", "app.kubernetes.io/part-of": "prum", "prum/state": state}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "load", "namespace": meta["namespace"],
                                                                   "labels": labels}, "spec": {
        "backoffLimit": 4,                 # each try waits up to 300 s for the node: a cold one compiles first
        "activeDeadlineSeconds": 1800,
        "ttlSecondsAfterFinished": 3600,   # an hour to read `kubectl logs -n <ns> job/load`, then it is deleted
        "template": {"metadata": {"labels": labels}, "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "containers": [{
                "name": "load", "image": image,
                "command": ["prum", "kube", "load", "--workdir", WORKDIR, "--state", state, "--wait", "300"],
                # It imports the numba kernels (compiles none): their cache is seeded into /tmp as the node's.
                "env": _env(OPENBLAS_NUM_THREADS="1"),
                "resources": LOAD_RESOURCES,
                "securityContext": container_security_context(),
                "volumeMounts": _state_mounts("work"),
            }],
            "volumes": [
                {"name": "work", "emptyDir": {"sizeLimit": "16Mi"}},
                _pki_volume(),
                {"name": "run", "configMap": {"name": "prum-run"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            ],
        }},
    }}


def state_manifests(state: str, run_json: str, pki: FederationPki, image: str, storage: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of one member state."""
    ns = namespace_of(state)
    labels = _labels(state)
    material = pki.material_for(state)
    meta = {"namespace": ns, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            **labels, "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "prum-pki", **meta},
         # The CA certificate, and this state's own certificate and key only.
         "stringData": {"ca.pem": material.ca_pem.decode(), f"{state}.pem": material.cert_pem.decode(),
                        f"{state}.key": material.key_pem.decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prum-run", **meta},
         "data": {"run.json": run_json}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "prum-stores", **meta},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}},
        # No PodDisruptionBudget: one replica on a ReadWriteOnce volume; minAvailable 1 would block drains for ever.
        _node_deployment(state, image, meta, labels),
        # Peers only: the health port (50052) is for the kubelet's probes, which reach the pod directly.
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "node", **meta},
         "spec": {"selector": labels, "ports": [{"name": "grpc", "port": PORT, "targetPort": PORT}]}},
        _load_job(state, image, meta),
    ]


def router_manifests(run_json: str, pki: FederationPki, image: str, storage: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of the Prüm II router (router topology): its own namespace, certificate, volume for its
    log and readiness book, Deployment and Service; no load Job, the router keeps no data (P2-ROUTER-1)."""
    ns = namespace_of(ROUTER)
    labels = {"app.kubernetes.io/name": "prum-router", "app.kubernetes.io/part-of": "prum", "prum/router": ROUTER}
    material = pki.material_for(ROUTER)
    meta = {"namespace": ns, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            **labels, "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "prum-pki", **meta},
         # The CA certificate, and the router's own certificate and key only: no state's key.
         "stringData": {"ca.pem": material.ca_pem.decode(), f"{ROUTER}.pem": material.cert_pem.decode(),
                        f"{ROUTER}.key": material.key_pem.decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prum-run", **meta},
         "data": {"run.json": run_json}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "prum-stores", **meta},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}},
        # One replica: its log and readiness book are SQLite files on one volume, as a state's stores.
        _node_deployment(ROUTER, image, meta, labels, name="router", resources=ROUTER_RESOURCES),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "router", **meta},
         "spec": {"selector": labels, "ports": [{"name": "grpc", "port": PORT, "targetPort": PORT}]}},
    ]


COLLECTOR_CONFIG = f"""\
# OpenTelemetry Collector of the prum federation: every node sends its spans here over OTLP gRPC.
# By default they are printed by the debug exporter: kubectl logs -n {OBSERVABILITY} deploy/{COLLECTOR}
# To keep them, add an exporter for your tracing backend and name it in the traces pipeline, e.g.
#   otlp/tempo: {{endpoint: tempo.monitoring.svc.cluster.local:4317, tls: {{insecure: true}}}}
#   otlp/jaeger: {{endpoint: jaeger-collector.monitoring.svc.cluster.local:4317, tls: {{insecure: true}}}}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:{OTLP_PORT}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {{}}
exporters:
  debug:
    verbosity: normal
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
"""


def collector_manifests() -> list[dict[str, Any]]:
    """An OpenTelemetry Collector in its own namespace: OTLP gRPC in on 4317, the debug exporter out (its logs)."""
    labels = {"app.kubernetes.io/name": COLLECTOR, "app.kubernetes.io/part-of": "prum"}
    meta = {"namespace": OBSERVABILITY, "labels": labels}
    probe = {"httpGet": {"path": "/", "port": 13133}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OBSERVABILITY, "labels": {
            **labels, "pod-security.kubernetes.io/enforce": "restricted"}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": COLLECTOR, **meta},
         "data": {"collector.yaml": COLLECTOR_CONFIG}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": COLLECTOR, **meta}, "spec": {
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "containers": [{
                    "name": "collector", "image": COLLECTOR_IMAGE,
                    "args": ["--config=/etc/otelcol/collector.yaml"],
                    "ports": [{"name": "otlp-grpc", "containerPort": OTLP_PORT},
                              {"name": "health", "containerPort": 13133}],
                    "readinessProbe": {**probe, "periodSeconds": 5},
                    "livenessProbe": {**probe, "periodSeconds": 20},
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                  "limits": {"cpu": "1", "memory": "512Mi"}},
                    "securityContext": container_security_context(),
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/otelcol", "readOnly": True}],
                }],
                "volumes": [{"name": "config", "configMap": {"name": COLLECTOR}}],
            }},
        }},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": COLLECTOR, **meta},
         "spec": {"selector": labels, "ports": [{"name": "otlp-grpc", "port": OTLP_PORT, "targetPort": OTLP_PORT}]}},
    ]


def render(federation: Federation, out: Path, image: str = "prum:latest", storage: str = "1Gi") -> dict[str, Any]:
    """Write pki/, run.json and federation.yaml into `out`; returns a summary (states, files, objects). A federation
    with Europol is refused (ValueError): its manifests do not exist yet."""
    if federation.europol.enabled:
        raise ValueError(NO_EUROPOL_HERE.format(command="prum kube render"))
    external = [s.code for s in federation.states if s.external]
    if external:  # a namespace per state with prum's certificate for it: an external state has neither
        raise ValueError(f"states {', '.join(external)} are external (external = true): prum kube render does not "
                         f"render them yet; run them with prum up, or leave external out")
    routed = federation.topology == "router"
    out.mkdir(parents=True, exist_ok=True)
    pki = FederationPki.create(federation.codes)
    if routed:
        pki.issue_router()
    pki.write(out / "pki")
    run: dict[str, Any] = {"federation": federation.to_file_data(),
                           "states": {code: {"address": service_address(code)} for code in federation.codes}}
    if routed:  # the states' contact points reach the router at its Service
        run["router"] = {"address": router_address()}
    run_json = json.dumps(run, indent=2)
    (out / "run.json").write_text(run_json + "\n", "utf-8")
    objects = collector_manifests() + [
        item for code in federation.codes for item in state_manifests(code, run_json, pki, image, storage)]
    if routed:
        objects += router_manifests(run_json, pki, image, storage)
    header = (f"# prum federation: {len(federation.codes)} member states, one namespace each, and an OpenTelemetry\n"
              f"# Collector in {OBSERVABILITY}"
              f"{f', and the Prüm II router in {namespace_of(ROUTER)}' if routed else ''}. Rendered by "
              f"`prum kube render`; apply with\n"
              f"# `kubectl apply -f federation.yaml`; each state's Job `load` then loads its national files.\n")
    (out / "federation.yaml").write_text(header + yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False), "utf-8")
    summary = {"states": federation.codes, "objects": len(objects), "manifests": str(out / "federation.yaml"),
               "run": str(out / "run.json"), "pki": str(out / "pki"),
               "addresses": {code: service_address(code) for code in federation.codes}}
    return summary | ({"router": router_address()} if routed else {})
