#!/usr/bin/env python3
"""Two `stray fleet` scorings of the same sets, combined by rank: an
exploration for a detector that looks at two granularities of peers.

Runs every labelled set of bench/quality.py (the real data's syscall
traces, log sessions and tabular sets, and the synthetic fleet's injected
anomalies) once with the defaults and once with
a second configuration (default: `-k 10 --score-space features`, the data
folder's plain k-means recipe), and prints per set the ROC-AUC of each
score and of two combinations of their percentile ranks within the set:
their mean and their maximum (an entity is as unusual as the more alarmed
of the two says). Nothing here is a default of stray's: it measures
whether such a detector would be worth building.

    .venv/bin/python bench/quality_ensemble.py --stray build/examples/stray \
        [--data ../shared/realdata] [-- SECOND CONFIGURATION ARGS]
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (beside this file)

SKIPPED = {"containers/images", "containers/history", "windows/hosts",
           "logs/baseline"}  # no per-entity outlier labels in the form summarise takes


def scored_runs(exe: Path, data: Path, extra: list[str]) -> dict:
    """{set: (entities, scores, labels)} for each labelled set, one configuration."""
    out, current = {}, [None]
    plain = quality.summarise

    def keep(run, label=None, group=None):
        if label:
            out[current[0]] = (list(run["entity"]), np.asarray(run["score"]), label)
        return plain(run, label, group)

    quality.summarise = keep
    try:
        with tempfile.TemporaryDirectory() as work:
            runner = quality.Stray(exe, Path(work), extra)
            for name, case in quality.cases(data):
                if name not in SKIPPED:
                    current[0] = name
                    case(runner)
    finally:
        quality.summarise = plain
    return out


def main(argv: list[str]) -> int:
    extra = argv[argv.index("--") + 1:] if "--" in argv else ["-k", "10", "--score-space",
                                                               "features"]
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stray", type=Path, default=Path("build/examples/stray"))
    p.add_argument("--data", type=Path,
                   default=Path(os.environ.get("STRAY_REALDATA", quality.DEFAULT_DATA)))
    a = p.parse_args(argv)
    first, second = scored_runs(a.stray, a.data, []), scored_runs(a.stray, a.data, extra)
    print(f"second configuration: {' '.join(extra)}")
    print(f"{'set':22s} {'default':>8s} {'second':>8s} {'mean rank':>9s} {'max rank':>9s}")
    columns = []
    for name, (entities, sa, label) in first.items():
        eb, sb, _ = second[name]
        where = {e: i for i, e in enumerate(eb)}
        sb = sb[[where[e] for e in entities]]
        y = np.array([int(label[e]) for e in entities])
        ra, rb = quality.mean_ranks(sa) / len(sa), quality.mean_ranks(sb) / len(sb)
        row = [quality.roc_auc(y, s) for s in (sa, sb, (ra + rb) / 2, np.maximum(ra, rb))]
        columns.append(row)
        print(f"{name:22s} " + " ".join(f"{v:>8.3f}" if i < 2 else f"{v:>9.3f}"
                                       for i, v in enumerate(row)))
    means = np.mean(np.array(columns), axis=0)
    print(f"{'mean':22s} " + " ".join(f"{v:>8.3f}" if i < 2 else f"{v:>9.3f}"
                                      for i, v in enumerate(means)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
