#!/usr/bin/env python3
"""Quality of `stray fleet`'s defaults on real, labelled data and on the synthetic fleet.

The instrument by which the fleet pipeline's defaults are decided
(docs/pipeline.md, "How defaults are decided"): it runs `stray fleet` with
its defaults on every set of the public real-data folder (see its README)
and on the built-in synthetic fleet, and prints one table with, per set,

    k          clusters the run used (the automatic choice unless -k is passed)
    flagged    share of the entities the outlier rules flagged
    AUC, AP    ROC-AUC and average precision of the score against the
               outlier label (AUC from ranks with ties averaged; AP as
               scikit-learn's average_precision_score, step-wise)
    ARI        adjusted Rand index of the clusters against a grouping label
    caught     labelled outliers among the flagged
    sec        wall time of the `stray fleet` process(es)

next to the plain scikit-learn figures that the data folder's README
publishes as the floor to beat (k-means distance and LOF; ARI for the
container rows, ROC-AUC for the others).

The cases:
  containers/images   package inventories; ARI of the clusters vs base OS family
  containers/history  the same through 20 dates; ARI vs image
  windows/hosts       no outlier label: k, flagged share, seconds
  syscalls/traces     AUC/AP against the exploit traces
  logs/sessions       AUC/AP against the anomalous sessions
  logs/baseline       fit on 833 normal sessions (a fixed-seed sample,
                      --baseline), score the other 4,172: flagged share of
                      the normal ones against the rule's nominal rate
                      (100 - percentile), AUC/AP
  tabular/<name>      the 12 numeric sets (X, y): columns standardised (as
                      the README's floor did), written as events
                      `entity,x,f<j>,value` and read with
                      `--normalize '*=none'` so values are used as they are
  synthetic           `stray synth` (2,000 hosts, two per anomaly kind,
                      seed 1), then `stray fleet`: injected anomalies flagged
                      and explained by their signature first (as `stray
                      demo` counts "12 of 12"), and AUC/AP

Usage:
    python3 bench/quality.py [--stray PATH] [--data DIR] [--only SET,...]
                             [--seeds S,S,...] [--fixed-k K,K,...] [--json FILE]
                             [-- EXTRA STRAY FLEET ARGS]

Everything after `--` goes to every `stray fleet` run, so a proposed
default can be compared with the current one on the whole table, e.g.
`bench/quality.py -- --pca 0.9` or `-- -k 10`. --only takes set names
(`logs/baseline`), folders (`tabular`) or last parts (`http`).

One seed's figures can swing (k-means starts, the sample the number of
clusters is chosen on): `--seeds 0,1,2` runs the whole table once per seed
(`--seed S` to every run) and ends with the mean and range of each set's
AUC (ARI for the container sets) across them, against the floors, whose
own recipe is over seeds 0–2. Decide defaults on that summary.

`--fixed-k 32,40,48,56` reruns the sets judged by ARI (the container sets)
with each `-k K` (at each seed) and prints, per set and seed, the automatic
k's ARI beside the best fixed k's and the gap between them (issue 16 asks
for a gap of at most 0.05).

The data folder defaults to ../shared/realdata beside the repository
(environment variable STRAY_REALDATA, or --data). Event files are gzip'd;
when the tool cannot read gzip itself the first run on such a file fails
and the files are decompressed into the temporary folder from then on.

Standard library and numpy only.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STRAY = REPO / "build" / "examples" / "stray"
DEFAULT_DATA = REPO.parent / "shared" / "realdata"

# The data folder README's "What plain scikit-learn gets (the floor to
# beat)" (scikit-learn 1.9.1: per-entity features -> PCA(<= 50) ->
# KMeans(k, n_init=10) -> distance to the own centre; LOF(20) on the PCA
# output; tabular sets standardised, k = 10). Per set: (metric, k-means
# distance, LOF); None where the README gives no figure.
FLOOR = {
    "containers/images": ("ARI", 0.926, None),    # clusters vs base OS, k = 3
    "containers/history": ("ARI", 0.865, None),   # clusters vs image, k = 41
    "syscalls/traces": ("AUC", 0.000, 0.949),     # exploit traces, k = 10
    "logs/sessions": ("AUC", 0.620, 0.764),       # anomalous sessions, k = 10
    "tabular/http": ("AUC", 0.11, 0.36),
    "tabular/smtp": ("AUC", 0.90, 0.87),
    "tabular/shuttle": ("AUC", 0.58, 0.52),
    "tabular/satellite": ("AUC", 0.68, 0.55),
    "tabular/satimage-2": ("AUC", 0.85, 0.54),
    "tabular/thyroid": ("AUC", 0.91, 0.67),
    "tabular/annthyroid": ("AUC", 0.66, 0.73),
    "tabular/cardio": ("AUC", 0.73, 0.55),
    "tabular/mammography": ("AUC", 0.82, 0.72),
    "tabular/pendigits": ("AUC", 0.89, 0.50),
    "tabular/InternetAds": ("AUC", 0.56, 0.61),
    "tabular/musk": ("AUC", 0.74, 0.64),
}

BASELINE_NORMALS = 833   # normal sessions the baseline case fits on
BASELINE_SEED = 0
SYNTH_ARGS = ["--entities", "2000", "--per-kind", "2", "--seed", "1"]


# ---------------------------------------------------------------- metrics

def mean_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks of the scores, a run of equal scores sharing the mean of
    the ranks it spans."""
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    ranks = np.empty(len(s), dtype=np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(ss)) + 1]
    ends = np.r_[starts[1:], len(ss)]
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """ROC-AUC as the Mann-Whitney statistic, tied scores sharing their mean rank."""
    y = y.astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = mean_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    """scikit-learn's average_precision_score: sum over distinct thresholds,
    highest first, of (recall gained) x precision at that threshold."""
    y = y.astype(bool)
    if not y.any():
        return None
    order = np.argsort(-s, kind="mergesort")
    ss, ys = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]
    tps = np.cumsum(ys)[last_of_run]
    precision = tps / (last_of_run + 1.0)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def adjusted_rand(a: list, b: list) -> float:
    """Adjusted Rand index of two labellings (Hubert and Arabie)."""
    _, ia = np.unique(np.asarray(a, dtype=str), return_inverse=True)
    _, ib = np.unique(np.asarray(b, dtype=str), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1), dtype=np.int64)
    np.add.at(table, (ia, ib), 1)
    pairs = lambda x: (x * (x - 1) // 2).sum()  # noqa: E731
    n = len(ia)
    sum_ij, sum_a, sum_b = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = sum_a * sum_b / (n * (n - 1) / 2.0)
    top = (sum_a + sum_b) / 2.0
    return 1.0 if top == expected else float((sum_ij - expected) / (top - expected))


# ---------------------------------------------------------------- running stray

class Stray:
    """Runs `stray fleet`; knows whether the tool reads .gz event files."""

    def __init__(self, exe: Path, work: Path, extra: list[str], order: str = "score"):
        self.exe, self.work, self.extra, self.order = exe, work, extra, order
        self.reads_gzip: bool | None = None  # unknown until the first .gz run
        self.runs = 0

    def _plain(self, path: Path) -> Path:
        out = self.work / "plain" / path.parent.name / path.name[: -len(".gz")]
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return out

    def _run(self, args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
        t0 = time.perf_counter()
        p = subprocess.run([str(self.exe), *args], capture_output=True, text=True)
        return p, time.perf_counter() - t0

    def fleet(self, events: Path, baseline: Path | None = None,
              case_args: list[str] = ()) -> dict:
        """One `stray fleet --json --scores` run; returns its JSON, scores and wall time."""
        self.runs += 1
        scores = self.work / f"scores-{self.runs}.csv"

        def args_for(ev: Path, base: Path | None) -> list[str]:
            a = ["fleet", "--events", str(ev), "--json", "--scores", str(scores)]
            if base is not None:
                a += ["--baseline", str(base)]
            return a + list(case_args) + self.extra

        gz = [p for p in (events, baseline) if p is not None and p.name.endswith(".gz")]
        if gz and self.reads_gzip is not False:
            p, sec = self._run(args_for(events, baseline))
            if p.returncode == 0:
                self.reads_gzip = True
                return self._result(p, sec, scores, self.order)
            if self.reads_gzip is True:
                raise RuntimeError(p.stderr.strip() or f"exit status {p.returncode}")
        ev = self._plain(events) if events.name.endswith(".gz") else events
        base = self._plain(baseline) if baseline and baseline.name.endswith(".gz") else baseline
        p, sec = self._run(args_for(ev, base))
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip() or f"exit status {p.returncode}")
        if gz:
            self.reads_gzip = False  # the plain file worked where .gz did not: decompress from now on
        return self._result(p, sec, scores, self.order)

    @staticmethod
    def _result(p: subprocess.CompletedProcess, sec: float, scores: Path, order: str) -> dict:
        out = json.loads(p.stdout)
        rows = read_csv(scores)
        if order == "rank":  # the tool's strict order: equal scores as the findings order them
            score = np.array([-float(r["fleet_rank"]) for r in rows])
        else:
            score = np.array([float(r["score"]) for r in rows])
            score = np.nan_to_num(score, nan=-np.inf)  # a NaN score ranks lowest
        return {
            "json": out,
            "seconds": sec,
            "entity": [r["entity"] for r in rows],
            "cluster": [r["cluster"] for r in rows],
            "score": score,
            "outlier": np.array([r["outlier"] in ("1", "true") for r in rows]),
        }


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def labels_by_entity(path: Path) -> dict[str, dict]:
    return {r["entity"]: r for r in read_csv(path)}


# ---------------------------------------------------------------- cases

def summarise(run: dict, label: dict | None = None, group: dict | None = None) -> dict:
    """The figures of one run: k, flagged share, and AUC/AP/ARI against the labels given.

    label: entity -> 0/1 outlier label; group: entity -> grouping label.
    Entities without a label are left out of that figure."""
    j = run["json"]
    row = {
        "entities": len(run["entity"]),
        "k": j.get("clusters"),
        "flagged": float(run["outlier"].mean()) if len(run["outlier"]) else None,
        "seconds": run["seconds"],
        "stray_seconds": j.get("seconds"),
        "features": j.get("features"),
        "pca_components": j.get("pca_components"),
        "cluster_choice": j.get("cluster_choice"),
    }
    if label is not None:
        keep = [i for i, e in enumerate(run["entity"]) if e in label]
        y = np.array([label[run["entity"][i]] for i in keep], dtype=bool)
        s = run["score"][keep]
        row.update(auc=roc_auc(y, s), ap=average_precision(y, s),
                   positives=int(y.sum()), caught=int((run["outlier"][keep] & y).sum()),
                   labelled=len(keep))
    if group is not None:
        keep = [i for i, e in enumerate(run["entity"]) if e in group]
        row["ari"] = adjusted_rand([run["cluster"][i] for i in keep],
                                   [group[run["entity"][i]] for i in keep])
        row["labelled"] = len(keep)
    return row


def case_events(stray: Stray, data: Path, events: str, labels: str | None = None,
                outlier_col: str | None = None, group_col: str | None = None) -> dict:
    run = stray.fleet(data / events)
    lab = labels_by_entity(data / labels) if labels else {}
    label = {e: int(r[outlier_col]) for e, r in lab.items()} if outlier_col else None
    group = {e: r[group_col] for e, r in lab.items()} if group_col else None
    return summarise(run, label, group)


def write_events(path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["entity", "group", "feature", "value"])
        w.writerows(rows)


def case_logs_baseline(stray: Stray, data: Path) -> dict:
    """Fit on a fixed-seed sample of normal sessions, score the rest."""
    labels = {e: int(r["anomaly"]) for e, r in labels_by_entity(data / "logs/labels.csv").items()}
    normals = sorted(e for e, a in labels.items() if a == 0)
    rng = np.random.default_rng(BASELINE_SEED)
    base = set(rng.choice(normals, size=BASELINE_NORMALS, replace=False).tolist())
    base_rows, rest_rows = [], []
    with gzip.open(data / "logs/sessions.csv.gz", "rt", newline="") as f:
        for r in csv.DictReader(f):
            (base_rows if r["entity"] in base else rest_rows).append(
                (r["entity"], r["group"], r["feature"], r["value"]))
    split = stray.work / "logs-split"
    split.mkdir(exist_ok=True)
    write_events(split / "baseline.csv", base_rows)
    write_events(split / "rest.csv", rest_rows)
    run = stray.fleet(split / "rest.csv", baseline=split / "baseline.csv")
    row = summarise(run, labels)
    normal = np.array([labels.get(e) == 0 for e in run["entity"]])
    row["flagged_normal"] = float(run["outlier"][normal].mean())
    row["nominal"] = (100.0 - float(run["json"].get("percentile", 95.0))) / 100.0
    row["baseline_entities"] = len(base)
    return row


def tabular_events(npz: Path, out: Path) -> tuple[Path, dict]:
    """Writes a tabular set's standardised columns as events; returns the path and labels.

    Events are amounts: a feature whose values sum to 0 or less is absent
    (docs/fleet-data.md), so a standardised column's negative half would be
    lost. Each column is shifted to a minimum of exactly 0 instead — PCA,
    k-means and every distance are unchanged by a shift — and its 0 is
    written as no event, which `--normalize '*=none'` reads as 0. A row at
    every column's minimum would then have no events and no entity, so each
    row also gets a constant feature (`row:present` = 1), which adds 0 to
    every distance. Constant columns are dropped."""
    z = np.load(npz, allow_pickle=False)
    X, y = z["X"].astype(np.float64), z["y"].astype(int)
    sd = X.std(axis=0)
    keep = sd > 0
    Z = (X[:, keep] - X[:, keep].mean(axis=0)) / sd[keep]
    Z -= Z.min(axis=0)
    names = [f"r{i}" for i in range(Z.shape[0])]
    path = out / (npz.stem + ".csv")
    with open(path, "w") as f:
        f.write("entity,group,feature,value\n")
        f.write("".join(f"{name},row,present,1\n" for name in names))
        for j in range(Z.shape[1]):
            col = Z[:, j]
            nz = np.flatnonzero(col)
            f.write("".join(f"{names[i]},x,f{j},{v:.7g}\n"
                            for i, v in zip(nz.tolist(), col[nz].tolist())))
    return path, dict(zip(names, y.tolist()))


def case_tabular(stray: Stray, npz: Path) -> dict:
    out = stray.work / "tabular"
    out.mkdir(exist_ok=True)
    path, label = tabular_events(npz, out)
    run = stray.fleet(path, case_args=["--normalize", "*=none"])
    path.unlink()
    return summarise(run, label)


def case_synthetic(stray: Stray) -> dict:
    """`stray synth` + `stray fleet`; recall counted as evaluate_recall does
    (include/stray/synthetic/recall.hpp): flagged, and the explanation's first
    feature one of the anomaly's signature features with its sign."""
    out = stray.work / "synth"
    p = subprocess.run([str(stray.exe), "synth", "--out", str(out), *SYNTH_ARGS],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip())
    truth = json.loads((out / "truth.json").read_text())
    run = stray.fleet(out / "events.csv")
    injected = {a["entity"]: a for a in truth["anomalies"]}
    row = summarise(run, {e: int(e in injected) for e in run["entity"]})
    findings = run["json"].get("findings", [])
    position = {f["entity"]: i for i, f in enumerate(findings)}
    sig_first = 0
    for e, a in injected.items():
        if e not in position:
            continue
        feats = findings[position[e]].get("features") or []
        if feats and any(s["feature"] == feats[0]["feature"] and
                         (feats[0]["difference"] > 0) == (s["sign"] > 0)
                         for s in a["signature"]):
            sig_first += 1
    found = [position[e] for e in injected if e in position]
    row.update(injected=len(injected), signature_first=sig_first,
               worst_position=(max(found) + 1) if found else None,
               findings=len(findings))
    return row


def cases(data: Path) -> list[tuple[str, object]]:
    """(name, function of the Stray runner) for every set, in table order."""
    ev = lambda *a, **k: (lambda s: case_events(s, data, *a, **k))  # noqa: E731
    out = [
        ("containers/images", ev("containers/images.csv.gz", "containers/images_labels.csv",
                                 group_col="base_os")),
        ("containers/history", ev("containers/history.csv.gz", "containers/history_labels.csv",
                                  group_col="image")),
        ("windows/hosts", ev("windows/hosts.csv.gz")),
        ("syscalls/traces", ev("syscalls/traces.csv.gz", "syscalls/labels.csv",
                               outlier_col="attack")),
        ("logs/sessions", ev("logs/sessions.csv.gz", "logs/labels.csv", outlier_col="anomaly")),
        ("logs/baseline", lambda s: case_logs_baseline(s, data)),
    ]
    npzs = sorted((data / "tabular").glob("*.npz"), key=lambda p: int(p.stem.split("_")[0]))
    for npz in npzs:
        out.append(("tabular/" + npz.stem.split("_", 1)[1], lambda s, n=npz: case_tabular(s, n)))
    out.append(("synthetic", case_synthetic))
    return out


def selected(name: str, only: list[str]) -> bool:
    return not only or any(name == t or name.startswith(t.rstrip("/") + "/")
                           or name.split("/")[-1] == t for t in only)


# ---------------------------------------------------------------- table

def fmt(x, spec=".3f") -> str:
    return "—" if x is None else format(x, spec)


def table(rows: list[dict]) -> str:
    head = ["set", "entities", "k", "flagged", "AUC", "AP", "ARI", "caught", "sec",
            "floor k-means", "floor LOF"]
    lines = []
    for r in rows:
        if "error" in r:
            lines.append([r["set"], "error"] + [""] * (len(head) - 2))
            continue
        flagged = fmt(r.get("flagged"), ".1%")
        if "flagged_normal" in r:  # the baseline case: share of the normal ones
            flagged = f"{r['flagged_normal']:.1%} of normal (nominal {r['nominal']:.0%})"
        caught = f"{r['caught']}/{r['positives']}" if "caught" in r else "—"
        if "signature_first" in r:
            caught += f", {r['signature_first']} sig. first"
        metric, km, lof = FLOOR.get(r["set"], (None, None, None))
        unit = f" {metric}" if metric else ""
        lines.append([r["set"], str(r["entities"]), str(r["k"]), flagged,
                      fmt(r.get("auc")), fmt(r.get("ap")), fmt(r.get("ari")), caught,
                      f"{r['seconds']:.2f}",
                      fmt(km, ".3f" if km is not None and metric == "ARI" else ".2f") + (unit if km is not None else ""),
                      fmt(lof, ".2f") + (unit if lof is not None else "")])
    return render(head, lines, right={1, 2, 4, 5, 6, 8})


def render(head: list[str], lines: list[list[str]], right=frozenset()) -> str:
    """Columns padded to their widest cell (those in `right` right-aligned), under a rule."""
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(head)]
    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(l) for l in lines])


def headline(row: dict) -> tuple[str, float | None]:
    """The figure a set is judged by: ARI where the floor is ARI, else AUC."""
    metric = FLOOR.get(row["set"], ("AUC", None, None))[0] or "AUC"
    return metric, row.get(metric.lower())


def across_seeds(by_seed: dict[int, list[dict]]) -> list[dict]:
    """Per set: the headline figure's mean, minimum and maximum over the seeds."""
    out = []
    first = next(iter(by_seed.values()))
    for i, r0 in enumerate(first):
        metric, _ = headline(r0)
        values = {seed: headline(rows[i])[1] for seed, rows in by_seed.items()}
        known = [v for v in values.values() if v is not None]
        _, km, lof = FLOOR.get(r0["set"], (None, None, None))
        floor = max((f for f in (km, lof) if f is not None), default=None)
        mean = sum(known) / len(known) if known else None
        out.append({"set": r0["set"], "metric": metric, "values": values,
                    "mean": mean, "min": min(known, default=None),
                    "max": max(known, default=None), "floor": floor,
                    "below_floor": None if mean is None or floor is None else mean < floor})
    return out


def seeds_table(summary: list[dict]) -> str:
    head = ["set", "metric", "mean", "min", "max", "by seed", "floor", ""]
    lines = []
    for r in summary:
        by_seed = " ".join(f"{s}:{fmt(v)}" for s, v in r["values"].items())
        mark = "below" if r["below_floor"] else ""
        lines.append([r["set"], r["metric"], fmt(r["mean"]), fmt(r["min"]), fmt(r["max"]),
                      by_seed, fmt(r["floor"], ".2f"), mark])
    return render(head, lines)


def run_table(args, todo, extra: list[str]) -> tuple[list[dict], Stray]:
    """Every selected set once with the given extra arguments; returns the rows and the runner."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="stray-quality-") as tmp:
        stray = Stray(args.stray, Path(tmp), extra, args.order)
        for name, run_case in todo:
            print(f"  {name} ...", file=sys.stderr, flush=True)
            try:
                row = {"set": name, **run_case(stray)}
            except (RuntimeError, OSError, ValueError, KeyError) as e:
                row = {"set": name, "error": str(e) or type(e).__name__}
            rows.append(row)
    return rows, stray


def parse_int_list(text: str, flag: str, positive: bool) -> list[int]:
    """A --flag's value: distinct integers, separated by commas, > 0 or >= 0."""
    try:
        values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{flag} takes integers separated by commas, got {text!r}")
    least, kind = (1, "positive") if positive else (0, "non-negative")
    if not values or any(v < least for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{flag} takes distinct {kind} integers, got {text!r}")
    return values


def parse_seeds(text: str) -> list[int]:
    return parse_int_list(text, "--seeds", positive=False)


def parse_ks(text: str) -> list[int]:
    return parse_int_list(text, "--fixed-k", positive=True)


def fixed_k_gaps(auto_rows: list[dict], by_k: dict[int, list[dict]], seed) -> list[dict]:
    """Per set of auto_rows: its ARI beside the best ARI over the fixed k, and the gap."""
    out = []
    for i, auto in enumerate(auto_rows):
        fixed = {k: rows[i].get("ari") for k, rows in by_k.items()}
        known = {k: v for k, v in fixed.items() if v is not None}
        best_k = max(known, key=known.get, default=None)
        best = known.get(best_k)
        ari = auto.get("ari")
        gap = None if best is None or ari is None else best - ari
        out.append({"set": auto["set"], "seed": seed, "auto_k": auto.get("k"), "auto_ari": ari,
                    "fixed": fixed, "best_k": best_k, "best_ari": best, "gap": gap})
    return out


def gaps_table(gaps: list[dict]) -> str:
    head = ["set", "seed", "auto k", "ARI", "best fixed k", "ARI", "gap", "by k"]
    lines = [[g["set"], "—" if g["seed"] is None else str(g["seed"]), str(g["auto_k"]),
              fmt(g["auto_ari"]), str(g["best_k"]), fmt(g["best_ari"]), fmt(g["gap"]),
              " ".join(f"{k}:{fmt(v)}" for k, v in g["fixed"].items())] for g in gaps]
    return render(head, lines, right={1, 2, 3, 4, 5, 6})


def sweep_fixed_k(args, todo, extra: list[str], ks: list[int], auto_rows: list[dict],
                  seed) -> list[dict]:
    """The ARI-judged sets of todo once per k in ks; their gaps to the automatic k."""
    names = [n for n, _ in todo if FLOOR.get(n, ("AUC",))[0] == "ARI"]
    sub = [(n, f) for n, f in todo if n in names]
    by_k = {k: run_table(args, sub, extra + ["-k", str(k)])[0] for k in ks}
    return fixed_k_gaps([r for r in auto_rows if r["set"] in names], by_k, seed)


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    if "--" in argv:
        argv = argv[: argv.index("--")]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Arguments after -- go to every `stray fleet` run.")
    ap.add_argument("--stray", type=Path, default=DEFAULT_STRAY, help="the stray executable")
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("STRAY_REALDATA", DEFAULT_DATA)),
                    help="the real-data folder (default: $STRAY_REALDATA or ../shared/realdata)")
    ap.add_argument("--only", action="append", default=[],
                    help="sets to run (comma-separated, repeatable): a name, folder or last part")
    ap.add_argument("--seeds", type=parse_seeds,
                    help="run the table once per seed (e.g. 0,1,2) and summarise across them")
    ap.add_argument("--fixed-k", type=parse_ks,
                    help="also run the ARI-judged sets at each of these k (e.g. 32,40,48,56) "
                         "and print the automatic k's gap to the best of them")
    ap.add_argument("--order", choices=("score", "rank"), default="score",
                    help="what AUC and AP read: the score (equal scores tie; the default, as the "
                         "floors were measured) or the scores file's fleet_rank (the findings' "
                         "strict order, ties broken as the tool breaks them)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args(argv)
    if args.seeds and any(a == "--seed" or a.startswith("--seed=") for a in extra):
        sys.exit("quality.py: pass --seeds or `-- --seed S`, not both")
    if args.fixed_k and any(a in ("-k", "--clusters") or a.startswith(("-k=", "--clusters="))
                            for a in extra):
        sys.exit("quality.py: pass --fixed-k or `-- -k K`, not both")
    only = [t for o in args.only for t in o.split(",") if t]

    if not args.stray.exists():
        sys.exit(f"quality.py: no stray executable at {args.stray} (build it or pass --stray)")
    version = subprocess.run([str(args.stray), "--version"], capture_output=True,
                             text=True).stdout.strip()
    todo = [(n, f) for n, f in cases(args.data) if selected(n, only)]
    if not args.data.is_dir():
        print(f"no real-data folder at {args.data}: only the synthetic fleet runs "
              "(pass --data or set STRAY_REALDATA)", file=sys.stderr)
        todo = [(n, f) for n, f in todo if n == "synthetic"]
    if not todo:
        sys.exit("quality.py: --only matched no set")

    t_all = time.perf_counter()
    by_seed: dict[int, list[dict]] = {}
    gaps: list[dict] = []
    for seed in args.seeds or [None]:
        run_extra = extra + (["--seed", str(seed)] if seed is not None else [])
        rows, stray = run_table(args, todo, run_extra)
        by_seed[seed] = rows
        if args.fixed_k:
            gaps += sweep_fixed_k(args, todo, run_extra, args.fixed_k, rows, seed)
        print(f"stray fleet {version}, defaults" +
              (" + " + " ".join(run_extra) if run_extra else ""))
        print(table(rows))
        for r in rows:
            if "error" in r:
                print(f"{r['set']}: {r['error']}")
        if seed is not None:
            print()
    total = time.perf_counter() - t_all
    summary = None
    if args.seeds:
        summary = across_seeds(by_seed)
        print(f"across seeds {','.join(map(str, args.seeds))}"
              " (floor: the better of the two; below: the mean is under it)")
        print(seeds_table(summary))
    if args.fixed_k:
        print("\nthe automatic k against fixed k (gap: the best fixed k's ARI minus the "
              "automatic k's)")
        print(gaps_table(gaps) if gaps else "(no set judged by ARI was run)")

    print(f"\nfloor: plain scikit-learn figures from the data folder's README (ARI for the "
          f"container sets, ROC-AUC otherwise); {total:.0f} s in all")
    if args.json:
        doc = {
            "date": datetime.date.today().isoformat(),
            "stray_version": version,
            "extra_args": extra,
            "reads_gzip": stray.reads_gzip,
            "seconds_total": total,
            "floor": {k: {"metric": m, "kmeans": km, "lof": lof} for k, (m, km, lof) in FLOOR.items()},
        }
        if args.seeds:
            doc["seeds"] = {str(seed): rows for seed, rows in by_seed.items()}
            doc["across_seeds"] = summary
        else:
            doc["sets"] = by_seed[None]
        if args.fixed_k:
            doc["fixed_k"] = gaps
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    rows_all = [r for rows in by_seed.values() for r in rows]
    return 1 if any("error" in r for r in rows_all) else 0


if __name__ == "__main__":
    sys.exit(main())
