"""numba's `njit` when numba is installed and not switched off, else a decorator that leaves functions as they are.

`compiler(env)` returns (available, njit): with the environment variable `env` set (e.g.
PRUM_AFIS_NO_NUMBA=1) or without numba, `available` is False and `njit(...)` returns the function
unchanged, so a module's kernels run as plain Python (its callers then take their numpy path).

A container image carries its kernels compiled (the Dockerfile): in a read-only folder, `PRUM_NUMBA_CACHE_SEED`,
which numba cannot use as it is (it only takes a cache folder it can write to). So before numba is imported, a
seed folder is copied to numba's cache folder (`NUMBA_CACHE_DIR`, e.g. on a tmpfs) when that does not exist yet:
numba then loads the kernels from it instead of compiling them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any


def _identity(*args: Any, **kwargs: Any) -> Any:
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]

    def wrap(function: Any) -> Any:
        return function
    return wrap


def seed_numba_cache(seed: str | None, cache: str | None) -> bool:
    """Copy the compiled kernels of `seed` (a folder numba filled) to `cache` (numba's NUMBA_CACHE_DIR) unless
    `cache` exists; True when copied. Copied to a temporary sibling, then renamed: a process that starts at
    the same time sees either no cache or all of it. A copy that fails leaves numba to compile as usual."""
    if not seed or not cache or os.path.abspath(seed) == os.path.abspath(cache) or not os.path.isdir(seed) \
            or os.path.exists(cache):
        return False
    partial = f"{cache.rstrip(os.sep)}.{os.getpid()}.partial"
    try:
        shutil.copytree(seed, partial)
        os.rename(partial, cache)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return False
    return True


def compiler(env: str) -> tuple[bool, Callable[..., Any]]:
    """(whether numba is used, its njit or a stand-in) for a module switched off by the variable `env`."""
    if os.environ.get(env):
        return False, _identity
    seed_numba_cache(os.environ.get("PRUM_NUMBA_CACHE_SEED"), os.environ.get("NUMBA_CACHE_DIR"))
    try:  # pragma: no cover - depends on the environment
        from numba import njit
    except ImportError:  # pragma: no cover - depends on the environment
        return False, _identity
    return True, njit


def compiled_signatures(module: Any) -> dict[str, int]:
    """How many compiled signatures each numba kernel of `module` holds (empty without numba): what a
    warm-up has compiled, and, compared before and after some work, whether that work compiled more."""
    try:
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover - depends on the environment
        return {}
    return {name: len(kernel.signatures) for name in dir(module)
            if isinstance(kernel := getattr(module, name), CPUDispatcher)}


def once_per_process(available: bool, exercise: Callable[[], None]) -> Callable[[], float]:
    """A `compile_kernels()` for a module's kernels: runs `exercise` (work that calls every kernel, so
    numba compiles them or loads them from its cache) the first time it is called in this process,
    under a lock, and returns the seconds it took; 0.0 afterwards and when numba is off."""
    lock = threading.Lock()
    done = not available

    def compile_kernels() -> float:
        nonlocal done
        if done:
            return 0.0
        with lock:
            if done:
                return 0.0
            started = time.perf_counter()
            exercise()
            done = True
            return time.perf_counter() - started

    return compile_kernels
