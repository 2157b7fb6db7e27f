"""The image's numba kernels (issue 19): a read-only seed folder is copied to numba's writable cache folder once."""

from __future__ import annotations

from pathlib import Path

from prum.services.common.jit import seed_numba_cache


def test_a_seed_is_copied_once_to_a_cache_that_does_not_exist(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "dna_0123").mkdir(parents=True)
    (seed / "dna_0123" / "kernels.scan-1.py311.nbi").write_bytes(b"index")
    cache = tmp_path / "tmp" / "numba-cache"
    assert seed_numba_cache(str(seed), str(cache))
    assert (cache / "dna_0123" / "kernels.scan-1.py311.nbi").read_bytes() == b"index"
    (cache / "dna_0123" / "kernels.scan-2.py311.nbi").write_bytes(b"compiled since")
    assert not seed_numba_cache(str(seed), str(cache))  # a cache that exists is numba's: left as it is
    assert (cache / "dna_0123" / "kernels.scan-2.py311.nbi").exists()
    assert sorted(p.name for p in cache.parent.iterdir()) == ["numba-cache"]  # no partial copy left behind


def test_nothing_is_copied_without_a_seed_or_a_cache_folder(tmp_path: Path) -> None:
    assert not seed_numba_cache(None, str(tmp_path / "cache"))
    assert not seed_numba_cache(str(tmp_path / "missing"), str(tmp_path / "cache"))
    assert not seed_numba_cache(str(tmp_path), None)
    assert not seed_numba_cache(str(tmp_path), str(tmp_path))
    assert not (tmp_path / "cache").exists()


def test_a_copy_that_fails_leaves_no_partial_cache(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "kernels.nbi").write_bytes(b"index")
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert not seed_numba_cache(str(seed), str(blocked / "cache"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "seed"]
