"""The facial-image file and its exact 1:N search (P2-FACE-1, P2-FACE-2), without gRPC.

The templates are rows of one contiguous matrix; a search is one matrix-vector product (cosine similarity, the
rows and the probe being unit vectors) and an `argpartition` for the best `limit`, sorted, kept above the
threshold. Exact: every template is scored, so the candidate list is the true top of the file.
`bench/face_bench.py` measured this against FAISS's exact inner-product index (`IndexFlatIP`) at 100k and 1M
templates (BENCHMARKS.md, "Facial images"): one probe at a time, numpy's BLAS product was 3-4x faster (p50 30 ms
against 86 ms at 1M) and needs no extra dependency, so the file uses it. `dtype` float16 halves the matrix (1M x 512
in 1 GB) and kept the same top 10 for 97-98 of 100 probes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from prum.services.common.errors import Duplicate, InvalidInput
from prum.services.face.templates import DIMENSION, FaceTemplate

_NO_FEATURES: npt.NDArray[np.float32] = np.zeros(0, dtype=np.float32)


class Candidate(NamedTuple):
    """One entry of a candidate list (P2-FACE-2): a reference number and its cosine score (-1 to 1)."""

    reference: str
    score: float


class FaceGallery:
    """A state's facial-image file, searched exactly; safe for concurrent searches and ingests."""

    def __init__(self, dtype: type[np.floating] = np.float32, initial_capacity: int = 1024) -> None:
        self._dtype = dtype
        self._matrix: npt.NDArray[np.floating] = np.zeros((initial_capacity, DIMENSION), dtype=dtype)
        self._templates: list[FaceTemplate] = []
        self._row: dict[str, int] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._templates)

    @property
    def bytes_per_template(self) -> int:
        """The matrix's share of one template (its metadata object aside; the vector is kept once, in the matrix)."""
        return DIMENSION * np.dtype(self._dtype).itemsize

    def add_many(self, templates: Iterable[FaceTemplate]) -> int:
        """Adds the templates; a reference already in the file, or twice in the batch, refuses the whole batch."""
        batch = list(templates)
        with self._lock:
            seen = set(self._row)
            for template in batch:
                if template.reference in seen:
                    raise Duplicate(f"reference {template.reference!r} is already in the facial-image file; "
                                    f"delete it first to replace it")
                seen.add(template.reference)
            needed = len(self._templates) + len(batch)
            if needed > len(self._matrix):
                grown = np.zeros((max(needed, 2 * len(self._matrix)), DIMENSION), dtype=self._dtype)
                grown[:len(self._templates)] = self._matrix[:len(self._templates)]
                self._matrix = grown
            start = len(self._templates)
            if batch:
                self._matrix[start:needed] = np.stack([t.features for t in batch]).astype(self._dtype)
            for offset, template in enumerate(batch):
                self._row[template.reference] = start + offset
                # The vector lives in its matrix row only: the template keeps its metadata (`template` rebuilds it).
                self._templates.append(replace(template, features=_NO_FEATURES))
            return len(batch)

    def add(self, template: FaceTemplate) -> None:
        self.add_many([template])

    def remove(self, reference: str) -> bool:
        """Deletes a template (its row takes the last one's place); False if there is none."""
        with self._lock:
            row = self._row.pop(reference, None)
            if row is None:
                return False
            last = len(self._templates) - 1
            if row != last:
                moved = self._templates[last]
                self._templates[row] = moved
                self._matrix[row] = self._matrix[last]
                self._row[moved.reference] = row
            self._templates.pop()
            self._matrix[last] = 0
            return True

    def template(self, reference: str) -> FaceTemplate:
        """The template as it was added, its vector read back from its matrix row."""
        with self._lock:
            row = self._row[reference]
            features = self._matrix[row].astype(np.float32)
            features.setflags(write=False)
            return replace(self._templates[row], features=features)

    def scores(self, probe: FaceTemplate) -> npt.NDArray[np.float32]:
        """The cosine score of the probe against every template, in row order (the benchmark's exact reference)."""
        with self._lock:
            n = len(self._templates)
            return (self._matrix[:n] @ probe.features.astype(self._dtype)).astype(np.float32)

    def search(self, probe: FaceTemplate, limit: int, threshold: float = -1.0) -> list[Candidate]:
        """The best `limit` templates scoring at least `threshold`, best first (ties by reference)."""
        if limit < 1:
            raise InvalidInput(f"{limit}; allowed: at least 1", field="limit")
        with self._lock:
            scores = self.scores(probe)
            n = len(scores)
            if n == 0:
                return []
            top = np.argpartition(-scores, limit - 1)[:limit] if n > limit else np.arange(n)
            found = [Candidate(self._templates[row].reference, round(float(scores[row]), 6)) for row in top
                     if scores[row] >= threshold]
        return sorted(found, key=lambda c: (-c.score, c.reference))
