"""The national fingerprint file in memory and its 1:N search (Art 9, FP-1, FP-2, PUR-2).

A search has three stages, none of them a Python loop over the file:
1. *Pre-selection over all N* (vectorised): geometric hashing of minutia triangles
   (`prum.services.afis.hashing`): every template's triangles are in one inverted index sorted by
   a rotation- and translation-invariant key; the probe's triangles look their keys up, every hit
   votes for its template and for the rotation and translation it implies, and the templates with
   the strongest consistent cluster of votes go on (`shortlist`; `trace_shortlist` for a trace,
   whose few triangles vote less reliably).
2. *MCC stage* on the shortlist: local similarities and LSS-R (`matching.relax`), vectorised over
   all shortlisted candidates at once.
3. *Global check* (`matching.align`) on the `finalists` best of stage 2; the candidate list is
   the best `max_candidates` of them by score, best first, above `min_score`.
A trace goes another way after stage 1 (`_trace_scores`): every shortlisted template is aligned on
the pose its triangles voted for (no cylinders), the `trace_finalists` with the most minutiae then
falling together get stages 2 and 3, with that pose as one more hypothesis of the global check.

Memory per template: its raw minutiae (10 bytes each), the packed cylinder bits (48 bytes each) and
one index entry per triangle (11 bytes each, about 1,150 triangles up to 140 px); see `memory_bytes`.

What it never keeps (PUR-2): a probe. `search` reads the file and returns; the probe's cylinders
and keys are local variables, gone when the call returns. A template of the file is reference data
(FP-1): a reference number, the kind, the finger and the minutiae; no name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from prum.services.afis import hashing, matching
from prum.services.afis.matching import WORDS, Batch
from prum.services.afis.templates import Minutia, MinutiaType, Template, validate_template
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference, quote
from prum.services.common.reference import ReferenceKind

DEFAULT_SHORTLIST = 100
DEFAULT_TRACE_SHORTLIST = 2000
DEFAULT_FINALISTS = 40
DEFAULT_TRACE_FINALISTS = 120
"""A trace: a deep shortlist (at 100k, 390 traces, with 20,000 pose-vote contenders and the trace
tolerance of `hashing.TRACE_SIDE_TOLERANCE`, its mate is in the top 600 of the pre-selection for 92 % of
traces, top 2,000 96 %; a shortlist of 3,000 found no more of them), every shortlisted template
aligned on the pose its triangles voted for (`hashing.Poses`), and the 120 with the most minutiae
falling together get the full score. The MCC score of a partial print tells its mate from the
shortlist's impostors poorly: choosing the 120 by it lost 4-5 % of the traces at 100k (300 traces:
rank-1 0.857 against 0.907 with the pose count)."""


class Candidate(NamedTuple):
    """One entry of a candidate list (FP-2): a reference number and its 0-100 score."""

    reference: str
    score: float


@dataclass(frozen=True, slots=True)
class GalleryStats:
    templates: int
    identified_persons: int
    unidentified_traces: int
    minutiae: int
    memory_bytes: int


class _Grow:
    """A numpy array that grows along its first axis (capacity doubles)."""

    def __init__(self, dtype: npt.DTypeLike, tail: tuple[int, ...] = ()) -> None:
        self.data = np.zeros((16,) + tail, dtype=dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> tuple[int, int]:
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.zeros((max(need, 2 * len(self.data)),) + self.data.shape[1:], dtype=self.data.dtype)
            grown[:self.size] = self.data[:self.size]
            self.data = grown
        start = self.size
        self.data[start:need] = values
        self.size = need
        return start, need

    @property
    def view(self) -> np.ndarray:
        return self.data[:self.size]


class Gallery:
    """The national file of fingerprint templates: add, remove, 1:N search (FP-1, FP-2, PUR-2).

    One template per reference number (a tenprint card enters as ten references, e.g. "NL-123/02").
    Thread-safe: one lock serialises changes and searches.
    """

    def __init__(self, *, shortlist: int = DEFAULT_SHORTLIST, trace_shortlist: int = DEFAULT_TRACE_SHORTLIST,
                 finalists: int = DEFAULT_FINALISTS, trace_finalists: int = DEFAULT_TRACE_FINALISTS) -> None:
        self.shortlist = shortlist
        self.trace_shortlist = trace_shortlist
        self.finalists = finalists
        self.trace_finalists = trace_finalists
        self._lock = threading.RLock()
        self._slot: dict[str, int] = {}
        self._references: list[str] = []
        self._alive = _Grow(bool)
        self._meta = _Grow(np.int32, (5,))  # kind (0 person, 1 trace), finger, width, height, ppi
        self._span = _Grow(np.int64, (2,))  # first minutia, count
        self._raw = _Grow(np.int16, (5,))  # x, y, angle, type, quality
        self._bits = _Grow(np.uint64, (WORDS,))
        self._triangles = _Grow(np.int32)  # per template: its triangles in the index
        self._short = _Grow(np.int32)  # per template: its triangles within hashing.PLAIN_MAX_SIDE
        self._index = hashing.TriangleIndex()
        self._dead = 0

    # -- content -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, reference: object) -> bool:
        return reference in self._slot

    def add(self, template: Template) -> None:
        """Add one template; Duplicate if its reference number is taken, InvalidInput if invalid."""
        self.add_many([template])

    def add_many(self, templates: Iterable[Template]) -> int:
        """Add templates (all or none: the batch is checked first); the number added."""
        batch = [validate_template(t) for t in templates]
        seen: set[str] = set()
        for template in batch:
            if template.reference in self._slot or template.reference in seen:
                raise Duplicate(f"reference {quote(template.reference)} is already in the file")
            seen.add(template.reference)
        encoded = [matching.encode(t) for t in batch]
        found = [hashing.triangles(e.xy, e.theta) for e in encoded]
        with self._lock:
            for template in batch:
                if template.reference in self._slot:
                    raise Duplicate(f"reference {quote(template.reference)} is already in the file")
            for template, enc, tri in zip(batch, encoded, found):
                slot = len(self._references)
                self._references.append(template.reference)
                self._slot[template.reference] = slot
                self._alive.extend(np.array([True]))
                self._meta.extend(np.array([[int(template.is_trace), template.finger_position, template.width,
                                             template.height, template.resolution_ppi]], np.int32))
                start, _ = self._raw.extend(np.array([tuple(m) for m in template.minutiae], np.int16))
                self._span.extend(np.array([[start, len(template.minutiae)]], np.int64))
                self._bits.extend(enc.bits)
                self._triangles.extend(np.array([tri.count], np.int32))
                self._short.extend(np.array([tri.short_count], np.int32))
                self._index.add(slot, tri)
        return len(batch)

    def remove(self, reference: str) -> bool:
        """Take a template out of the file (it is never returned again); False if there was none."""
        with self._lock:
            slot = self._slot.pop(reference, None)
            if slot is None:
                return False
            self._alive.data[slot] = False
            self._dead += 1
            if self._dead > 1024 and self._dead > len(self._references) // 4:
                self._compact()
            return True

    def template(self, reference: str) -> Template:
        """The stored template of a reference number (for the candidate list and the requesting state)."""
        with self._lock:
            slot = self._slot.get(reference)
            if slot is None:
                raise UnknownReference(f"no template with reference {quote(reference)} in the file")
            return self._template(slot)

    def _template(self, slot: int) -> Template:
        kind, finger, width, height, ppi = (int(v) for v in self._meta.data[slot])
        start, count = (int(v) for v in self._span.data[slot])
        rows = self._raw.data[start:start + count].tolist()
        minutiae = tuple(Minutia(x, y, a, MinutiaType(t), q) for x, y, a, t, q in rows)
        return Template(self._references[slot], ReferenceKind.UNIDENTIFIED_TRACE if kind else
                        ReferenceKind.IDENTIFIED_PERSON, finger, width, height, ppi, minutiae)

    def stats(self) -> GalleryStats:
        with self._lock:
            alive = self._alive.view
            traces = int((self._meta.view[:, 0][alive] == 1).sum())
            minutiae = int(self._span.view[:, 1][alive].sum())
            return GalleryStats(len(self._slot), len(self._slot) - traces, traces, minutiae, self.memory_bytes())

    def memory_bytes(self) -> int:
        """Bytes the file holds in numpy arrays (raw minutiae, cylinders, index) plus its reference numbers."""
        arrays = [g.view for g in (self._alive, self._meta, self._span, self._raw, self._bits, self._triangles,
                                          self._short)]
        total = sum(a.nbytes for a in arrays) + self._index.nbytes
        total += sum(len(r) + 49 + 8 for r in self._references)  # str objects and list slots
        total += len(self._slot) * 100  # dict entries (approximate)
        return total

    # -- index ---------------------------------------------------------------------------------

    def _compact(self) -> None:
        """Drop removed templates from every array and rebuild the index."""
        alive_slots = np.flatnonzero(self._alive.view)
        templates = [self._template(int(s)) for s in alive_slots]
        fresh = Gallery(shortlist=self.shortlist, trace_shortlist=self.trace_shortlist, finalists=self.finalists,
                        trace_finalists=self.trace_finalists)
        if templates:
            fresh.add_many(templates)
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_lock"})

    def build_index(self) -> None:
        """Merge every triangle added so far into the sorted index (searches do it when many are pending)."""
        with self._lock:
            self._index.build()

    # -- search --------------------------------------------------------------------------------

    def _batch(self, slots: np.ndarray, *, cylinders: bool = True) -> Batch:
        """Candidates' cylinders and minutiae gathered from the flat arrays (vectorised); without
        `cylinders`, only the minutiae (empty cylinder bits)."""
        spans = self._span.data[slots]
        starts, counts = spans[:, 0], spans[:, 1]
        m = int(counts.max()) if len(counts) else 1
        k = len(slots)
        index = starts[:, None] + np.arange(m)[None, :]
        present = np.arange(m)[None, :] < counts[:, None]
        index = np.where(present, index, 0)
        raw = self._raw.data[index]  # (k, m, 5)
        # in float64 first, as matching.normalised_minutiae: the same float32 values as `matching.encode`
        scale = matching.BASE_PPI / self._meta.data[slots, 4].astype(np.float64)[:, None]
        xy = np.stack([raw[..., 0] * scale, -raw[..., 1] * scale], axis=-1).astype(np.float32)
        xy[~present] = 1e6
        theta = np.radians(raw[..., 2].astype(np.float64)).astype(np.float32)
        empty = np.broadcast_to(np.zeros(WORDS, np.uint64), (k, m, WORDS))  # read-only, no memory
        if cylinders:
            bits = self._bits.data[index]
            bits[~present] = 0
        else:
            bits = empty
        kinds = np.where(present, raw[..., 3], 0).astype(np.int8)
        quality = np.where(present, raw[..., 4], 0).astype(np.uint8)
        return Batch(xy, theta, bits, empty, kinds, counts.astype(np.int64), self._meta.data[slots, 0] == 1, quality)

    def _trace_scores(self, encoded: matching.Encoded, slots: np.ndarray, votes: np.ndarray,
                      poses: hashing.Poses) -> tuple[np.ndarray, np.ndarray]:
        """A trace's shortlist: each candidate aligned on the pose its triangles voted for
        (`hashing.Poses`) and refitted; the `trace_finalists` with the most minutiae falling together
        (ties: more votes) get the full score (MCC hypotheses and that pose: `matching.triangle_pose`,
        so the score is the one `matching.score` gives); the others score 0. (finalists, scores)."""
        light = self._batch(slots, cylinders=False)
        present = light.xy[:, :, 0] < 1e5
        means = np.where(present[..., None], light.xy, 0).astype(np.float64).sum(axis=1) / \
            np.maximum(light.count, 1)[:, None]
        pose = matching.Pose(*poses.alignment(slots, np.asarray(encoded.xy, np.float64).mean(axis=0), means))
        counts = matching.pose_counts(encoded, light, pose)
        best = np.lexsort((slots, -votes[slots], -counts))[:self.trace_finalists]
        slots = slots[best]
        return slots, matching.score_batch(encoded, self._batch(slots), pose=pose.rows(best))

    def search(self, probe: Template, max_candidates: int = 10, *, min_score: float = 0.0) -> list[Candidate]:
        """The candidate list of a 1:N search (Art 9, FP-2): at most `max_candidates`, best first.

        The probe is only read (PUR-2). InvalidInput for an invalid probe or max_candidates < 1.
        """
        probe = validate_template(probe)
        if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
            raise InvalidInput(f"{max_candidates!r} is not a candidate count; allowed: an integer >= 1",
                               field="max_candidates")
        encoded = matching.encode(probe)
        found = hashing.triangles(encoded.xy, encoded.theta, probe=True, whole=probe.is_trace)
        with self._lock:
            if not self._slot:
                return []
            if self._index.pending > max(200_000, (len(self._index) - self._index.pending) // 4):
                self.build_index()
            counts = self._triangles if probe.is_trace else self._short
            votes, poses = self._index.votes_and_poses(found, len(self._references), counts.view.astype(np.float64),
                                                       trace=probe.is_trace, poses=probe.is_trace)
            votes[~self._alive.view] = -1.0
            shortlist = min(self.trace_shortlist if probe.is_trace else self.shortlist, len(self._slot))
            slots = np.argpartition(-votes, shortlist - 1)[:shortlist]
            slots = slots[votes[slots] >= 0]
            if probe.is_trace:
                slots, scores = self._trace_scores(encoded, slots, votes, poses)
            else:
                scores = matching.score_batch(encoded, self._batch(slots), keep=min(self.finalists, len(slots)))
            order = np.argsort(-scores, kind="stable")[:max_candidates]
            return [Candidate(self._references[int(slots[i])], round(float(scores[i]), 2)) for i in order
                    if scores[i] > min_score]
