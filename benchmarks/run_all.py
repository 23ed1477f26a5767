"""Run every benchmark module (benchmarks/*.py with a main()) in turn: `python -m benchmarks.run_all [N]`.

Arguments are passed on to each benchmark (both take the number of clinics first). Each one
creates and drops its own database, so they never touch development data."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def benchmark_modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(
        f"benchmarks.{info.name}"
        for info in pkgutil.iter_modules([str(here)])
        if not info.name.startswith("_") and info.name != "run_all"
    )


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    failures = []
    for name in benchmark_modules():
        module = importlib.import_module(name)
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        sys.stdout.write(f"=== {name} {' '.join(argv)}\n")
        sys.stdout.flush()
        started = time.perf_counter()
        try:
            entry(argv)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failures.append(name)
        except Exception:  # report and go on with the next benchmark
            traceback.print_exc()
            failures.append(name)
        sys.stdout.write(f"=== {name} done in {time.perf_counter() - started:.0f} s\n\n")
    if failures:
        raise SystemExit(f"benchmarks failed: {', '.join(failures)}")


if __name__ == "__main__":
    main()
