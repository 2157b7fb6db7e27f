"""Kubernetes manifests for a federation: one namespace per member state, as national systems are run.

`render(federation, out, image)` writes into `out`:
  - `pki/`: the federation CA and one certificate per state (the same `FederationPki` as `prum up`);
    each state's certificate names `*.prum-<state>.svc[.cluster.local]`, so peers reach it by its
    Service's DNS name over mutual TLS;
  - `run.json`: the federation file as `prum up` writes it, with every state's address set to its
    Service (`node.prum-<state>.svc.cluster.local:50051`);
  - `federation.yaml`: per state a Namespace, a Secret with the CA, the state's certificate and key
    (no other state's key), a ConfigMap with `run.json`, a PersistentVolumeClaim for its SQLite stores,
    a Deployment running `python -m prum.federation.runtime.node --listen 0.0.0.0:50051` (one replica: the
    stores are SQLite files on one volume), and a Service on port 50051.

    prum kube render --out k8s/ && docker build -t prum:latest . && kubectl apply -f k8s/federation.yaml

The node's gRPC health service speaks TLS, so the probes check the TCP port; `prum status` style
health over mTLS works through `kubectl port-forward`. The PKI is made once at render time: keep
`out/pki` secret, as any CA key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from prum.federation.runtime.pki import FederationPki, namespace_of
from prum.federation.runtime.topology import Federation

PORT = 50051
WORKDIR = "/var/lib/prum"
"""Where the node finds run.json and pki/ and keeps its stores, inside the container."""


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


def _labels(state: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "prum-node", "app.kubernetes.io/part-of": "prum", "prum/state": state}


def state_manifests(state: str, run_json: str, pki: FederationPki, image: str, storage: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of one member state."""
    ns = namespace_of(state)
    labels = _labels(state)
    material = pki.material_for(state)
    meta = {"namespace": ns, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "prum-pki", **meta},
         # The CA certificate, and this state's own certificate and key only.
         "stringData": {"ca.pem": material.ca_pem.decode(), f"{state}.pem": material.cert_pem.decode(),
                        f"{state}.key": material.key_pem.decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "prum-run", **meta},
         "data": {"run.json": run_json}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "prum-stores", **meta},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "node", **meta},
         "spec": {
             # SQLite stores on one volume: one writer process. Scale by states, not by replicas.
             "replicas": 1, "strategy": {"type": "Recreate"},
             "selector": {"matchLabels": labels},
             "template": {"metadata": {"labels": labels}, "spec": {
                 "terminationGracePeriodSeconds": 15,
                 "containers": [{
                     "name": "node", "image": image,
                     "command": ["python", "-m", "prum.federation.runtime.node", "--workdir", WORKDIR, "--state", state,
                                 "--listen", f"0.0.0.0:{PORT}", "--log-stdout"],
                     "env": [{"name": "OPENBLAS_NUM_THREADS", "value": "1"}],
                     "ports": [{"name": "grpc", "containerPort": PORT}],
                     "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 5},
                     "livenessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 20},
                     "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}},
                     "volumeMounts": [
                         {"name": "stores", "mountPath": WORKDIR},
                         {"name": "pki", "mountPath": f"{WORKDIR}/pki", "readOnly": True},
                         {"name": "run", "mountPath": f"{WORKDIR}/run.json", "subPath": "run.json",
                          "readOnly": True},
                     ],
                 }],
                 "volumes": [
                     {"name": "stores", "persistentVolumeClaim": {"claimName": "prum-stores"}},
                     {"name": "pki", "secret": {"secretName": "prum-pki", "defaultMode": 0o400}},
                     {"name": "run", "configMap": {"name": "prum-run"}},
                 ],
             }},
         }},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "node", **meta},
         "spec": {"selector": labels, "ports": [{"name": "grpc", "port": PORT, "targetPort": PORT}]}},
    ]


def render(federation: Federation, out: Path, image: str = "prum:latest", storage: str = "1Gi") -> dict[str, Any]:
    """Write pki/, run.json and federation.yaml into `out`; returns a summary (states, files, objects)."""
    out.mkdir(parents=True, exist_ok=True)
    pki = FederationPki.create(federation.codes)
    pki.write(out / "pki")
    run = {"federation": federation.to_file_data(),
           "states": {code: {"address": service_address(code)} for code in federation.codes}}
    run_json = json.dumps(run, indent=2)
    (out / "run.json").write_text(run_json + "\n", "utf-8")
    objects = [item for code in federation.codes for item in state_manifests(code, run_json, pki, image, storage)]
    header = (f"# prum federation: {len(federation.codes)} member states, one namespace each.\n"
              f"# Rendered by `prum kube render`; apply with `kubectl apply -f federation.yaml`.\n")
    (out / "federation.yaml").write_text(header + yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False), "utf-8")
    return {"states": federation.codes, "objects": len(objects), "manifests": str(out / "federation.yaml"),
            "run": str(out / "run.json"), "pki": str(out / "pki"),
            "addresses": {code: service_address(code) for code in federation.codes}}
