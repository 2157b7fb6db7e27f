#!/usr/bin/env python3
"""Regenerate the Python stubs of the federation's contracts, or check that they are fresh.

    python protos/generate.py           # write *_pb2.py, *_pb2_grpc.py, *.pyi beside the .proto files
    python protos/generate.py --check   # exit 1 and list the stale files when a regeneration would differ

The tool versions are pinned in pyproject.toml (extra `dev`): grpcio-tools and mypy-protobuf decide
the output byte for byte, so the check only means something with those versions installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROTOS = Path(__file__).resolve().parent
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_files() -> list[Path]:
    return sorted(PROTOS.glob("prum/**/*.proto"))


def _plugin(name: str) -> str:
    """Find a protoc plugin installed beside this interpreter (mypy-protobuf's scripts)."""
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the dev extra (pip install -e '.[dev]')")
    return found


def generate(out: Path) -> None:
    """Run protoc (from grpcio-tools) on every contract, writing the stubs under `out`."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTOS)) for p in proto_files()]
    args = [
        "protoc",
        f"--proto_path={PROTOS}",
        f"--proto_path={well_known}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    # Every generated folder is a package, so `prum.dna.v1` imports without namespace tricks.
    for proto in files:
        folder = out / Path(proto).parent
        while folder != out:
            (folder / "__init__.py").touch()
            folder = folder.parent


def generated_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.glob("prum/**/*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the committed stubs are stale")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh_root = Path(tmp)
        generate(fresh_root)
        fresh = generated_files(fresh_root)
        if options.check:
            current = generated_files(PROTOS)
            stale = sorted(n for n in fresh.keys() | current.keys() if fresh.get(n) != current.get(n))
            if stale:
                print("stale generated stubs (run python protos/generate.py):", *stale, sep="\n  ")
                return 1
            print(f"{len(fresh)} generated files are fresh")
            return 0
        for old in generated_files(PROTOS):
            if old not in fresh:
                (PROTOS / old).unlink()
        for name, content in fresh.items():
            target = PROTOS / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            for folder in (target.parent, *target.parent.parents):
                if folder == PROTOS:
                    break
                (folder / "__init__.py").touch()
        print(f"wrote {len(fresh)} generated files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
