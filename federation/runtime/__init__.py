"""A federation as it runs: the federation file (`topology.py`), its PKI (`pki.py`), one state built and served
(`launcher.py`), all states in one process (`launcher.InProcessFederation`), one OS process per state
(`node.py`, `processes.py`) and the Kubernetes manifests (`kube.py`)."""
