"""The production DNA index: exact like `LocusPairIndex`, but selective and compact at national scale.

Why not pairs alone. With European allele frequencies a locus genotype is shared by ~6 % of
profiles, a pair of loci by ~0.4 %; a 16-locus query has 18 within-group pairs, so the pair index
returns ~6 % of the file as candidates (60 000 at 1M profiles) however rare the hits are. Keys over
more loci are far more selective, and the pigeonhole argument can be made for them too.

Keys. The comparable loci are partitioned twice: into 3 big `BLOCKS` (5-6 loci of a common kit
each) and into the 5 `LOCUS_GROUPS` of the pair index. A stored profile gets one key per block
(per partition) in which it has a fully designated locus: a 64-bit hash of (partition, block, the
set of its fully designated loci there, their exact genotypes). So a 16-locus profile has 3 + 5 = 8
keys, and a key matches only profiles with the same designated loci in the block and the same
genotypes: ~1 in 10^6 for a full big block.

Why no hit is lost. Let S be the loci fully designated in both the query and a stored profile D.
A hit (DNA-8, DNA-9) has at most one differing allele, so every locus of S counts except at most
one, x; and it has at least 6 counting loci, so |S| >= 6, and |S| >= 7 if x is in S. Call a block b
of D *clean* for the query when every designated locus of D in b is designated in the query; then
the stored key of b is among the query's keys for b (the query expands each allele into the DNA-7
neighbours that exist in the file, as the pair index does) unless x lies in b. Hence:
- two clean blocks: x spoils at most one, the other finds D (the plan takes them from whichever
  partition has enough, exact keys only, before enumerating anything: such keys are shared by many
  sets);
- a block with exactly one locus y missing from the query: the query enumerates every genotype the
  file holds at y, so the block finds D unless x is in it ("enumerated"); a set without two clean
  blocks in one partition takes the partition whose cheapest such blocks cost least (a block already
  enumerated for another set costs nothing more; else its keys and the entries they find, by the
  cost model of `kernels`);
- one clean block only, |S| >= 7: the query enumerates each locus of the block in turn (it may be
  x): "leave one out"; with |S| = 6, x cannot be in S and the one block suffices;
- two blocks of different partitions may serve as well when they share no locus of S (x spoils
  at most one), and a block may have two loci missing from the query, both enumerated: the compiled
  plan weighs these for big sets (`kernels.BIG_SET` rows or more) that have no usual plan, against
  leaving one out and against checking the set ("pairs");
- nothing usable in either partition: the stored profiles with that designated-locus set are
  checked one by one ("scan"; only for queries that share few loci with them).
- listed sets (`LISTED_SHARE`: fewer rows than 1 % of the file; the stored traces' thousands of
  drop-out patterns): a query missing at least `LISTED_MISSING` of the common loci plans no keys for
  them but reads all their rows in order, each through a 64-bit wide signature (4 bits a common-kit
  locus: 0 not designated, else one of 15 codes of its genotype), and checks by the rules the rows
  that can hit: at most one locus designated with a code the query does not allow, and enough loci
  that can count (the argument of the row signatures below, with 15 codes instead of 3). A thin query
  (at most `kernels.THIN_MISSES` usable loci beyond the 6 a hit needs) reads them as bit planes, 64
  rows a word, counting per row the loci that miss and that fail (`kernels.scan_planes`); a fuller one
  tests each signature, a vectorised first test per 512 rows (`kernels.scan_listed`). Rows added since
  the list was made are checked directly.
The plan is made per designated-locus set of the file (the file keeps their registry, a few
thousand sets for kits with drop-out), so every stored profile is covered by one of these cases;
candidates are then checked by the exact rules (`encoding.check_rows`). A hash collision only adds a
candidate. The property tests check the result against `compare` over every profile.

Row signatures. Thin queries (traces of 7-11 loci, stains with drop-out) can only use keys over few
of their loci, which find thousands of entries; reading each entry's row (a random memory access)
was most of their time. So every entry also carries its row's 32-bit signature: 2 bits at
each of the 16 common-kit loci (`SIGNATURE_LOCI`), 0 where the row is not fully designated, else
1 + (genotype hash >> `kernels.SIGNATURE_SHIFT`) % 3. The probe drops an entry, without reading the
row, when two signature loci show a code that none of the query's matching genotypes there has (each
such locus has a differing allele: two differing alleles are no hit, DNA-9), or when the loci that
may count (signature loci showing a matching code, and the query's usable loci without a slot) are
fewer than 6 (DNA-8). A hit is never dropped: at its matching loci its genotype is one of the
query's, so its code is; its one differing allele, if any, fails one locus; a code collision only
lets a row through. `kernels.query_filter` / `passes` and the numpy `_query_filter` / `_passing` are
the same test. A query with every locus of the file skips it (its keys find few entries). With the
list below, a thin trace's time is mostly the keys and entries of the big sets (a few hundred keys,
thousands of entries) and the check of the rows that pass.

Why the list. Every distinct designated-locus set needs keys of its own (a key is over the set's
designated loci in a block), and a file whose stored traces have drop-out holds thousands of sets of a
few dozen rows each: planning and probing keys for them was most of a thin trace's time, and many of a
full query's keys. Reading their rows in order is far cheaper than a key (a random read of the
directory): a signature test a row, vectorised, or 64 rows a few dozen instructions (planes).
Measurements, before and after: BENCHMARKS.md.

Layout. Keys are stored as a bucket directory: `offsets` (uint32) per bucket of the low key bits
(about 8 entries a bucket, sorted by fingerprint within it, so a crowded bucket is searched by
halves), a 32-bit fingerprint (the rest of the key), the uint32 row and its 32-bit signature per
entry: 12 bytes an entry plus ~0.5 for the directory; with the encoded rows (`encoding.ProfileMatrix`,
2 bytes a locus), the set ids and the list of small sets (rows, wide signatures and their bit planes:
20 bytes a listed row). New profiles go to a small sorted delta (with their signatures), merged into
the directory when it grows; deleted rows are dead in the matrix and dropped at the next merge. A
snapshot from before the signatures is read by computing them from the rows.

Concurrency: not thread-safe by itself; `DnaFile` runs searches under a shared (reader) lock and
writes under the exclusive one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
from prum.services.dna import kernels
from prum.services.dna.encoding import (
    AMEL_INDEX,
    LOCUS_INDEX,
    N_LOCI,
    N_STR,
    WILD,
    EncodedQuery,
    ProfileMatrix,
    ScoreTables,
    check_rows,
    mask_loci,
    match_row,
    scan_rows,
    unseen_row,
)
from prum.services.dna.index import LOCUS_GROUPS
from prum.services.dna.loci import ESS_LOCI, KNOWN_LOCI, STR_LOCI
from prum.services.dna.matching import MATCH_CLASSES, Match, compare_normalised
from prum.services.dna.profile import MIN_DESIGNATED_LOCI, NormalisedProfile, normalize_profile

BLOCKS: tuple[tuple[str, ...], ...] = (
    ("SE33", "FGA", "D8S1179", "D10S1248", "D2S441", "TPOX", "D13S317", "PENTA_E", "F13B", "GABA"),
    ("D1S1656", "D18S51", "VWA", "TH01", "D16S539", "D19S433", "CSF1PO", "FES", "CD4"),
    ("D2S1338", "D12S391", "D21S11", "D3S1358", "D22S1045", "D5S818", "D7S820", "PENTA_D", "F13A1"),
)
"""3 big blocks over all comparable loci: the 16 loci of the common European kits split 5-6-5 and
the 12 ESS loci 4-4-4, balanced by how much each locus discriminates (match probability)."""

PARTITIONS: tuple[tuple[tuple[str, ...], ...], ...] = (BLOCKS, LOCUS_GROUPS)
"""The partitions keyed, most selective first."""

_LOCUS_POSITION = {locus: position for position, locus in enumerate(STR_LOCI)}
for _partition in PARTITIONS:
    if sorted(locus for block in _partition for locus in block) != sorted(STR_LOCI):
        raise RuntimeError("every partition must cover the comparable loci exactly once (index exactness)")
_BLOCK_BITS: tuple[tuple[int, ...], ...] = tuple(
    tuple(sum(1 << _LOCUS_POSITION[locus] for locus in block) for block in partition) for partition in PARTITIONS)
_BLOCK_OF = np.array([[next(b for b, block in enumerate(partition) if locus in block) for locus in STR_LOCI]
                      for partition in PARTITIONS], dtype=np.int64)
_SPEC_CAP = 1 << 14
"""Most keys one block may expand into for one query; beyond it the plan scans instead (exact)."""

# Random tables for the keys: fixed, so that keys saved in a snapshot stay valid. Values are 40-bit,
# so a key (a salt plus at most 10 locus hashes) stays below 2^44: exact in int64 and in float64,
# which lets numpy sum them with a BLAS matrix-vector product.
_RANDOM = np.random.Generator(np.random.PCG64(0x5052554D))
_HASH_LIMIT = 1 << 40
_LOW = _RANDOM.integers(0, _HASH_LIMIT, size=(N_LOCI, 512), dtype=np.int64)
_HIGH = _RANDOM.integers(0, _HASH_LIMIT, size=(N_LOCI, 512), dtype=np.int64)
_LOCUS_SALT = _RANDOM.integers(0, _HASH_LIMIT, size=N_LOCI, dtype=np.int64)
_BLOCK_SALT = _RANDOM.integers(0, _HASH_LIMIT, size=(len(PARTITIONS), 8), dtype=np.int64)
_STR_RANGE = np.arange(N_STR, dtype=np.int64)
_LOW_PY: list[list[int]] = _LOW.tolist()
_HIGH_PY: list[list[int]] = _HIGH.tolist()
_LOCUS_SALT_PY: list[int] = _LOCUS_SALT.tolist()
_MIN_BUCKET_BITS = 12  # keys < 2^44: above 12 bucket bits the rest fits a 32-bit fingerprint
_BUCKET_ENTRIES = 8
"""Entries per directory bucket on average (2 before the row signatures: their 4 bytes an entry are paid
for by a smaller bucket table; a bucket is sorted by fingerprint, so a crowded one is searched by halves)."""

SIGNATURE_LOCI: tuple[str, ...] = ESS_LOCI + ("D16S539", "D2S1338", "D19S433", "SE33")
"""The 16 loci of the common European kits: each key entry carries its row's 2-bit code at each of
them (`kernels.SIGNATURE_SHIFT`), 32 bits, so that the probe drops most rows that cannot hit without
reading them."""
_SIGNATURE_SLOT = np.full(N_STR, -1, dtype=np.int64)
for _slot, _locus in enumerate(SIGNATURE_LOCI):
    _SIGNATURE_SLOT[LOCUS_INDEX[_locus]] = _slot
_NOT_LISTED = np.zeros(0, dtype=np.bool_)
"""No set listed: plans that must cover every set themselves (full queries, `candidate_rows`)."""
_NO_ENTRIES = (np.zeros(0, np.int64), np.zeros(0, np.uint32), np.zeros(0, np.uint32))


def genotype_hash(locus: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Hash (< 2^40) of designated genotypes (codes low <= high) at a locus. A block key is its block
    salt plus these over the block's designated loci."""
    return _LOCUS_SALT[locus] + (_LOW[locus, low] ^ _HIGH[locus, high])


def genotype_hashes(locus: int, pairs: list[tuple[int, int]]) -> list[int]:
    """`genotype_hash` for a few (low, high) pairs, in plain ints."""
    salt, low, high = _LOCUS_SALT_PY[locus], _LOW_PY[locus], _HIGH_PY[locus]
    return [salt + (low[a] ^ high[b]) for a, b in pairs]


def _signature_codes(hashed: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The 2-bit signature code of genotypes by their `genotype_hash`: 0 where not fully designated
    (second allele code absent or a wildcard), else 1 + (hash >> kernels.SIGNATURE_SHIFT) % 3."""
    return np.where(second < 2, 0, 1 + (hashed >> kernels.SIGNATURE_SHIFT) % 3)


def _query_filter(designated: int, usable: int, hashes: Mapping[int, list[int]]) -> np.ndarray:
    """`kernels.query_filter` from a query's genotype hashes by locus (the numpy path's twin)."""
    out = [0, MIN_DESIGNATED_LOCI, 1, 0] + [0] * 8
    for locus in range(N_STR):
        if not designated >> locus & 1:
            continue
        slot = int(_SIGNATURE_SLOT[locus])
        allowed = 1
        if usable >> locus & 1:
            if slot < 0:
                out[0] += 1
                continue
            for value in hashes.get(locus, ()):
                allowed |= 1 << (1 + (value >> kernels.SIGNATURE_SHIFT) % 3)
        elif slot < 0:
            continue
        bit = 1 << (2 * slot)
        out[3] |= bit
        for code in range(4):
            if allowed >> code & 1:
                out[4 + code] |= bit
                if code:
                    out[8 + code] |= bit
    return np.array(out, dtype=np.int64)


def _passing(signatures: np.ndarray, qfilter: np.ndarray) -> np.ndarray:
    """`kernels.passes` for many signatures at once (bool per signature)."""
    signatures = signatures.astype(np.int64)
    low = signatures & 0x55555555
    high = (signatures >> 1) & 0x55555555
    fields = (~(low | high) & 0x55555555, low & ~high, high & ~low, low & high)  # holding 0, 1, 2, 3
    ok = np.zeros(len(signatures), dtype=np.int64)
    counted = np.zeros(len(signatures), dtype=np.int64)
    for code, holding in enumerate(fields):
        ok |= holding & qfilter[4 + code]
        counted |= holding & qfilter[8 + code]
    fails = np.bitwise_count(qfilter[3] & ~ok)
    return (fails < 2) & (qfilter[0] + np.bitwise_count(counted) >= qfilter[1])


def _bit_planes(wide: np.ndarray) -> np.ndarray:
    """The wide signatures as 64 bit planes (`kernels.scan_planes`): plane 4 * slot + bit, word w, bit i
    is that bit of the code at that slot of signature 64w + i."""
    words = (len(wide) + 63) // 64
    planes = np.zeros((64, words), dtype=np.int64)
    for plane in range(64):
        bits = ((wide >> plane) & 1).astype(np.uint8)
        packed = np.packbits(bits, bitorder="little")
        buffer = np.zeros(words * 8, dtype=np.uint8)
        buffer[:len(packed)] = packed
        planes[plane] = buffer.view("<i8")
    return planes


def _bits(masks: np.ndarray) -> np.ndarray:
    """(n, N_STR) float64 0/1 matrix of the loci in each mask."""
    return ((masks.astype(np.int64)[:, None] >> _STR_RANGE[None, :]) & 1).astype(np.float64)


@dataclass(slots=True)
class _Plan:
    """What a query probes. Exact specs: a block salt and the loci whose query genotypes are summed.
    Enumerated specs: the same, plus one locus whose every stored genotype is tried. Scan: ids of
    designated-locus sets whose rows are checked one by one. need: per set id, the fewest probed
    specs a row of that set must match to be a candidate (None: one)."""

    exact_salt: np.ndarray
    exact_bits: np.ndarray
    enum_salt: np.ndarray
    enum_bits: np.ndarray
    enum_locus: np.ndarray
    scan: np.ndarray
    need: np.ndarray | None


_BLOCK_LEVEL = np.array([level for level, partition in enumerate(PARTITIONS) for _ in partition], dtype=np.int64)


@dataclass(slots=True)
class _Registry:
    """The distinct designated-locus sets (masks) of the stored rows, by id, and per partition block
    their distinct restrictions to the block ("block values"). For the kernels the block values of
    all blocks are numbered together: value_ids (sets x blocks), value_mask, value_salt."""

    masks: np.ndarray
    union: int
    block_values: list[list[np.ndarray]]
    block_index: list[list[np.ndarray]]
    value_ids: np.ndarray
    value_mask: np.ndarray
    value_salt: np.ndarray
    masks64: np.ndarray
    set_count: np.ndarray
    full: _Plan | None = None
    full_fast: tuple[np.ndarray, ...] | None = None
    value_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Stored rows per block value (over every set that has it)."""
    sets: tuple = ()
    """The above as the kernels take them: a `kernels.Sets`, as a plain tuple."""
    plans: dict[int, tuple[np.ndarray, ...]] = field(default_factory=dict)
    """Compiled plans of queries with missing loci, by their usable-loci mask (bounded)."""


class _Specs:
    """Collects (salt, mask[, locus]) specs per partition block, vectorised."""

    def __init__(self) -> None:
        self.salt: list[np.ndarray] = []
        self.mask: list[np.ndarray] = []
        self.locus: list[np.ndarray] = []

    def add(self, level: int, block: int, masks: np.ndarray, loci: np.ndarray | None = None) -> None:
        if len(masks):
            self.salt.append(np.full(len(masks), _BLOCK_SALT[level, block], dtype=np.int64))
            self.mask.append(masks.astype(np.uint32))
            if loci is not None:
                self.locus.append(loci.astype(np.int64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.salt:
            return np.zeros(0, np.int64), np.zeros((0, N_STR), np.float64), np.zeros(0, np.int64)
        masks = np.concatenate(self.mask)
        loci = np.concatenate(self.locus) if self.locus else np.zeros(len(masks), np.int64)
        if self.locus:  # the enumerated locus is not summed from the query
            masks = masks & ~(np.uint32(1) << loci.astype(np.uint32))
        return np.concatenate(self.salt), _bits(masks), loci


class BlockIndex:
    """Stored profiles by row with the block keys that find them; same contract as `LocusPairIndex`.

    Rows are numbered by the owner: non-negative ints below 2^32, each used once while stored.
    """

    DELTA_LIMIT = 1 << 15
    """New key entries kept in the sorted delta before a merge into the directory (or 1/8 of it)."""
    PLAN_CACHE = 1024
    """Plans kept for queries with missing loci, by usable-loci mask (a plan costs ~50 µs at 1M profiles;
    drop-out patterns recur). Cleared when full, and with the registry when the designated sets change."""
    LISTED_SHARE = 0.01
    """A designated-locus set with fewer rows than this share of the file is "listed": its rows and their
    64-bit wide signatures (`kernels.WIDE_SHIFT`) are kept in one list, which a query with missing loci
    reads in order (about a nanosecond a row) instead of planning keys for each such set. Stored traces
    with drop-out make thousands of small sets, each needing keys of its own: without the list they
    doubled a full query's keys and made most of a thin trace's."""
    LISTED_MISSING = 2
    """A query reads the list when it lacks at least this many of the loci most stored rows have (with
    one missing, planning keys for the small sets costs less: measured at 1M profiles)."""
    SMALL_SET = 0
    """A designated-locus set with at most this many rows is checked row by row rather than through
    enumerated keys (compiled path). Off: measured at 1M profiles, checking the many small sets of
    traces with drop-out costs more than the enumerations they share."""

    def __init__(self, matrix: ProfileMatrix | None = None) -> None:
        self.matrix = matrix or ProfileMatrix()
        self._bucket_bits = 0
        self._offsets = np.zeros(2, dtype=np.uint32)
        self._fingerprints = np.zeros(0, dtype=np.uint32)
        self._rows = np.zeros(0, dtype=np.uint32)
        self._signatures = np.zeros(0, dtype=np.uint32)
        self._delta_keys = np.zeros(0, dtype=np.int64)
        self._delta_rows = np.zeros(0, dtype=np.uint32)
        self._delta_signatures = np.zeros(0, dtype=np.uint32)
        self._dead = 0
        self._mask_id: dict[int, int] = {}
        self._row_mask = np.zeros(0, dtype=np.uint32)
        self._registry: _Registry | None = None
        self._set_bounds = np.zeros((2, 0), dtype=np.int64)
        self._set_rows = np.zeros(0, dtype=np.uint32)
        self._recent: list[int] = []
        self._recent_rows: np.ndarray | None = None
        self._listed = np.zeros(0, dtype=np.bool_)
        self._listed_wide = np.zeros(0, dtype=np.int64)
        self._listed_planes = np.zeros((64, 0), dtype=np.int64)
        self._common = 0
        self.compiled = kernels.AVAILABLE
        """Use the compiled kernels (when numba is installed); False: the numpy path (same results)."""
        if self.matrix.count:
            self.rebuild()

    # -- size ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.matrix.count

    def __contains__(self, row: object) -> bool:
        matrix = self.matrix
        return isinstance(row, (int, np.integer)) and bool(0 <= row < matrix.size) and bool(matrix.live[row])

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self.matrix.live[:self.matrix.size]).tolist())

    @property
    def key_count(self) -> int:
        """Key entries held: one per block (of each partition) where a stored row has a designated locus."""
        return len(self._rows) + len(self._delta_rows)

    @property
    def designated_sets(self) -> int:
        """Distinct sets of fully designated loci among the stored rows (the planner's registry)."""
        return len(self._mask_id)

    def nbytes(self) -> dict[str, int]:
        """Bytes held, by part: "profiles" (encoded rows, their masks and live flags, at allocated
        capacity), "keys" (bucket offsets, fingerprints, rows and row signatures of the entries, delta)
        and "sets" (the designated-set id of each row, and the rows listed by set)."""
        return {
            "profiles": self.matrix.nbytes(),
            "keys": (self._offsets.nbytes + self._fingerprints.nbytes + self._rows.nbytes + self._signatures.nbytes
                     + self._delta_keys.nbytes + self._delta_rows.nbytes + self._delta_signatures.nbytes),
            "sets": (self._row_mask.nbytes + self._set_rows.nbytes + self._set_bounds.nbytes
                     + self._listed_wide.nbytes + self._listed_planes.nbytes),
        }

    # -- writing ---------------------------------------------------------------------------------

    def add(self, row: int, profile: Mapping[str, object]) -> None:
        """Index a profile under a row number not yet used."""
        self.add_many([(row, profile)])

    def add_many(self, items: Iterable[tuple[int, Mapping[str, object]]]) -> None:
        pairs = [(int(row), normalize_profile(profile)) for row, profile in items]
        if not pairs:
            return
        rows = [row for row, _ in pairs]
        for row in rows:
            if row in self or row < 0 or row >= 1 << 32:
                raise KeyError(f"row {row} is already indexed or out of range")
        self.matrix.put_many(rows, [profile for _, profile in pairs])
        self.add_encoded(np.asarray(rows, dtype=np.int64))

    def add_encoded(self, rows: np.ndarray) -> None:
        """Index rows just written into the matrix (by `add_many`, or by a bulk `put_columns`)."""
        rows = np.asarray(rows, dtype=np.int64)
        self._register(rows)
        sets = self._row_mask[rows]
        listed = sets < len(self._listed)
        listed[listed] = self._listed[sets[listed]]
        self._recent.extend(rows[listed].tolist())  # the rows the listed sets' scans must check directly
        self._recent_rows = None
        keys, owners, signatures = self._row_keys(rows)
        if not len(self._rows) or len(self._delta_keys) + len(keys) > max(self.DELTA_LIMIT, len(self._rows) // 8):
            self._merge(keys, owners, signatures)
            return
        merged = np.concatenate([self._delta_keys, keys])
        order = np.argsort(merged, kind="stable")
        self._delta_keys = merged[order]
        self._delta_rows = np.concatenate([self._delta_rows, owners])[order]
        self._delta_signatures = np.concatenate([self._delta_signatures, signatures])[order]

    def remove(self, row: int) -> NormalisedProfile:
        """Drop a row; returns its profile. KeyError if absent. Its keys stay until the next merge,
        but a dead row is never a candidate."""
        if row not in self:
            raise KeyError(f"row {row} is not indexed")
        profile = self.matrix.profile(row)
        self.matrix.remove(row)
        self._dead += 1
        if not self.matrix.count or self._dead > max(1 << 16, len(self._rows) // 4):
            self._merge(*_NO_ENTRIES)
        return profile

    def rebuild(self) -> None:
        """Recompute every key from the matrix (after a bulk load)."""
        matrix = self.matrix
        live = np.flatnonzero(matrix.live[:matrix.size])
        self._mask_id = {}
        self._row_mask = np.zeros(matrix.capacity, dtype=np.uint32)
        self._registry = None
        self._register(live)
        entries = self._row_keys(live)
        self._fingerprints = np.zeros(0, dtype=np.uint32)
        self._rows = np.zeros(0, dtype=np.uint32)
        self._signatures = np.zeros(0, dtype=np.uint32)
        self._delta_keys = np.zeros(0, dtype=np.int64)
        self._delta_rows = np.zeros(0, dtype=np.uint32)
        self._delta_signatures = np.zeros(0, dtype=np.uint32)
        self._merge(*entries)

    def _register(self, rows: np.ndarray) -> None:
        matrix = self.matrix
        if len(self._row_mask) < matrix.capacity:
            grown = np.zeros(matrix.capacity, dtype=np.uint32)
            grown[:len(self._row_mask)] = self._row_mask
            self._row_mask = grown
        if not len(rows):
            return
        distinct, inverse = np.unique(matrix.masks[rows], return_inverse=True)
        ids = np.empty(len(distinct), dtype=np.uint32)
        for position, mask in enumerate(distinct.tolist()):
            found = self._mask_id.get(mask)
            if found is None:
                found = self._mask_id[mask] = len(self._mask_id)
                self._registry = None
            ids[position] = found
        self._row_mask[rows] = ids[inverse]

    def _row_keys(self, rows: np.ndarray, chunk: int = 1 << 18) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key, row, row signature) for each block, of each partition, where a given row has a designated
        locus."""
        keys: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        signed: list[np.ndarray] = []
        matrix = self.matrix
        columns = [(position, locus) for position, locus in enumerate(matrix.columns) if locus < N_STR]
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            codes = matrix.codes[part]
            masks = matrix.masks[part]
            sums = [[np.zeros(len(part), dtype=np.int64) for _ in partition] for partition in PARTITIONS]
            signature = np.zeros(len(part), dtype=np.int64)
            for position, locus in columns:
                c1 = codes[:, 2 * position].astype(np.int64)
                c2 = codes[:, 2 * position + 1].astype(np.int64)
                hashed = genotype_hash(locus, np.minimum(c1, c2), np.maximum(c1, c2))
                hashed[c2 < 2] = 0  # absent or a wildcard: not designated, in no key
                for level in range(len(PARTITIONS)):
                    sums[level][_BLOCK_OF[level, locus]] += hashed
                if _SIGNATURE_SLOT[locus] >= 0:
                    signature |= _signature_codes(hashed, c2) << (2 * int(_SIGNATURE_SLOT[locus]))
            signature = signature.astype(np.uint32)
            for level, partition in enumerate(PARTITIONS):
                for block in range(len(partition)):
                    nonempty = (masks & np.uint32(_BLOCK_BITS[level][block])) != 0
                    keys.append(sums[level][block][nonempty] + _BLOCK_SALT[level, block])
                    owners.append(part[nonempty].astype(np.uint32))
                    signed.append(signature[nonempty])
        if not keys:
            return _NO_ENTRIES
        return np.concatenate(keys), np.concatenate(owners), np.concatenate(signed)

    def _slot_hashes(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """Per `SIGNATURE_LOCI` slot, the given rows' genotype hashes there and their second allele codes
        (below 2: absent or a wildcard, not fully designated)."""
        matrix = self.matrix
        codes = matrix.codes[rows]
        for position, locus in enumerate(matrix.columns):
            if locus < N_STR and _SIGNATURE_SLOT[locus] >= 0:
                c1 = codes[:, 2 * position].astype(np.int64)
                c2 = codes[:, 2 * position + 1].astype(np.int64)
                yield int(_SIGNATURE_SLOT[locus]), genotype_hash(locus, np.minimum(c1, c2), np.maximum(c1, c2)), c2

    def _row_signatures(self, rows: np.ndarray) -> np.ndarray:
        """The 32-bit signature of each given row (2 bits per `SIGNATURE_LOCI` locus, 0 where it is not
        fully designated)."""
        signature = np.zeros(len(rows), dtype=np.int64)
        for slot, hashed, second in self._slot_hashes(rows):
            signature |= _signature_codes(hashed, second) << (2 * slot)
        return signature.astype(np.uint32)

    def _wide_signatures(self, rows: np.ndarray) -> np.ndarray:
        """The 64-bit wide signature of each given row: 4 bits per `SIGNATURE_LOCI` locus, 0 where it is
        not fully designated, else 1 + (genotype hash >> kernels.WIDE_SHIFT) % 15."""
        signature = np.zeros(len(rows), dtype=np.uint64)
        for slot, hashed, second in self._slot_hashes(rows):
            code = np.where(second < 2, 0, 1 + (hashed >> kernels.WIDE_SHIFT) % 15).astype(np.uint64)
            signature |= code << np.uint64(4 * slot)
        return signature.view(np.int64)

    def _merge(self, keys: np.ndarray, owners: np.ndarray, signatures: np.ndarray) -> None:
        """One directory from the live entries of the old one, the delta and new (key, row, signature)
        entries.

        The bucket of a key is its low bits, its fingerprint the rest (keys are below 2^44), so an old
        entry's key is (fingerprint << bits | bucket) and the directory can be rebuilt at any size."""
        old_bits = self._bucket_bits
        parts = [self._delta_keys, keys]
        rows = [self._delta_rows, owners]
        signed = [self._delta_signatures, signatures]
        if len(self._rows):
            buckets = np.repeat(np.arange(len(self._offsets) - 1, dtype=np.int64), np.diff(self._offsets))
            parts.insert(0, (self._fingerprints.astype(np.int64) << old_bits) | buckets)
            rows.insert(0, self._rows)
            signed.insert(0, self._signatures)
        all_keys = np.concatenate(parts)
        all_rows = np.concatenate(rows)
        all_signatures = np.concatenate(signed)
        live = self.matrix.live[all_rows]
        all_keys, all_rows, all_signatures = all_keys[live], all_rows[live], all_signatures[live]
        bits = max(_MIN_BUCKET_BITS, min(30, int(np.ceil(np.log2(len(all_keys) / _BUCKET_ENTRIES + 1)))))
        bucket = all_keys & ((1 << bits) - 1)
        order = np.argsort((bucket << 32) | (all_keys >> bits), kind="stable")  # by bucket, then fingerprint
        all_keys, all_rows, bucket = all_keys[order], all_rows[order], bucket[order]
        all_signatures = all_signatures[order]
        offsets = np.zeros((1 << bits) + 1, dtype=np.uint32)
        np.cumsum(np.bincount(bucket, minlength=1 << bits), out=offsets[1:])
        self._offsets = offsets
        self._fingerprints = (all_keys >> bits).astype(np.uint32)
        self._rows = all_rows.astype(np.uint32)
        self._signatures = all_signatures.astype(np.uint32)
        self._bucket_bits = bits
        self._delta_keys = np.zeros(0, dtype=np.int64)
        self._delta_rows = np.zeros(0, dtype=np.uint32)
        self._delta_signatures = np.zeros(0, dtype=np.uint32)
        self._dead = 0
        self._list_sets()

    def _set_masks(self) -> np.ndarray:
        """The designated-locus mask of each set, by set id (uint32)."""
        masks = np.zeros(len(self._mask_id), dtype=np.uint32)
        for mask, position in self._mask_id.items():
            masks[position] = mask
        return masks

    def _list_sets(self) -> None:
        """The rows of the small sets (`LISTED_SHARE`) by set, with their wide signatures (`_set_bounds`:
        start and stop per set id, -1 for a set not listed), for the list a thin query reads and the
        row-by-row checks of the plan."""
        matrix = self.matrix
        live = np.flatnonzero(matrix.live[:matrix.size])
        sets = self._row_mask[live]
        counts = np.bincount(sets, minlength=len(self._mask_id))
        self._listed = counts < max(2, self.LISTED_SHARE * len(live))
        kept = self._listed[sets]
        order = np.argsort(sets[kept], kind="stable")
        self._set_rows = live[kept][order].astype(np.uint32)
        listed_counts = np.where(self._listed, counts, 0)
        bounds = np.full((2, len(counts)), -1, dtype=np.int64)
        bounds[1] = np.cumsum(listed_counts)
        bounds[0] = np.where(self._listed, bounds[1] - listed_counts, -1)
        self._set_bounds = bounds
        self._recent = []
        self._recent_rows = None
        self._listed_wide = self._wide_signatures(self._set_rows.astype(np.int64))
        self._listed_planes = _bit_planes(self._listed_wide)
        masks = self._set_masks().astype(np.int64)
        rows_with = ((masks[:, None] >> _STR_RANGE[None, :]) & 1).T @ counts  # rows designated, per locus
        self._common = int(np.sum(1 << _STR_RANGE[2 * rows_with >= max(1, len(live))]))
        if self._registry is not None:
            self._registry.plans.clear()  # made for the sets listed before

    def state(self) -> dict[str, np.ndarray]:
        """The directory and registry as arrays (with `ProfileMatrix.state`, a snapshot)."""
        if len(self._delta_keys) or self._dead:
            self._merge(*_NO_ENTRIES)
        masks = self._set_masks()
        return {"offsets": self._offsets, "fingerprints": self._fingerprints, "rows": self._rows,
                "signatures": self._signatures, "bucket_bits": np.array([self._bucket_bits]), "set_masks": masks,
                "row_sets": self._row_mask[:self.matrix.size]}

    @classmethod
    def from_state(cls, matrix: ProfileMatrix, state: Mapping[str, np.ndarray]) -> BlockIndex:
        index = cls()
        index.matrix = matrix
        index._offsets = state["offsets"]
        index._fingerprints = state["fingerprints"]
        index._rows = state["rows"]
        if "signatures" in state:
            index._signatures = state["signatures"]
        else:  # a snapshot from before the signatures: the signature of every entry's row
            live = np.flatnonzero(matrix.live[:matrix.size])
            signatures = np.zeros(matrix.size, dtype=np.uint32)
            signatures[live] = index._row_signatures(live)
            index._signatures = signatures[index._rows]
            buckets = np.repeat(np.arange(len(index._offsets) - 1, dtype=np.int64), np.diff(index._offsets))
            order = np.argsort((buckets << 32) | index._fingerprints.astype(np.int64), kind="stable")
            index._fingerprints = index._fingerprints[order]  # and by fingerprint within a bucket, as now
            index._rows = index._rows[order]
            index._signatures = index._signatures[order]
        index._bucket_bits = int(state["bucket_bits"][0])
        index._mask_id = {int(mask): position for position, mask in enumerate(state["set_masks"].tolist())}
        index._row_mask = np.zeros(matrix.capacity, dtype=np.uint32)
        index._row_mask[:len(state["row_sets"])] = state["row_sets"]
        index._list_sets()
        return index

    # -- reading ---------------------------------------------------------------------------------

    def profile(self, row: int) -> NormalisedProfile:
        if row not in self:
            raise KeyError(f"row {row} is not indexed")
        return self.matrix.profile(row)

    @property
    def profiles(self) -> Mapping[int, NormalisedProfile]:
        """Read-only view: row -> stored profile (decoded on access)."""
        return _Profiles(self)

    def encode(self, query: Mapping[str, object]) -> EncodedQuery:
        """The query against this index's codes (adds nothing to them: PUR-2)."""
        return self.matrix.encode_query(normalize_profile(query))

    def search(self, query: Mapping[str, object] | EncodedQuery) -> list[tuple[int, Match]]:
        """Every (row, match) that `compare` gives for the query, by ascending row."""
        compiled = kernels.AVAILABLE and self.compiled
        if isinstance(query, EncodedQuery):
            encoded = query
        else:
            profile = normalize_profile(query)
            if compiled:
                return self._search_codes(profile)
            encoded = self.matrix.encode_query(profile)
        if compiled:
            return self._search_compiled(encoded)
        return check_rows(self.matrix, encoded, self.candidate_rows(encoded))

    def candidates(self, query: Mapping[str, object] | EncodedQuery) -> set[int]:
        """Rows the index checks for the query: a superset of its hits."""
        encoded = query if isinstance(query, EncodedQuery) else self.encode(query)
        return set(self.candidate_rows(encoded).tolist())

    def scan(self, query: Mapping[str, object]) -> list[tuple[int, Match]]:
        """The brute-force reference: `compare` against every row, by ascending row."""
        normalised = normalize_profile(query)
        return [(row, match) for row in self
                if (match := compare_normalised(normalised, self.matrix.profile(row))) is not None]

    def scan_numpy(self, query: Mapping[str, object] | EncodedQuery) -> list[tuple[int, Match]]:
        """A plain numpy scan of every encoded row (the benchmark's baseline), same result as `search`."""
        encoded = query if isinstance(query, EncodedQuery) else self.encode(query)
        return scan_rows(self.matrix, encoded)

    def explain(self, query: Mapping[str, object] | EncodedQuery) -> dict[str, int]:
        """How the index answers a query (for tests and the benchmark): specs probed exactly and by
        enumeration, keys probed, designated-locus sets and rows checked one by one (scan), candidates."""
        encoded = query if isinstance(query, EncodedQuery) else self.encode(query)
        if not self.matrix.count or not encoded.loci:
            return {"exact_specs": 0, "enumerated_specs": 0, "keys": 0, "scanned_sets": 0, "scanned_rows": 0,
                    "candidates": 0}
        usable = encoded.designated & ~sum(1 << locus for locus, found in encoded.genotypes.items() if not found)
        plan = self._plan(self._registry_now(), usable)
        hashes = {locus: genotype_hashes(locus, found) for locus, found in encoded.genotypes.items() if found}
        keys = self._keys(plan, hashes)
        scanned = int(np.isin(self._row_mask[:self.matrix.size][self.matrix.live[:self.matrix.size]],
                              plan.scan).sum()) if len(plan.scan) else 0
        return {"exact_specs": len(plan.exact_salt), "enumerated_specs": len(plan.enum_salt),
                "keys": -1 if keys is None else len(keys), "scanned_sets": len(plan.scan), "scanned_rows": scanned,
                "candidates": len(self.candidate_rows(encoded))}

    def candidate_rows(self, query: EncodedQuery) -> np.ndarray:
        """Sorted live rows the plan for this query reaches (see the module doc)."""
        matrix = self.matrix
        if not matrix.count or not query.loci:
            return np.zeros(0, dtype=np.int64)
        usable = query.designated
        hashes: dict[int, list[int]] = {}
        for locus, genotypes in query.genotypes.items():
            if genotypes:
                hashes[locus] = genotype_hashes(locus, genotypes)
            else:
                usable &= ~(1 << locus)  # no stored genotype matches it without a difference: never counts
        registry = self._registry_now()
        if kernels.AVAILABLE and self.compiled:
            return self._candidate_rows_compiled(registry, query.designated, usable, hashes)
        plan = self._plan(registry, usable)
        keys = self._keys(plan, hashes)
        if keys is None:  # one block expands into too many keys: check every row (exact, slow, rare)
            return np.flatnonzero(matrix.live[:matrix.size])
        found = self._probe(keys, _query_filter(query.designated, usable, hashes))
        if len(found) > 1:
            found.sort()
            first = np.empty(len(found), dtype=bool)
            first[0] = True
            np.not_equal(found[1:], found[:-1], out=first[1:])
            if plan.need is not None and len(found) > 32:
                starts = np.flatnonzero(first)
                counts = np.diff(np.append(starts, len(found)))
                found = found[starts]
                found = found[counts >= plan.need[self._row_mask[found]]]
            else:
                found = found[first]
        if len(plan.scan):
            scanned = np.flatnonzero(np.isin(self._row_mask[:matrix.size], plan.scan))
            found = np.union1d(found, scanned)
        return found[matrix.live[found]]

    def _candidate_rows_compiled(self, registry: _Registry, designated: int, usable: int,
                                 hashes: Mapping[int, list[int]]) -> np.ndarray:
        """`candidate_rows` through the compiled kernels: same plan, keys and probe (a superset of the hits)."""
        matrix = self.matrix
        missing = registry.union & ~usable
        exact, single, leave_one_out, need, scan = self._compiled_plan(registry, usable)
        width = max((len(values) for values in hashes.values()), default=1)
        qhash = np.zeros((N_STR, width), dtype=np.int64)
        qcount = np.zeros(N_STR, dtype=np.int64)
        for locus, values in hashes.items():
            qhash[locus, :len(values)] = values
            qcount[locus] = len(values)
        present_offsets, present_hashes = self._present()
        keys = kernels.keys(exact, single, leave_one_out, registry.value_mask, registry.value_salt, missing, qhash,
                            qcount, present_offsets, present_hashes, _SPEC_CAP * 16)
        if len(keys) == 1 and keys[0] == -1:  # too many keys to probe: check every row (exact, slow, rare)
            return np.flatnonzero(matrix.live[:matrix.size])
        qfilter = kernels.query_filter(qhash, qcount, designated, usable, _SIGNATURE_SLOT, MIN_DESIGNATED_LOCI)
        found = kernels.probe(keys, self._bucket_bits, self._offsets, self._fingerprints, self._rows, self._signatures,
                              self._delta_keys, self._delta_rows, self._delta_signatures, matrix.live,
                              self._row_mask, need, bool(need.max(initial=1) > 1), qfilter)
        if scan.any():
            scanned = np.flatnonzero(np.isin(self._row_mask[:matrix.size], np.flatnonzero(scan)))
            found = np.union1d(found, scanned[matrix.live[scanned]])
        return found

    def _search_codes(self, profile: NormalisedProfile) -> list[tuple[int, Match]]:
        """`search` in one compiled call from the query's codes: encoding, plan, keys, probe, rules and
        classes. A value no stored profile has gets a score row for this query only (PUR-2)."""
        matrix = self.matrix
        if not matrix.count:
            return []
        book = matrix.book
        lookup = book.lookup
        tables = matrix.tables()
        values: list[int] = []
        extra: list[np.ndarray] = []
        designated = 0
        for name, (first, second) in profile.items():
            position = LOCUS_INDEX[name]
            if position == AMEL_INDEX:
                continue
            codes = lookup[position]
            c1 = codes.get(first)
            if c1 is None:
                c1 = -1 - len(extra)
                extra.append(unseen_row(book, tables.width, position, first))
            c2 = codes.get(second)
            if c2 is None:
                c2 = -1 - len(extra)
                extra.append(unseen_row(book, tables.width, position, second))
            if c2 != WILD:
                designated |= 1 << position
            values += (position, c1, c2)
        registry = self._registry_now()
        full = self._compiled_plan(registry, registry.union)
        plans = registry.plans
        cached = plans.get(designated)  # the plan of the last query with these loci, if all are usable
        rows, found, planned, *plan = kernels.search_profile(
            np.array(values, dtype=np.int64).reshape(-1, 3),
            np.stack(extra) if extra else np.zeros((0, tables.width), np.uint8),
            *self._kernel_encoding(tables), *registry.sets, *full,
            designated if cached is not None else -1, *(cached or full),
            *self._kernel_directory(), *self._kernel_stored(), *self._kernel_lists(), MIN_DESIGNATED_LOCI)
        if planned >= 0:
            if len(plans) >= self.PLAN_CACHE:
                plans.clear()
            plans[planned] = tuple(plan)
        return [(row, Match(MATCH_CLASSES[c], compared, matched, wildcard, KNOWN_LOCI[locus] if locus >= 0 else None))
                for row, (c, compared, matched, wildcard, locus) in zip(rows.tolist(), found.tolist())]

    def _compiled_plan(self, registry: _Registry, usable: int) -> tuple[np.ndarray, ...]:
        """`kernels.plan` for a query's usable loci (a `kernels.Plan`, as a plain tuple); the first plan made
        for a query with every locus of the file is kept for all such queries."""
        missing = registry.union & ~usable
        if not missing and registry.full_fast is not None:
            return registry.full_fast
        plan = kernels.plan(*registry.sets, usable, missing, MIN_DESIGNATED_LOCI, self._present_counts(), _NOT_LISTED)
        if not missing:
            registry.full_fast = plan
        return plan

    # The kernels' groups of arguments as plain tuples, in the field order of the named tuples of `kernels`
    # (test_kernel_groups_name_the_index_arrays checks the order).

    def _kernel_encoding(self, tables: ScoreTables) -> tuple:
        """A `kernels.Encoding`."""
        matrix = self.matrix
        return (matrix.col, tables.table, tables.sizes, matrix.genotype_grid, _LOCUS_SALT, _LOW, _HIGH, N_STR,
                AMEL_INDEX)

    def _kernel_directory(self) -> tuple:
        """A `kernels.Directory`."""
        present_offsets, present_hashes = self._present()
        return (present_offsets, present_hashes, _SPEC_CAP * 16, self._bucket_bits, self._offsets, self._fingerprints,
                self._rows, self._signatures, self._delta_keys, self._delta_rows, self._delta_signatures,
                _SIGNATURE_SLOT)

    def _kernel_stored(self) -> tuple:
        """A `kernels.Stored`."""
        return (self.matrix.live, self._row_mask, self.matrix.codes)

    def _kernel_lists(self) -> tuple:
        """A `kernels.Lists`."""
        return (self._set_bounds, self._set_rows, self._recent_array(), self._listed, self._listed_wide,
                self._listed_planes, self._common, self.LISTED_MISSING)

    def _recent_array(self) -> np.ndarray:
        """Rows of listed sets added since the list was made (the listed scans and the plan's row-by-row
        checks read them directly; the rows of other sets are reached by keys or a pass over every row)."""
        if self._recent_rows is None:
            self._recent_rows = np.array(self._recent, dtype=np.int64)
        return self._recent_rows

    def _search_compiled(self, query: EncodedQuery) -> list[tuple[int, Match]]:
        """`search` through the kernels: the plan, its keys, the probe and the rules in compiled code
        (the rows that come out are exactly the hits), then `match_row` for each hit's class."""
        matrix = self.matrix
        if not matrix.count or not query.loci:
            return []
        usable = query.usable
        qhash, qcount = kernels.query_hashes(np.array(query.flat_genotypes, dtype=np.int64).reshape(-1, 3),
                                             _LOCUS_SALT, _LOW, _HIGH, N_STR)
        registry = self._registry_now()
        missing = registry.union & ~usable
        exact, single, leave_one_out, need, scan = self._compiled_plan(registry, usable)
        present_offsets, present_hashes = self._present()
        cols = query.cols * 2
        wild = query.wild
        codes = matrix.codes
        table = query.table
        hits, complete = kernels.search(
            exact, single, leave_one_out, registry.value_mask, registry.value_salt, missing, qhash, qcount,
            present_offsets, present_hashes, _SPEC_CAP * 16, self._bucket_bits, self._offsets, self._fingerprints,
            self._rows, self._signatures, self._delta_keys, self._delta_rows, self._delta_signatures, matrix.live,
            self._row_mask, need, bool(need.max(initial=1) > 1),
            kernels.query_filter(qhash, qcount, query.designated, usable, _SIGNATURE_SLOT, MIN_DESIGNATED_LOCI),
            codes, cols, table, query.width, wild, MIN_DESIGNATED_LOCI)
        if not complete:  # too many keys to probe: check every row (exact, slow, rare)
            scan = np.ones(len(registry.masks), dtype=np.bool_)
        if scan.any():
            scanned = kernels.scan_sets(codes, self._set_bounds, self._set_rows,
                                        self._recent_array(), matrix.live, self._row_mask, scan,
                                        cols, table, query.width, wild, MIN_DESIGNATED_LOCI)
            hits = np.union1d(hits, scanned)
        out = []
        for row in hits.tolist():
            match = match_row(query, codes[row].tolist())
            if match is not None:
                out.append((row, match))
        return out

    # -- planning --------------------------------------------------------------------------------

    def _registry_now(self) -> _Registry:
        registry = self._registry
        if registry is None:
            masks = self._set_masks()
            values: list[list[np.ndarray]] = []
            index: list[list[np.ndarray]] = []
            for partition_bits in _BLOCK_BITS:
                values.append([])
                index.append([])
                for block_bits in partition_bits:
                    distinct, inverse = np.unique(masks & np.uint32(block_bits), return_inverse=True)
                    values[-1].append(distinct)
                    index[-1].append(inverse.astype(np.int64))
            union = int(np.bitwise_or.reduce(masks)) if len(masks) else 0
            ids, value_masks, salts = [], [], []
            offset = 0
            for level, partition in enumerate(PARTITIONS):
                for block in range(len(partition)):
                    ids.append(index[level][block] + offset)
                    value_masks.append(values[level][block].astype(np.int64))
                    salts.append(np.full(len(values[level][block]), _BLOCK_SALT[level, block], dtype=np.int64))
                    offset += len(values[level][block])
            registry = _Registry(masks, union, values, index, np.stack(ids, axis=1) if len(masks) else
                                 np.zeros((0, len(_BLOCK_LEVEL)), np.int64), np.concatenate(value_masks),
                                 np.concatenate(salts), masks.astype(np.int64),
                                 np.bincount(self._row_mask[np.flatnonzero(self.matrix.live[:self.matrix.size])],
                                             minlength=len(masks)).astype(np.int64))
            blocks = registry.value_ids.shape[1]
            registry.value_rows = np.bincount(registry.value_ids.ravel(), weights=np.repeat(registry.set_count, blocks),
                                              minlength=len(registry.value_mask)).astype(np.int64)
            registry.sets = tuple(kernels.Sets(
                masks=registry.masks64, value_ids=registry.value_ids, value_mask=registry.value_mask,
                value_salt=registry.value_salt, value_rows=registry.value_rows, block_level=_BLOCK_LEVEL,
                levels=len(PARTITIONS), union=registry.union, set_count=registry.set_count, small=self.SMALL_SET))
            registry.full = self._plan(registry, (1 << N_STR) - 1)
            self._registry = registry
        return registry

    def _present_counts(self) -> np.ndarray:
        """Stored designated genotypes per comparable locus (what enumerating the locus costs in keys)."""
        offsets, _ = self._present()
        return np.diff(offsets)

    def _present(self) -> tuple[np.ndarray, np.ndarray]:
        """Per comparable locus, the hashes of every designated genotype stored there (CSR: offsets, hashes)."""
        matrix = self.matrix
        cached = getattr(self, "_present_cache", None)
        if cached is not None and cached[0] == matrix.genotype_version:
            return cached[1], cached[2]
        offsets = np.zeros(N_STR + 1, dtype=np.int64)
        parts = []
        for locus in range(N_STR):
            pairs = matrix.present_genotypes(locus)
            parts.append(genotype_hash(locus, pairs[:, 0], pairs[:, 1]) if len(pairs) else np.zeros(0, np.int64))
            offsets[locus + 1] = offsets[locus] + len(parts[-1])
        hashes = np.concatenate(parts)
        self._present_cache = (matrix.genotype_version, offsets, hashes)
        return offsets, hashes

    def _plan(self, registry: _Registry, usable: int) -> _Plan:
        """Per stored designated-locus set D, the cheapest case of the module doc that covers it."""
        missing = registry.union & ~usable
        if not missing and registry.full is not None:
            return registry.full
        masks = registry.masks
        shared = np.bitwise_count(masks & np.uint32(usable)).astype(np.int64)
        six = shared == MIN_DESIGNATED_LOCI
        settled = shared < MIN_DESIGNATED_LOCI  # no hit possible
        need = np.ones(len(masks), dtype=np.int64)
        exact, enumerated = _Specs(), _Specs()
        clean: list[list[np.ndarray]] = []
        for level in range(len(PARTITIONS)):
            clean.append([])
            single = []
            for block, values in enumerate(registry.block_values[level]):
                missed = np.bitwise_count(values & np.uint32(missing))
                index = registry.block_index[level][block]
                clean[level].append(((values != 0) & (missed == 0))[index])
                single.append(((values != 0) & (missed == 1))[index])
            if settled.all():
                continue
            n_clean = np.sum(clean[level], axis=0)
            n_single = np.sum(single, axis=0)
            # |S| = 6: one usable block; else two, clean or with one enumerated locus
            wanted = np.where(six, 1, 2)
            chosen = ~settled & (n_clean + n_single >= wanted)
            if not chosen.any():
                continue
            extra = np.where(chosen, np.maximum(wanted - n_clean, 0), 0)
            taken = np.zeros(len(masks), dtype=np.int64)
            for block, values in enumerate(registry.block_values[level]):
                index = registry.block_index[level][block]
                exact.add(level, block, values[np.unique(index[chosen & clean[level][block]])])
                enum = chosen & single[block] & (taken < extra)
                taken += enum
                if enum.any():
                    block_masks = values[np.unique(index[enum])]
                    loci = np.log2((block_masks & np.uint32(missing)).astype(np.float64)).astype(np.int64)
                    enumerated.add(level, block, block_masks, loci)
            k = np.minimum(n_clean, 8) + extra
            need = np.where(chosen & ~six, np.maximum(k - 1, 1), need)
            settled |= chosen
        for level in range(len(PARTITIONS)):  # leave one out of a single clean block, |S| >= 7
            if settled.all():
                break
            for block, values in enumerate(registry.block_values[level]):
                index = registry.block_index[level][block]
                chosen = ~settled & clean[level][block]
                if not chosen.any():
                    continue
                for block_mask in values[np.unique(index[chosen])].tolist():
                    loci = np.array(mask_loci(block_mask), dtype=np.int64)
                    enumerated.add(level, block, np.full(len(loci), block_mask, dtype=np.uint32), loci)
                settled |= chosen
        exact_salt, exact_bits, _ = exact.arrays()
        enum_salt, enum_bits, enum_locus = enumerated.arrays()
        return _Plan(exact_salt, exact_bits, enum_salt, enum_bits, enum_locus,
                     np.flatnonzero(~settled).astype(np.uint32), need.astype(np.uint8) if (need > 1).any() else None)

    # -- keys and probes -------------------------------------------------------------------------

    def _keys(self, plan: _Plan, hashes: Mapping[int, list[int]]) -> np.ndarray | None:
        """The keys the plan probes for this query's genotype hashes (None: too many to probe)."""
        firsts = [0] * N_STR
        several = []
        for locus, values in hashes.items():
            firsts[locus] = values[0]
            if len(values) > 1:
                several.append(locus)
        first = np.array(firsts, dtype=np.float64)
        out = []
        if len(plan.exact_salt):
            combined = self._combine(plan.exact_salt, plan.exact_bits, first, several, hashes)
            if combined is None:
                return None
            out.append(combined[0])
        if len(plan.enum_salt):
            combined = self._combine(plan.enum_salt, plan.enum_bits, first, several, hashes, plan.enum_locus)
            if combined is None:
                return None
            keys, loci = combined
            for locus in np.unique(loci).tolist():
                present = self.matrix.present_genotypes(locus)
                if not len(present):
                    continue
                present_hashes = genotype_hash(locus, present[:, 0], present[:, 1])
                base = keys[loci == locus]
                if len(base) * len(present_hashes) > _SPEC_CAP * 8:
                    return None
                out.append((base[:, None] + present_hashes[None, :]).ravel())
        if not out:
            return np.zeros(0, dtype=np.int64)
        return out[0] if len(out) == 1 else np.concatenate(out)

    @staticmethod
    def _combine(salt: np.ndarray, bits: np.ndarray, first: np.ndarray, several: list[int],
                 hashes: Mapping[int, list[int]], tags: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray] | None:
        """salt + the query hash of every locus in bits, one key per combination of the expansions of
        the loci with several matching genotypes (those in bits only). tags follow the keys."""
        keys = salt + (bits @ first).astype(np.int64)  # exact: every term is below 2^44
        tags = tags if tags is not None else np.zeros(len(keys), dtype=np.int64)
        for locus in several:
            has = bits[:, locus] == 1
            if not has.any():
                continue
            values = np.array(hashes[locus], dtype=np.int64)
            alternatives = values[1:] - values[0]
            keys = np.concatenate([keys, (keys[has][:, None] + alternatives[None, :]).ravel()])
            tags = np.concatenate([tags, np.repeat(tags[has], len(alternatives))])
            bits = np.concatenate([bits, np.repeat(bits[has], len(alternatives), axis=0)])
            if len(keys) > _SPEC_CAP * 8:
                return None
        return keys, tags

    def _probe(self, keys: np.ndarray, qfilter: np.ndarray | None = None) -> np.ndarray:
        """Rows of every entry whose key is among `keys` (one per matching entry, with repeats), less
        those whose row signature cannot hit (`kernels.passes` with `qfilter`, when given)."""
        found: list[np.ndarray] = []
        if len(self._rows) and len(keys):
            bits = self._bucket_bits
            bucket = keys & ((1 << bits) - 1)
            low = self._offsets[bucket].astype(np.int64)
            counts = self._offsets[bucket + 1] - low
            total = int(counts.sum())
            if total:
                starts = np.cumsum(counts) - counts
                index = np.arange(total, dtype=np.int64) + np.repeat(low - starts, counts)
                wanted = np.repeat((keys >> bits).astype(np.uint32), counts)
                index = index[self._fingerprints[index] == wanted]
                if qfilter is not None:
                    index = index[_passing(self._signatures[index], qfilter)]
                found.append(self._rows[index].astype(np.int64))
        if len(self._delta_keys) and len(keys):
            left = np.searchsorted(self._delta_keys, keys, side="left")
            counts = np.searchsorted(self._delta_keys, keys, side="right") - left
            total = int(counts.sum())
            if total:
                starts = np.cumsum(counts) - counts
                index = np.arange(total, dtype=np.int64) + np.repeat(left - starts, counts)
                if qfilter is not None:
                    index = index[_passing(self._delta_signatures[index], qfilter)]
                found.append(self._delta_rows[index].astype(np.int64))
        if not found:
            return np.zeros(0, dtype=np.int64)
        return found[0] if len(found) == 1 else np.concatenate(found)


class _Profiles(Mapping[int, NormalisedProfile]):
    def __init__(self, index: BlockIndex) -> None:
        self._index = index

    def __getitem__(self, row: int) -> NormalisedProfile:
        return self._index.profile(row)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)
