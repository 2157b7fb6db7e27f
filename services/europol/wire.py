"""Europol's evaluation codes to the contracts' `prum.common.v1.Evaluation` (protobuf only, no gRPC): what a DNA
hit or a fingerprint candidate Europol supplies carries (EUR-1). The data services' servicers take the lookup
`evaluation_lookup` makes and put its answer on each item they supply."""

from __future__ import annotations

from collections.abc import Callable

from prum.common.v1 import common_pb2
from prum.services.europol.analysis_files import AnalysisFiles
from prum.services.europol.evaluation import Evaluation


def evaluation_to_proto(evaluation: Evaluation) -> common_pb2.Evaluation:
    return common_pb2.Evaluation(
        source=common_pb2.SourceReliability.Value(f"SOURCE_RELIABILITY_{evaluation.source.value}"),
        information=common_pb2.InformationReliability.Value(f"INFORMATION_RELIABILITY_{evaluation.information.value}"),
        file=evaluation.file)


def evaluation_from_proto(message: common_pb2.Evaluation) -> Evaluation | None:
    """The codes an item carries; None on a state's item (no codes)."""
    if message.source == common_pb2.SOURCE_RELIABILITY_UNSPECIFIED:
        return None
    return Evaluation.parse(common_pb2.SourceReliability.Name(message.source).removeprefix("SOURCE_RELIABILITY_"),
                            common_pb2.InformationReliability.Name(message.information).removeprefix(
                                "INFORMATION_RELIABILITY_"), message.file)


def evaluation_lookup(files: AnalysisFiles) -> Callable[[str], common_pb2.Evaluation | None]:
    """An item's codes on the wire by its reference, None for one Europol's files do not hold."""
    def lookup(reference: str) -> common_pb2.Evaluation | None:
        found = files.evaluation(reference)
        return None if found is None else evaluation_to_proto(found)
    return lookup
