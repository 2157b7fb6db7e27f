"""Profiles as small integers, and the matching rules over them: what the index stores and checks.

Codes. The file's `Codebook` gives every allele value of a locus a small integer: 0 means "locus
absent", 1 is the wildcard (DNA-6), 2, 3, ... are the values in the order the file first saw them.
Normalisation (`profile.py`) allows at most 99 repeats x 5 fractions per locus, so a code never
exceeds 496; the matrix is uint8 while every locus has fewer than 256 codes, uint16 after.

Rows. `ProfileMatrix` keeps each stored profile as one fixed-width row: two codes per locus column,
in the normalised allele order (value order, wildcard last). Columns exist only for loci that some
stored profile has (16 + amelogenin for the common kits: 34 bytes a row). Beside it, per row: the
bitmask of its fully designated comparable loci (bit = position in `STR_LOCI`) and a live flag.

Rules over codes. Per comparable locus a score table code x code -> `SCORE_MATCH` 0 (equal, either
side a wildcard, or the candidate lacks the locus), `SCORE_MICROVARIANT` 1 (DNA-7 neighbours, from
`allele_neighbours`) or `SCORE_DIFFERENT` 3. A locus's outcome is the better of the two pairings,
min(s(q1, c1) + s(q2, c2), s(q1, c2) + s(q2, c1)) = 3 x differing alleles + microvariant pairings,
which is `matching.locus_outcome` in one number. `screen` applies it to many candidate rows at once
(numpy) to keep those with at most one differing allele, and `match_row` then tallies one row's loci
exactly as `matching.compare_normalised` does and classes it by the same rule
(`matching.match_class_code`); both are tested against `compare`. The compiled twins are in `kernels`.

Queries are encoded without adding to the codebook (PUR-2): a value the file has never seen gets a
score row computed for this query only, dropped with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from prum.services.dna.loci import AMELOGENIN, KNOWN_LOCI, STR_LOCI
from prum.services.dna.matching import MATCH_CLASSES, NO_HIT, Match, allele_neighbours, match_class_code
from prum.services.dna.profile import MIN_DESIGNATED_LOCI, WILDCARD, NormalisedProfile

ABSENT = 0
"""Code of a locus a profile does not have (both alleles)."""
WILD = 1
"""Code of the wildcard allele (DNA-6)."""
FIRST_VALUE = 2
"""Codes from here on are allele values: a genotype whose second code is below it is not fully designated."""
MAX_CODES = 512
"""Codes per locus can never reach this: 99 repeats x 5 fractions + absent + wildcard = 497."""

LOCUS_INDEX: dict[str, int] = {locus: position for position, locus in enumerate(KNOWN_LOCI)}
"""Canonical locus -> its position in KNOWN_LOCI; for comparable loci also its bit in a locus mask."""
AMEL_INDEX = LOCUS_INDEX[AMELOGENIN]
N_LOCI = len(KNOWN_LOCI)
N_STR = len(STR_LOCI)
if KNOWN_LOCI[:N_STR] != STR_LOCI:
    raise RuntimeError("KNOWN_LOCI must list the comparable loci first: their positions are mask bits")

SCORE_MATCH = 0
"""Score of an allele pair that agrees: equal values, a wildcard on either side, or a locus the
candidate lacks."""
SCORE_MICROVARIANT = 1
"""Score of an allele pair of DNA-7 microvariant neighbours."""
SCORE_DIFFERENT = 3
"""Score of a differing allele pair: above two microvariant pairings, so a locus's score (the sum over
its two pairs) is SCORE_DIFFERENT x differing alleles + microvariant pairings."""

_DIFFERING = (np.arange(2 * SCORE_DIFFERENT + 1) // SCORE_DIFFERENT).astype(np.uint8)
"""Locus score -> differing alleles."""


def mask_loci(mask: int) -> list[int]:
    """The locus positions whose bits are set in a locus mask, ascending."""
    return [position for position in range(N_STR) if mask >> position & 1]


def popcount(mask: int) -> int:
    return int(mask).bit_count()


class Codebook:
    """Per locus: allele value <-> code. Codes are only ever added, never changed or reused."""

    def __init__(self) -> None:
        self._values: list[list[str]] = [["", WILDCARD] for _ in KNOWN_LOCI]
        self._codes: list[dict[str, int]] = [{WILDCARD: WILD} for _ in KNOWN_LOCI]
        self.version = 0
        """Bumped whenever a code is added: tables derived from the codebook are rebuilt then."""

    def code(self, locus: int, value: str) -> int:
        """The code of a stored value, added if new."""
        codes = self._codes[locus]
        found = codes.get(value)
        if found is None:
            found = len(self._values[locus])
            if found >= MAX_CODES:  # pragma: no cover - normalisation makes this impossible
                raise ValueError(f"locus {KNOWN_LOCI[locus]} has more than {MAX_CODES - 2} allele values")
            codes[value] = found
            self._values[locus].append(value)
            self.version += 1
        return found

    def find(self, locus: int, value: str) -> int | None:
        """The code of a value, or None when no stored profile has it (never adds: queries use this)."""
        return self._codes[locus].get(value)

    def value(self, locus: int, code: int) -> str:
        return self._values[locus][code]

    @property
    def lookup(self) -> list[dict[str, int]]:
        """Per locus position, value -> code (read only: do not mutate)."""
        return self._codes

    def codes_of(self, locus: int) -> Mapping[str, int]:
        """value -> code at a locus (read only: do not mutate)."""
        return self._codes[locus]

    def values(self, locus: int) -> list[str]:
        """Code -> value for a locus (index 0 is the absent marker "")."""
        return self._values[locus]

    def size(self, locus: int) -> int:
        return len(self._values[locus])

    def widest(self) -> int:
        return max(len(values) for values in self._values)

    def to_json(self) -> str:
        return json.dumps({KNOWN_LOCI[i]: values[2:] for i, values in enumerate(self._values) if len(values) > 2})

    @classmethod
    def from_json(cls, text: str) -> Codebook:
        book = cls()
        for locus, values in json.loads(text).items():
            for value in values:
                book.code(LOCUS_INDEX[locus], value)
        return book


class ScoreTables:
    """The per-locus score tables derived from a codebook (see the module doc), padded to `width`."""

    def __init__(self, book: Codebook) -> None:
        self.version = book.version
        width = 64
        while width < book.widest():
            width *= 2
        self.width = width
        self.table = np.zeros((N_LOCI, width, width), dtype=np.uint8)
        self.rows: list[list[list[int]]] = []
        for locus in range(N_LOCI):
            size = book.size(locus)
            if locus == AMEL_INDEX:
                self.rows.append([[SCORE_MATCH] * size for _ in range(size)])
                continue
            name = KNOWN_LOCI[locus]
            block = np.full((size, size), SCORE_DIFFERENT, dtype=np.uint8)
            block[:, :FIRST_VALUE] = SCORE_MATCH
            block[:FIRST_VALUE, :] = SCORE_MATCH
            np.fill_diagonal(block, SCORE_MATCH)
            for code in range(FIRST_VALUE, size):
                for neighbour in allele_neighbours(name, book.value(locus, code)):
                    other = book.find(locus, neighbour)
                    if other is not None and other != code:
                        block[code, other] = block[other, code] = SCORE_MICROVARIANT
            self.table[locus, :size, :size] = block
            self.rows.append(block.tolist())
        self.sizes = np.array([book.size(locus) for locus in range(N_LOCI)], dtype=np.int64)
        """Codes per locus (the score rows are padded beyond)."""
        self.neighbours: list[list[list[int]]] = [
            [[other for other, score in enumerate(row)
              if other >= FIRST_VALUE and (score == SCORE_MICROVARIANT or other == code)]
             for code, row in enumerate(rows)] for rows in self.rows]
        """Per locus and code: the codes it matches without a differing allele (itself included)."""


def unseen_row(book: Codebook, width: int, locus: int, value: str) -> np.ndarray:
    """Score row (see the module doc) of a query value no stored profile has: equal to no code, a
    DNA-7 neighbour of some perhaps. Built for one query and dropped with it (PUR-2)."""
    row = np.full(width, SCORE_DIFFERENT, dtype=np.uint8)
    row[:FIRST_VALUE] = SCORE_MATCH
    for neighbour in allele_neighbours(KNOWN_LOCI[locus], value):
        other = book.find(locus, neighbour)
        if other is not None:
            row[other] = SCORE_MICROVARIANT
    return row


def _unseen_row(book: Codebook, tables: ScoreTables, locus: int, value: str) -> tuple[np.ndarray, list[int],
                                                                                     list[int]]:
    """Score row, scalar row and matching codes of a query value no stored profile has (equal to no
    code, a neighbour of some perhaps). Built for one query and dropped with it (PUR-2)."""
    row = unseen_row(book, tables.width, locus, value)
    scalar = row[:book.size(locus)].tolist()
    return row, scalar, [code for code, score in enumerate(scalar) if score == SCORE_MICROVARIANT]


@dataclass(slots=True)
class EncodedQuery:
    """A query profile against one file's codes; lives for one search only (PUR-2).

    loci: comparable query loci that the file has a column for, in column order; cols their columns;
    codes: their two allele codes (-1 for a value no stored profile has). scalar: per locus (code
    offset in a row, score list of allele 1, of allele 2, wildcard?, name) for `match_row`.
    designated: mask of the query's fully designated comparable loci (all of them, also those the
    file lacks). genotypes: per designated locus, the (low, high) codes of every stored genotype that
    matches it with no differing allele (DNA-7 neighbours of each allele), among those the file has.
    """

    loci: list[int]
    cols: np.ndarray
    codes: list[tuple[int, int]]
    scalar: list[tuple[int, list[int], list[int], bool, str]]
    designated: int
    genotypes: dict[int, list[tuple[int, int]]]
    tables: ScoreTables
    unseen: dict[tuple[int, int], np.ndarray]
    _table: np.ndarray | None = None

    @property
    def usable(self) -> int:
        """`designated` less the loci where no stored genotype matches without a difference."""
        mask = self.designated
        for locus, found in self.genotypes.items():
            if not found:
                mask &= ~(1 << locus)
        return mask

    @property
    def flat_genotypes(self) -> list[int]:
        """`genotypes` as one flat list of (locus, low, high), locus ascending."""
        return [value for locus in sorted(self.genotypes) for pair in self.genotypes[locus]
                for value in (locus, *pair)]

    @property
    def wild(self) -> np.ndarray:
        """Per locus (in `loci` order), whether the query has a wildcard there."""
        return np.array([item[3] for item in self.scalar], dtype=np.bool_)

    @property
    def width(self) -> int:
        return self.tables.width

    @property
    def wild_flags(self) -> list[bool]:
        """Per locus (in `loci` order), whether the query has a wildcard there."""
        return [item[3] for item in self.scalar]

    @property
    def table(self) -> np.ndarray:
        """Flat (loci x 2 x width) score rows of the query alleles, for `screen` (built on first use)."""
        if self._table is None:
            if self.loci:
                codes = np.array(self.codes, dtype=np.int64)
                rows = self.tables.table[np.array(self.loci)[:, None], np.maximum(codes, 0)]
                for (i, k), row in self.unseen.items():
                    rows[i, k] = row
                self._table = rows.reshape(-1)
            else:
                self._table = np.zeros(0, dtype=np.uint8)
        return self._table


class ProfileMatrix:
    """Stored profiles as rows of codes (see the module doc). Rows are numbered by the owner.

    Not thread-safe by itself; the owner serialises writers against readers. Readers only read rows
    below `size`, which a writer raises after the row is written.
    """

    def __init__(self, capacity: int = 1024, book: Codebook | None = None) -> None:
        self.book = book or Codebook()
        self.columns: list[int] = []
        self.col = np.full(N_LOCI, -1, dtype=np.int64)
        self.codes = np.zeros((capacity, 0), dtype=np.uint8)
        self.masks = np.zeros(capacity, dtype=np.uint32)
        self.live = np.zeros(capacity, dtype=bool)
        self.size = 0
        self.count = 0
        self._tables: ScoreTables | None = None
        self._genotypes: np.ndarray = np.zeros((N_LOCI, 64, 64), dtype=bool)
        self._genotype_version = 0
        self._present_version = -1
        self._present: dict[int, np.ndarray] = {}
        self._present_sets: list[set[tuple[int, int]]] = [set() for _ in KNOWN_LOCI]
        self._col_list: list[int] = [-1] * N_LOCI

    # -- shape -----------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return len(self.masks)

    def reserve(self, rows: int) -> None:
        """Room for row numbers below `rows`."""
        if rows <= self.capacity:
            return
        capacity = max(rows, self.capacity + self.capacity // 4 + 1024)
        codes = np.zeros((capacity, self.codes.shape[1]), dtype=self.codes.dtype)
        codes[:self.size] = self.codes[:self.size]
        masks = np.zeros(capacity, dtype=np.uint32)
        masks[:self.size] = self.masks[:self.size]
        live = np.zeros(capacity, dtype=bool)
        live[:self.size] = self.live[:self.size]
        self.codes, self.masks, self.live = codes, masks, live

    def _ensure_columns(self, loci: Iterable[int]) -> None:
        new = sorted(set(loci) - set(self.columns))
        if not new:
            return
        columns = sorted(self.columns + new)
        codes = np.zeros((self.capacity, 2 * len(columns)), dtype=self.codes.dtype)
        for position, locus in enumerate(columns):
            old = self.col[locus]
            if old >= 0:
                codes[:, 2 * position:2 * position + 2] = self.codes[:, 2 * old:2 * old + 2]
        self.codes = codes
        self.columns = columns
        self.col[:] = -1
        self.col[columns] = np.arange(len(columns))
        self._col_list = self.col.tolist()

    def _ensure_width(self) -> None:
        widest = self.book.widest()
        if widest > 256 and self.codes.dtype == np.uint8:
            self.codes = self.codes.astype(np.uint16)
        width = self._genotypes.shape[1]
        if widest > width:
            while width < widest:
                width *= 2
            grown = np.zeros((N_LOCI, width, width), dtype=bool)
            old = self._genotypes.shape[1]
            grown[:, :old, :old] = self._genotypes
            self._genotypes = grown

    # -- writing ---------------------------------------------------------------------------------

    def encode(self, profile: Mapping[str, Sequence[str]]) -> tuple[dict[int, tuple[int, int]], int]:
        """Codes of a normalised stored profile (adding new values to the codebook) and its mask."""
        book = self.book
        codes: dict[int, tuple[int, int]] = {}
        mask = 0
        for locus, (first, second) in profile.items():
            position = LOCUS_INDEX[locus]
            c1, c2 = book.code(position, first), book.code(position, second)
            codes[position] = (c1, c2)
            if c2 != WILD and position != AMEL_INDEX:
                mask |= 1 << position
        return codes, mask

    def put(self, row: int, profile: Mapping[str, Sequence[str]]) -> None:
        """Store a normalised profile at a row that is not live."""
        self.put_many([row], [profile])

    def put_many(self, rows: Sequence[int], profiles: Sequence[Mapping[str, Sequence[str]]]) -> None:
        """Store normalised profiles at rows that are not live."""
        if len(rows) != len(profiles):
            raise ValueError("rows and profiles differ in length")
        if len(rows):
            self.put_columns(np.asarray(rows, dtype=np.int64), self.prepare(profiles))

    @staticmethod
    def prepare(profiles: Sequence[Mapping[str, Sequence[str]]]) -> dict[str, tuple[list[str], np.ndarray]]:
        """Normalised profiles column-wise, as `put_columns` takes them; touches no matrix (so a writer
        can do this part outside any lock)."""
        values: dict[str, dict[str, int]] = {}
        index: dict[str, np.ndarray] = {}
        n = len(profiles)
        for i, profile in enumerate(profiles):
            for locus, (first, second) in profile.items():
                table = values.get(locus)
                if table is None:
                    table = values[locus] = {}
                    index[locus] = np.full((n, 2), -1, dtype=np.int64)
                a = -2 if first == WILDCARD else table.setdefault(first, len(table))
                b = -2 if second == WILDCARD else table.setdefault(second, len(table))
                line = index[locus][i]
                line[0] = a
                line[1] = b
        return {locus: (list(table), index[locus]) for locus, table in values.items()}

    def put_columns(self, rows: np.ndarray, columns: Mapping[str, tuple[Sequence[str], np.ndarray]]) -> None:
        """Store many profiles given column-wise, for bulk loads: locus -> (values, index array (n, 2)),
        the index array holding positions in `values`, -1 for an absent locus, -2 for a wildcard.

        The caller guarantees what `normalize_profile` would give: canonical values, each pair in value
        order with the wildcard last.
        """
        rows = np.asarray(rows, dtype=np.int64)
        loci = {LOCUS_INDEX[locus]: (values, index) for locus, (values, index) in columns.items()}
        self._ensure_columns(loci)
        dense = np.zeros((len(rows), self.codes.shape[1]), dtype=np.int64)
        masks = np.zeros(len(rows), dtype=np.uint32)
        for locus, (values, index) in loci.items():
            index = np.asarray(index, dtype=np.int64)
            used = np.zeros(len(values) + 2, dtype=bool)
            used[index] = True  # only values some row holds get a code (-2, -1 land on the last two)
            translate = np.array([self.book.code(locus, value) if used[i] else ABSENT
                                  for i, value in enumerate(values)] + [WILD, ABSENT], dtype=np.int64)
            codes = translate[index]  # -2 -> WILD, -1 -> ABSENT
            c = 2 * int(self.col[locus])
            dense[:, c:c + 2] = codes
            if locus != AMEL_INDEX:
                masks |= np.where(codes[:, 1] >= 2, np.uint32(1 << locus), np.uint32(0))
        self.put_codes(rows, dense, masks)

    def put_codes(self, rows: np.ndarray, dense: np.ndarray, masks: np.ndarray) -> None:
        """Store rows already encoded against this matrix's codebook and columns."""
        if len(rows) and self.live[rows[rows < self.capacity]].any():
            raise KeyError("a row is already stored")
        if len(np.unique(rows)) != len(rows):
            raise KeyError("a row is given twice")
        self._ensure_width()
        top = int(rows.max()) + 1 if len(rows) else 0
        self.reserve(top)
        self.codes[rows] = dense
        self.masks[rows] = masks
        for position, locus in enumerate(self.columns):
            if locus != AMEL_INDEX:
                self._mark_present(locus, dense[:, 2 * position:2 * position + 2])
        self.live[rows] = True
        self.count += len(rows)
        self.size = max(self.size, top)

    def remove(self, row: int) -> None:
        """Take a row out (it stays in memory as dead until the owner reuses or compacts)."""
        if not (0 <= row < self.size and self.live[row]):
            raise KeyError(f"row {row} is not stored")
        self.live[row] = False
        self.count -= 1

    # -- reading ---------------------------------------------------------------------------------

    def profile(self, row: int) -> NormalisedProfile:
        """The normalised profile of a stored row."""
        values = self.codes[row].tolist()
        book = self.book
        out: list[tuple[str, tuple[str, str]]] = []
        for position, locus in enumerate(self.columns):
            c1 = values[2 * position]
            if c1:
                names = book.values(locus)
                out.append((KNOWN_LOCI[locus], (names[c1], names[values[2 * position + 1]])))
        return NormalisedProfile(out)

    def tables(self) -> ScoreTables:
        if self._tables is None or self._tables.version != self.book.version:
            self._tables = ScoreTables(self.book)
        return self._tables

    @property
    def genotype_version(self) -> int:
        """Changes whenever rows are stored (so does the set of stored genotypes, perhaps)."""
        return self._genotype_version

    @property
    def genotype_grid(self) -> np.ndarray:
        """(loci x width x width) bool: whether some row has (or had) the designated genotype (low code,
        high code) at a locus (read only)."""
        return self._genotypes

    def present_genotypes(self, locus: int) -> np.ndarray:
        """(low, high) codes of every designated genotype some row has (or had) at a locus, shape (n, 2)."""
        if self._present_version != self._genotype_version:
            self._present = {}
            self._present_version = self._genotype_version
        found = self._present.get(locus)
        if found is None:
            found = self._present[locus] = np.argwhere(self._genotypes[locus])
        return found

    def encode_query(self, profile: Mapping[str, Sequence[str]]) -> EncodedQuery:
        """Encode a normalised query; adds nothing to the codebook (PUR-2)."""
        book = self.book
        tables = self.tables()
        scalar_rows, neighbours = tables.rows, tables.neighbours
        col = self._col_list
        present = self._present_sets
        found: list[tuple[int, int, int, int, list[int], list[int], bool, np.ndarray | None, np.ndarray | None]] = []
        designated = 0
        genotypes: dict[int, list[tuple[int, int]]] = {}
        for name, (first, second) in profile.items():
            position = LOCUS_INDEX[name]
            if position == AMEL_INDEX:
                continue
            is_wild = second == WILDCARD
            if not is_wild:
                designated |= 1 << position
            c = col[position]
            if c < 0:
                continue  # no stored profile has this locus: it is never compared
            codes = book.codes_of(position)
            code1 = codes.get(first, -1)
            extra1 = extra2 = None
            if code1 < 0:
                extra1, s1, n1 = _unseen_row(book, tables, position, first)
            else:
                s1, n1 = scalar_rows[position][code1], neighbours[position][code1]
            n2: list[int]
            if is_wild:
                code2, s2, n2 = WILD, scalar_rows[position][WILD], []
            else:
                code2 = codes.get(second, -1)
                if code2 < 0:
                    extra2, s2, n2 = _unseen_row(book, tables, position, second)
                else:
                    s2, n2 = scalar_rows[position][code2], neighbours[position][code2]
                stored = present[position]
                if len(n1) == 1 and len(n2) == 1:
                    a, b = n1[0], n2[0]
                    pair = (a, b) if a <= b else (b, a)
                    genotypes[position] = [pair] if pair in stored else []
                else:
                    genotypes[position] = sorted({pair for a in n1 for b in n2
                                                  if (pair := (a, b) if a <= b else (b, a)) in stored})
            found.append((c, position, code1, code2, s1, s2, is_wild, extra1, extra2))
        found.sort(key=lambda item: item[0])
        unseen = {}
        for i, item in enumerate(found):
            if item[7] is not None:
                unseen[(i, 0)] = item[7]
            if item[8] is not None:
                unseen[(i, 1)] = item[8]
        return EncodedQuery([item[1] for item in found], np.array([item[0] for item in found], dtype=np.int64),
                            [(item[2], item[3]) for item in found],
                            [(2 * item[0], item[4], item[5], item[6], KNOWN_LOCI[item[1]]) for item in found],
                            designated, genotypes, tables, unseen)

    def state(self) -> dict[str, np.ndarray]:
        """Arrays that `from_state` restores the matrix from (rows up to `size`)."""
        return {"codes": self.codes[:self.size], "masks": self.masks[:self.size], "live": self.live[:self.size],
                "columns": np.array(self.columns, dtype=np.int64),
                "codebook": np.frombuffer(self.book.to_json().encode(), dtype=np.uint8)}

    @classmethod
    def from_state(cls, state: Mapping[str, np.ndarray], spare: int = 0) -> ProfileMatrix:
        book = Codebook.from_json(bytes(state["codebook"]).decode())
        size = len(state["masks"])
        matrix = cls(capacity=size + spare, book=book)
        matrix._ensure_columns(state["columns"].tolist())
        if book.widest() > 256:
            matrix.codes = matrix.codes.astype(np.uint16)
        matrix.codes[:size] = state["codes"]
        matrix.masks[:size] = state["masks"]
        matrix.live[:size] = state["live"]
        matrix.size = size
        matrix.count = int(state["live"].sum())
        matrix._ensure_width()
        live = np.flatnonzero(matrix.live[:size])
        for position, locus in enumerate(matrix.columns):
            if locus == AMEL_INDEX:
                continue
            pair = matrix.codes[live, 2 * position:2 * position + 2].astype(np.int64)
            matrix._mark_present(locus, pair)
        return matrix

    def _mark_present(self, locus: int, pair: np.ndarray) -> None:
        designated = pair[:, 1] >= 2
        low = np.minimum(pair[designated, 0], pair[designated, 1])
        high = np.maximum(pair[designated, 0], pair[designated, 1])
        width = self._genotypes.shape[1]
        new = np.unique(low * width + high)
        if len(new):
            self._genotypes[locus, new // width, new % width] = True
            self._present_sets[locus].update(zip((new // width).tolist(), (new % width).tolist()))
        self._genotype_version += 1

    def nbytes(self) -> int:
        """Bytes held for rows (codes, masks, live flags), at the allocated capacity."""
        return self.codes.nbytes + self.masks.nbytes + self.live.nbytes


def screen(matrix: ProfileMatrix, query: EncodedQuery, rows: np.ndarray) -> np.ndarray:
    """The rows (of `rows`) with at most one differing allele over the loci they share with the query:
    a superset of the hits among them (vectorised; `match_row` decides)."""
    if not len(rows) or not query.loci:
        return rows[:0]
    cols = query.cols
    pairs = np.empty(2 * len(cols), dtype=np.int64)
    pairs[0::2] = 2 * cols
    pairs[1::2] = 2 * cols + 1
    sub = matrix.codes.take(rows, axis=0).take(pairs, axis=1)
    width = query.width
    base = np.arange(len(cols), dtype=np.int64) * (2 * width)
    a1 = sub[:, 0::2] + base
    a2 = sub[:, 1::2] + base
    table = query.table
    straight = table.take(a1) + table.take(a2 + width)
    crossed = table.take(a2) + table.take(a1 + width)
    np.minimum(straight, crossed, out=straight)
    differing = _DIFFERING.take(straight) @ np.ones(len(cols), dtype=np.uint8)
    return rows[differing <= 1]


def match_row(query: EncodedQuery, values: list[int]) -> Match | None:
    """DNA-8/DNA-9 for one stored row given as a list of codes: exactly `compare_normalised`."""
    compared = matched = wildcard_loci = differing = 0
    differing_locus: str | None = None
    microvariant = False
    remaining = len(query.scalar)
    for c, r1, r2, wild, name in query.scalar:
        remaining -= 1
        c1 = values[c]
        if not c1:
            if matched + remaining < MIN_DESIGNATED_LOCI:
                return None
            continue
        c2 = values[c + 1]
        compared += 1
        score = r1[c1] + r2[c2]
        if score:
            other = r1[c2] + r2[c1]
            score = min(score, other)
        if score >= SCORE_DIFFERENT:
            differing += score // SCORE_DIFFERENT
            if differing > 1:
                return None
            differing_locus = name
        elif wild or c2 == WILD:
            wildcard_loci += 1
            if score:
                microvariant = True
        else:
            matched += 1
            if score:
                microvariant = True
        if matched + remaining < MIN_DESIGNATED_LOCI:
            return None
    code = match_class_code(matched, differing, microvariant, wildcard_loci, MIN_DESIGNATED_LOCI)
    if code == NO_HIT:
        return None
    return Match(MATCH_CLASSES[code], compared, matched, wildcard_loci, differing_locus)


def check_rows(matrix: ProfileMatrix, query: EncodedQuery, rows: np.ndarray) -> list[tuple[int, Match]]:
    """(row, match) for every row of `rows` that hits, by ascending row: the vectorised screen when there
    are many rows, then the exact rules per surviving row."""
    if len(rows) > 8:
        rows = screen(matrix, query, rows)
    found = []
    codes = matrix.codes
    for row in sorted(rows.tolist()):
        match = match_row(query, codes[row].tolist())
        if match is not None:
            found.append((row, match))
    return found


def scan_rows(matrix: ProfileMatrix, query: EncodedQuery, chunk: int = 1 << 16) -> list[tuple[int, Match]]:
    """The plain numpy full scan: `check_rows` over every live row, in chunks (the baseline)."""
    found: list[tuple[int, Match]] = []
    live = np.flatnonzero(matrix.live[:matrix.size])
    for start in range(0, len(live), chunk):
        found.extend(check_rows(matrix, query, live[start:start + chunk]))
    return found
