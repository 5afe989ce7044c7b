"""Wall time of `upward demo` (target: under 20 seconds on 2 cores)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 3


def main() -> None:
    upward = str(Path(sys.executable).with_name("upward"))
    times = []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            subprocess.run([upward, "demo"], cwd=folder, check=True, capture_output=True)  # noqa: S603
            times.append(time.perf_counter() - started)
    median = sorted(times)[RUNS // 2]
    print(f"upward demo: best {min(times):.2f} s, median {median:.2f} s over {RUNS} runs")
    print(f"target 20 s: {'met' if min(times) < 20 else 'MISSED'} (ratio {min(times) / 20:.2f})")


if __name__ == "__main__":
    main()
