"""`prum afis`: evaluate the fingerprint matcher on a synthetic national file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from prum.federation.cli.common import progress_bar, steps
from rich.console import Console
from rich.table import Table

afis_app = typer.Typer(help="The national fingerprint file (AFIS): evaluate the 1:N matcher.", no_args_is_help=True)


@afis_app.command("evaluate")
def evaluate_command(
    gallery: Annotated[int, typer.Option(min=1, help="Templates in the synthetic national file.")] = 1000,
    probes: Annotated[int, typer.Option(min=1, help="Mated searches (and as many non-mated).")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic population.")] = 2008,
    trace_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of partial (trace) probes.")] = 0.3,
    det: Annotated[Path, typer.Option(help="Where to write the DET plot (PNG).")] = Path("afis-det.png"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
) -> None:
    """Build a synthetic gallery, search mated and non-mated probes, report rank-1, FNIR at FPIR 1 %, latency.

    Example: [bold]prum afis evaluate --gallery 2000 --probes 200 --seed 7 --json[/bold]
    """
    from prum.federation.demo.afis_evaluation import evaluate, write_det_plot

    console = Console(stderr=True)
    with progress_bar(console) as bar:
        result = evaluate(gallery, probes, seed, trace_share, progress=steps(bar))
    write_det_plot(result, det)
    summary = {key: result[key] for key in ("gallery_size", "probes", "seed", "rank1_plain", "rank1_trace",
                                            "fnir_at_fpir_1pct", "threshold_at_fpir_1pct", "latency_ms_p50",
                                            "latency_ms_p95", "memory_bytes_per_template", "enrol_seconds")}
    summary["det_plot"] = str(det)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    table = Table(title=f"AFIS 1:N on {gallery:,} synthetic templates ({probes} mated + {probes} non-mated searches)",
                  title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)
