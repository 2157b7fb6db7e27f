"""The national fingerprint file in memory and its 1:N search (Art 9, FP-1, FP-2, PUR-2).

A search has three stages, none of them a Python loop over the file:
1. *Pre-filter over all N* (vectorised): every cylinder of every template is indexed by MinHash
   keys in `TABLES` hash tables (a key is the pair of the smallest set bits of the cylinder under two
   fixed random orders of its cells, so similar cylinders share keys with a probability that grows
   with their Jaccard similarity). The probe's cylinders look up their keys; each hit votes for its
   template (`np.bincount`, a rare key weighing more than a common one), and the `shortlist`
   templates with the most votes, per cylinder, go on (`shortlist`; `trace_shortlist` for a trace,
   whose few, partial cylinders vote less reliably).
2. *MCC stage* on the shortlist: local similarities and LSS-R (`matching.relax`), vectorised over
   all shortlisted candidates at once.
3. *Global check* (`matching.align`) on the `finalists` best of stage 2; the candidate list is
   the best `max_candidates` of them by score, best first, above `min_score`.

Memory per template: its raw minutiae (8 bytes each), the packed cylinder bits (48 bytes each) and
`TABLES` index postings per cylinder (4 bytes each); see `memory_bytes`.

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

from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.afis import matching
from prum.services.afis.matching import CELLS, WORDS, Batch, Encoded
from prum.services.afis.templates import Minutia, MinutiaType, Template, TemplateKind, validate_template

TABLES = 12
"""MinHash tables of the pre-filter."""

_CORE_CELLS = np.arange(CELLS)
"""The cells that make the MinHash keys (all of them; restricting keys to the cylinder's core was
tried for partial traces and lost more than it gained)."""
CORE = len(_CORE_CELLS)
_KEY_SPACE = CORE * CORE
_ORDERS = np.random.default_rng(20080623).permuted(np.tile(np.arange(CORE, dtype=np.int16), (2 * TABLES, 1)),
                                                   axis=1)
"""Fixed random orders of the core cells (the seed is the date of Decision 2008/615/JHA): two per table."""

DEFAULT_SHORTLIST = 300
DEFAULT_TRACE_SHORTLIST = 600
DEFAULT_FINALISTS = 60


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


def minhash_keys(encoded: Encoded, *, probe: bool = False) -> np.ndarray:
    """(cylinders, TABLES) MinHash keys; -1 where a cylinder has too few set cells to say anything.

    For a probe, cylinders whose valid area is mostly cut off (a trace's edge) get -1 as well.
    """
    bits = np.unpackbits(encoded.bits.view(np.uint8), axis=-1, bitorder="little")[:, _CORE_CELLS].astype(bool)
    n = bits.shape[0]
    if n == 0:
        return np.zeros((0, TABLES), np.int64)
    ranks = np.where(bits[:, None, :], _ORDERS[None, :, :], CORE)  # (n, 2T, CORE)
    first = ranks.min(axis=2).astype(np.int64)  # (n, 2T)
    keys = first[:, 0::2] * CORE + first[:, 1::2]
    empty = bits.sum(axis=1) < 3
    if probe:
        mask = np.unpackbits(encoded.mask.view(np.uint8), axis=-1, bitorder="little")[:, _CORE_CELLS]
        empty |= mask.sum(axis=1) < 0.5 * matching._IN_RADIUS_CELLS
    keys[empty] = -1
    keys[(first[:, 0::2] >= CORE) | (first[:, 1::2] >= CORE)] = -1
    return keys


class _Grow:
    """A numpy array that grows along its first axis (capacity doubles)."""

    def __init__(self, dtype: object, tail: tuple[int, ...] = ()) -> None:
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
                 finalists: int = DEFAULT_FINALISTS) -> None:
        self.shortlist = shortlist
        self.trace_shortlist = trace_shortlist
        self.finalists = finalists
        self._lock = threading.RLock()
        self._slot: dict[str, int] = {}
        self._references: list[str] = []
        self._alive = _Grow(bool)
        self._meta = _Grow(np.int32, (5,))  # kind (0 person, 1 trace), finger, width, height, ppi
        self._span = _Grow(np.int64, (2,))  # first minutia, count
        self._raw = _Grow(np.int16, (5,))  # x, y, angle, type, quality
        self._bits = _Grow(np.uint64, (WORDS,))
        self._keys = _Grow(np.int64, (TABLES,))  # per cylinder
        self._owner = _Grow(np.int32)  # per cylinder: its template slot
        self._indexed = 0  # cylinders in the CSR index
        self._offsets: np.ndarray | None = None  # (TABLES, KEY_SPACE + 1)
        self._postings: np.ndarray | None = None  # (TABLES, indexed) template slots sorted by key
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
                raise Duplicate(f"reference {template.reference!r} is already in the file")
            seen.add(template.reference)
        encoded = [matching.encode(t) for t in batch]
        keys = [minhash_keys(e) for e in encoded]
        with self._lock:
            for template in batch:
                if template.reference in self._slot:
                    raise Duplicate(f"reference {template.reference!r} is already in the file")
            for template, enc, key in zip(batch, encoded, keys):
                slot = len(self._references)
                self._references.append(template.reference)
                self._slot[template.reference] = slot
                self._alive.extend(np.array([True]))
                self._meta.extend(np.array([[int(template.is_trace), template.finger_position, template.width,
                                             template.height, template.resolution_ppi]], np.int32))
                start, _ = self._raw.extend(np.array([tuple(m) for m in template.minutiae], np.int16))
                self._span.extend(np.array([[start, len(template.minutiae)]], np.int64))
                self._bits.extend(enc.bits)
                self._keys.extend(key)
                self._owner.extend(np.full(len(key), slot, np.int32))
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
                raise UnknownReference(f"no template with reference {reference!r} in the file")
            return self._template(slot)

    def _template(self, slot: int) -> Template:
        kind, finger, width, height, ppi = (int(v) for v in self._meta.data[slot])
        start, count = (int(v) for v in self._span.data[slot])
        rows = self._raw.data[start:start + count].tolist()
        minutiae = tuple(Minutia(x, y, a, MinutiaType(t), q) for x, y, a, t, q in rows)
        return Template(self._references[slot], TemplateKind.UNIDENTIFIED_TRACE if kind else
                        TemplateKind.IDENTIFIED_PERSON, finger, width, height, ppi, minutiae)

    def stats(self) -> GalleryStats:
        with self._lock:
            alive = self._alive.view
            traces = int((self._meta.view[:, 0][alive] == 1).sum())
            minutiae = int(self._span.view[:, 1][alive].sum())
            return GalleryStats(len(self._slot), len(self._slot) - traces, traces, minutiae, self.memory_bytes())

    def memory_bytes(self) -> int:
        """Bytes the file holds in numpy arrays (raw minutiae, cylinders, index) plus its reference numbers."""
        arrays = [g.view for g in (self._alive, self._meta, self._span, self._raw, self._bits, self._owner)]
        total = sum(a.nbytes for a in arrays)
        total += self._keys.view.nbytes if self._postings is None else 0
        if self._postings is not None and self._offsets is not None:
            total += self._postings.nbytes + self._offsets.nbytes
        total += sum(len(r) + 49 + 8 for r in self._references)  # str objects and list slots
        total += len(self._slot) * 100  # dict entries (approximate)
        return total

    # -- index ---------------------------------------------------------------------------------

    def _compact(self) -> None:
        """Drop removed templates from every array and rebuild the index."""
        alive_slots = np.flatnonzero(self._alive.view)
        templates = [self._template(int(s)) for s in alive_slots]
        fresh = Gallery(shortlist=self.shortlist, trace_shortlist=self.trace_shortlist, finalists=self.finalists)
        if templates:
            fresh.add_many(templates)
        self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_lock"})

    def build_index(self) -> None:
        """Index every cylinder added so far (searches do it themselves when many are pending)."""
        with self._lock:
            keys, owner = self._keys.view, self._owner.view
            total = len(owner)
            offsets = np.zeros((TABLES, _KEY_SPACE + 1), np.int64)
            postings = np.zeros((TABLES, total), np.int32)
            for table in range(TABLES):
                column = keys[:, table]
                usable = np.flatnonzero(column >= 0)
                order = usable[np.argsort(column[usable], kind="stable")]
                counts = np.bincount(column[usable], minlength=_KEY_SPACE)
                offsets[table, 1:] = np.cumsum(counts)
                postings[table, :len(order)] = owner[order]
            self._offsets, self._postings, self._indexed = offsets, postings, total

    def _votes(self, keys: np.ndarray) -> np.ndarray:
        """Weighted votes of the probe's keys for every template slot."""
        slots = len(self._references)
        votes = np.zeros(slots, np.float64)
        if self._offsets is not None and self._postings is not None:
            for table in range(TABLES):
                probe_keys = keys[:, table]
                probe_keys = probe_keys[probe_keys >= 0]
                if probe_keys.size == 0:
                    continue
                starts = self._offsets[table, probe_keys]
                lengths = self._offsets[table, probe_keys + 1] - starts
                total = int(lengths.sum())
                if total == 0:
                    continue
                base = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
                hit = self._postings[table, base + np.arange(total)]
                weight = np.repeat(1.0 / np.log2(2.0 + lengths), lengths)
                votes += np.bincount(hit, weights=weight, minlength=slots)
        pending = self._keys.view[self._indexed:]
        if len(pending):
            owners = self._owner.view[self._indexed:]
            for table in range(TABLES):
                probe_keys = keys[:, table]
                probe_keys = probe_keys[probe_keys >= 0]
                hit = np.isin(pending[:, table], probe_keys)
                votes += np.bincount(owners[hit], minlength=slots) * 0.5
        return votes

    # -- search --------------------------------------------------------------------------------

    def _batch(self, slots: np.ndarray) -> Batch:
        """Candidates' cylinders and minutiae gathered from the flat arrays (vectorised)."""
        spans = self._span.data[slots]
        starts, counts = spans[:, 0], spans[:, 1]
        m = int(counts.max()) if len(counts) else 1
        k = len(slots)
        index = starts[:, None] + np.arange(m)[None, :]
        present = np.arange(m)[None, :] < counts[:, None]
        index = np.where(present, index, 0)
        raw = self._raw.data[index]  # (k, m, 5)
        ppi = self._meta.data[slots, 4].astype(np.float32)[:, None]
        scale = matching.BASE_PPI / ppi
        xy = np.stack([raw[..., 0] * scale, -raw[..., 1] * scale], axis=-1).astype(np.float32)
        xy[~present] = 1e6
        theta = np.radians(raw[..., 2]).astype(np.float32)
        bits = self._bits.data[index]
        bits[~present] = 0
        kinds = np.where(present, raw[..., 3], 0).astype(np.int8)
        return Batch(xy, theta, bits, np.zeros((k, m, WORDS), np.uint64), kinds, counts.astype(np.int64))

    def search(self, probe: Template, max_candidates: int = 10, *, min_score: float = 0.0) -> list[Candidate]:
        """The candidate list of a 1:N search (Art 9, FP-2): at most `max_candidates`, best first.

        The probe is only read (PUR-2). InvalidInput for an invalid probe or max_candidates < 1.
        """
        probe = validate_template(probe)
        if isinstance(max_candidates, bool) or not isinstance(max_candidates, int) or max_candidates < 1:
            raise InvalidInput(f"{max_candidates!r} is not a candidate count; allowed: an integer >= 1",
                               field="max_candidates")
        encoded = matching.encode(probe)
        keys = minhash_keys(encoded, probe=True)
        with self._lock:
            if not self._slot:
                return []
            pending = len(self._owner.view) - self._indexed
            if self._offsets is None or pending > max(20_000, self._indexed // 4):
                self.build_index()
            votes = self._votes(keys)
            sizes = self._span.data[:len(votes), 1].astype(np.float64)
            votes = votes / np.sqrt(np.maximum(sizes, 1.0))
            votes[~self._alive.view] = -1.0
            shortlist = min(self.trace_shortlist if probe.is_trace else self.shortlist, len(self._slot))
            slots = np.argpartition(-votes, shortlist - 1)[:shortlist]
            slots = slots[votes[slots] >= 0]
            batch = self._batch(slots)
            scores = matching.score_batch(encoded, batch, keep=min(self.finalists, len(slots)))
            order = np.argsort(-scores, kind="stable")[:max_candidates]
            return [Candidate(self._references[int(slots[i])], round(float(scores[i]), 2)) for i in order
                    if scores[i] > min_score]
