"""Synthetic facial images as face feature vectors: identities and their captures (P2-FACE-1), deterministic per seed.

What modern face recognition gives, and what the generator reproduces:
- Embeddings are L2-normalised vectors (ArcFace: Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face
  Recognition", CVPR 2019, 512-d) compared by cosine similarity. Different people's embeddings are close to
  orthogonal: in ArcFace's Fig. 6 (angle distributions on LFW/YTF/MegaFace), negative pairs centre on 90 degrees
  (cosine 0), positive pairs on about 30-50 degrees (cosine 0.64-0.87).
- NIST FRVT/FRTE 1:N (NISTIR 8271, mugshots, 12M subjects) reports FNIR at FPIR 1 % below 1 % for the leading
  algorithms on good mugshots, higher with ageing (years between captures) and on webcam or profile images.

How the generator reaches them:
- An identity is a random unit vector in 512 dimensions (uniform on the sphere). Two independent identities then
  have cosine ~ N(0, 1/sqrt(512)) = N(0, 0.044): the impostor distribution centred at 0 as in ArcFace's figure
  (narrower than a real model's, whose impostors spread to about 0.1: the threshold is a setting).
- A capture with *fidelity* c is `c * identity + sqrt(1 - c^2) * u`, u a random unit vector orthogonal to the
  identity: exactly cosine c to its identity. Two captures of one person then score about c1 * c2 (their noise
  parts are near orthogonal). The file's enrolment captures have c ~ U(0.88, 0.96); a probe's c is drawn so the
  genuine score c1 * c2 follows N(0.62, 0.10) (normal), N(0.45, 0.12) after an age gap (AGE_GAP), N(0.40, 0.12)
  for a low-quality image (LOW_QUALITY, quality 10-35): mostly above 0.5 as in ArcFace's positive pairs, with a
  tail that a threshold of 0.3 misses, so FNIR is not zero.
- Near-duplicates (twins, TWIN): an identity at cosine 0.70 to another (`twin_of`), whose captures score about
  0.7 * c1 * c2 ~ 0.45-0.6 against the other's: impostors a threshold does not separate, the case where an
  officer's confirmation (P2-FACE-3) matters.

Everything vectorised for the benchmark's 1M (`captures`); `population`/`probe` give checked `FaceTemplate`s
for the federation. All randomness comes from the numpy Generator passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from prum.services.common.reference import ReferenceKind
from prum.services.face.templates import DIMENSION, FaceTemplate

#: The fidelity of an enrolment capture (a mugshot): cosine to the identity.
ENROLMENT_FIDELITY = (0.88, 0.96)
#: Twins' identities are this close (cosine).
TWIN_SIMILARITY = 0.70


class Case(enum.Enum):
    """A probe's conditions: the genuine score's mean and spread, and its quality score range."""

    NORMAL = (0.62, 0.10, (60, 100))
    AGE_GAP = (0.45, 0.12, (50, 95))
    LOW_QUALITY = (0.40, 0.12, (10, 35))

    @property
    def genuine_mean(self) -> float:
        return self.value[0]

    @property
    def genuine_sd(self) -> float:
        return self.value[1]

    @property
    def quality(self) -> tuple[int, int]:
        return self.value[2]


def identities(rng: np.random.Generator, n: int, d: int = DIMENSION) -> npt.NDArray[np.float32]:
    """n identities, uniform on the unit sphere."""
    vectors = rng.standard_normal((n, d), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def captures(rng: np.random.Generator, ids: npt.NDArray[np.float32],
             fidelity: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float32]:
    """One capture of each identity, each at exactly cosine `fidelity` (one value or one per row) to it."""
    noise = rng.standard_normal(ids.shape, dtype=np.float32)
    noise -= np.sum(noise * ids, axis=1, keepdims=True) * ids  # orthogonal to the identity
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    c = np.broadcast_to(np.asarray(fidelity, dtype=np.float32), (len(ids),))[:, None]
    out = c * ids + np.sqrt(1.0 - c * c) * noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def enrolment_fidelity(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    return rng.uniform(*ENROLMENT_FIDELITY, size=n)


def probe_fidelity(rng: np.random.Generator, enrolled: npt.NDArray[np.float64], case: Case) -> npt.NDArray[np.float64]:
    """The fidelity of a probe so that its genuine score against the enrolment (about the product) follows the
    case's distribution."""
    genuine = rng.normal(case.genuine_mean, case.genuine_sd, size=len(enrolled))
    return np.clip(genuine / enrolled, 0.02, 0.99)


def twin_of(rng: np.random.Generator, identity: npt.NDArray[np.float32],
            similarity: float = TWIN_SIMILARITY) -> npt.NDArray[np.float32]:
    """A near-duplicate identity (a twin): a unit vector at cosine `similarity` to `identity`."""
    twin: npt.NDArray[np.float32] = captures(rng, identity[None, :], similarity)[0]
    return twin


def template(reference: str, vector: npt.NDArray[np.float32], quality: int,
             kind: ReferenceKind = ReferenceKind.IDENTIFIED_PERSON, yaw: int = 0) -> FaceTemplate:
    return FaceTemplate.make(reference, kind, vector, quality, 480, 600, yaw)


def population(rng: np.random.Generator, n: int, prefix: str
               ) -> Iterator[tuple[npt.NDArray[np.float32], FaceTemplate]]:
    """n identities and each one's enrolment in a state's file (identified persons, good quality)."""
    ids = identities(rng, n)
    fidelity = enrolment_fidelity(rng, n)
    enrolled = captures(rng, ids, fidelity)
    for index in range(n):
        yield ids[index], template(f"{prefix}{index:06d}", enrolled[index], int(rng.integers(70, 101)),
                                   yaw=int(rng.integers(-10, 11)))


def probe(rng: np.random.Generator, identity: npt.NDArray[np.float32], reference: str,
          case: Case = Case.NORMAL, enrolled_fidelity: float = 0.92) -> FaceTemplate:
    """A probe of `identity` (an unidentified trace, e.g. a camera still) under the case's conditions."""
    fidelity = probe_fidelity(rng, np.array([enrolled_fidelity]), case)
    vector = captures(rng, identity[None, :], fidelity)[0]
    low, high = case.quality
    return template(reference, vector, int(rng.integers(low, high + 1)), ReferenceKind.UNIDENTIFIED_TRACE,
                    yaw=int(rng.integers(-30, 31)))
