"""The Kubernetes manifests of the Locust master and workers name what the locustfile and plan really have."""

from __future__ import annotations

import re
from pathlib import Path

from prum.loadtests.load_checks import QUERY_TYPES
from prum.loadtests.load_plan import PLAN_VARIABLE

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def test_master_and_workers_run_the_same_locustfile_with_the_plan() -> None:
    master = (K8S / "locust-master.yaml").read_text("utf-8")
    worker = (K8S / "locust-worker.yaml").read_text("utf-8")
    for text in (master, worker):
        assert f"name: {PLAN_VARIABLE}" in text and "prum.loadtests" in text and "--reset-stats" in text
        assert "/etc/prum/pki" in text and "/etc/prum/plan" in text
    named = set(re.findall(r"\b([A-Z]\w*User)\b", master))  # Locust's classes, not the pod's runAsUser
    # Every user but the bare one: its server is one `prum bench load` starts beside the federation, not a pod.
    assert named == {q.user_class for q in QUERY_TYPES.values() if q.key != "bare"}
    expected = re.search(r"--expect-workers (\d+)", master)
    replicas = re.search(r"replicas: (\d+)", worker)
    assert expected and replicas and expected.group(1) == replicas.group(1)
    assert "locust-master.yaml" in (K8S / "kustomization.yaml").read_text("utf-8")
