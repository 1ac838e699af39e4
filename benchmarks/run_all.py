"""`make bench`: every benchmark in turn; each writes its own section of docs/benchmarks.md."""
from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ("bench_toy", "bench_metrics", "bench_images", "bench_mode_collapse", "bench_remedies",
              "bench_conditional_coverage", "bench_oversampling", "bench_distributed",
              "bench_variants", "bench_threads", "bench_time_to_quality", "bench_points_recipe",
              "bench_image_throughput", "bench_stacked_mnist", "bench_refine", "bench_clusters")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        try:
            importlib.import_module(f"benchmarks.{name}").main([])
        except Exception as exc:  # one failing benchmark must not hide the others' figures
            print(f"{name} failed: {exc!r}", file=sys.stderr)
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - start:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
