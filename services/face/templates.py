"""Face templates: the reference data of the facial-image file (P2-FACE-1), without gRPC.

A template is a fixed-length face feature vector (`DIMENSION` float32 values, L2-normalised, as the embeddings
of modern face-recognition networks are compared by cosine similarity), the image's quality score and size, an
optional head yaw, its reference number and whether it belongs to an identified person or an unidentified trace.
No image and no name: the vector alone is what is searched and supplied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind, check_reference

#: The length of every face feature vector in the federation (the contract's `features`, exactly this many).
DIMENSION = 512
#: How far from 1 a vector's norm may be (float32 rounding of an L2-normalised embedding).
NORM_TOLERANCE = 0.01
QUALITY_RANGE = (0, 100)
SIZE_RANGE = (32, 8000)
YAW_RANGE = (-90, 90)


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """One face of the file or one probe; made only through `make`, which checks every field."""

    reference: str
    kind: ReferenceKind
    features: npt.NDArray[np.float32]  #: shape (DIMENSION,), unit norm, read-only
    quality: int
    width: int
    height: int
    yaw_degrees: int = 0

    @classmethod
    def make(cls, reference: str, kind: ReferenceKind | str, features: Any, quality: int, width: int, height: int,
             yaw_degrees: int = 0, field: str = "template") -> FaceTemplate:
        """A checked template, or InvalidInput naming the field and what is allowed."""
        check_reference(reference, "P2-FACE-1", f"{field}.reference")
        vector = np.asarray(features, dtype=np.float32)
        if vector.shape != (DIMENSION,):
            raise InvalidInput(f"{vector.size} values; allowed: exactly {DIMENSION} float32 values",
                               field=f"{field}.features")
        if not np.isfinite(vector).all():
            raise InvalidInput("holds a NaN or infinite value; allowed: finite values", field=f"{field}.features")
        norm = float(np.linalg.norm(vector))
        if not math.isclose(norm, 1.0, abs_tol=NORM_TOLERANCE):
            raise InvalidInput(f"has norm {norm:.4f}; allowed: L2-normalised (norm 1 +- {NORM_TOLERANCE})",
                               field=f"{field}.features")
        for name, value, (low, high) in (("quality", quality, QUALITY_RANGE), ("width", width, SIZE_RANGE),
                                         ("height", height, SIZE_RANGE), ("yaw_degrees", yaw_degrees, YAW_RANGE)):
            if not low <= value <= high:
                raise InvalidInput(f"{value}; allowed: {low} to {high}", field=f"{field}.{name}")
        vector = vector / np.float32(norm)
        vector.setflags(write=False)
        return cls(reference, ReferenceKind.parse(kind, f"{field}.kind"), vector, quality, width, height, yaw_degrees)


def template_record(template: FaceTemplate) -> dict[str, Any]:
    """What the log keeps of a template (the data supplied, Art 30): its metadata and the vector, rounded to
    float32's precision so the record is the vector supplied."""
    return {"reference": template.reference, "kind": template.kind.name, "quality": template.quality,
            "width": template.width, "height": template.height, "yaw_degrees": template.yaw_degrees,
            "features": [round(float(x), 7) for x in template.features]}
