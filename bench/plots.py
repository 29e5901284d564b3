"""Lateness distributions as PNGs (run by ``python -m bench`` in its matplotlib virtualenv).

``python plots.py results.json OUTDIR`` writes one plot per workload with lateness samples
(W1, W2, W4) and prints each file name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TITLES = {
    "W1": "W1 fire storm: lateness of each fire",
    "W2": "W2 timer precision: lateness",
    "W4": "W4 churn: lateness",
}


def label(r: dict) -> str:
    backend = f", {r['backend']}" if r.get("backend") == "asyncio" else ""
    return f"{r['system']} ({r['store']}{backend})"


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    for workload, title in TITLES.items():
        rows = [r for r in data["results"] if r.get("workload") == workload and r.get("samples")]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
        for r in rows:
            xs = sorted(max(s * 1000, 1e-3) for s in r["samples"])
            ys = [100 * (i + 1) / len(xs) for i in range(len(xs))]
            ax.step(xs, ys, where="post", label=label(r))
        ax.set_xscale("log")
        ax.set_xlabel("lateness (ms, log scale)")
        ax.set_ylabel("fires at most this late (%)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        name = f"bench-{workload.lower()}-lateness.png"
        fig.savefig(out / name)
        plt.close(fig)
        print(name)


if __name__ == "__main__":
    main()
