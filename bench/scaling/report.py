"""The scaling ladder's report: slopes, shares of the ceilings, tables, a log-log SVG.

Reads the driver's and the peers' CSV rows (run.py collects them);
`python report.py scaling.csv OUT_DIR` redraws summary.md and scaling.svg
from a saved CSV.
"""

import csv
import math
import sys
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape

FIELDS = [
    "kind",
    "rows",
    "cols",
    "tool",
    "backend",
    "threads",
    "step",
    "seconds",
    "rate",
    "unit",
    "peak_mib",
    "quality_name",
    "quality",
    "iterations",
    "device",
]
TOOLS = ["stray", "scikit-learn", "faiss", "pytorch", "cupy"]
STEPS = [
    "read",
    "features",
    "generate",
    "upload",
    "pca",
    "truncated_svd",
    "kmeans",
    "scores",
    "outliers",
    "rarity",
    "explain",
    "pipeline",
    "lof",
]
PLOTTED = {
    "pca": "#1f77b4",
    "kmeans": "#d62728",
    "scores": "#2ca02c",
    "pipeline": "#000000",
    "lof": "#9467bd",
}
DASHES = {"stray": "", "scikit-learn": "6,3", "faiss": "2,2", "pytorch": "8,2,2,2", "cupy": "1,3"}
# Steps whose work is the same for every tool, so a ratio of times means
# something: on the fleet stray's "scores" also builds per-cluster feature
# statistics and its "pipeline" reads events, which the peers do not.
COMPARABLE = {"dense": {"pca", "kmeans", "scores", "pipeline", "lof"}, "fleet": {"pca", "kmeans"}}


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def slope(sizes, seconds):
    """Least-squares slope of log(seconds) against log(size): 1 is linear."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def who(row):
    """The column a row belongs to: tool, backend (where not the CPU) and threads."""
    backend = "" if row["backend"] == "cpu" else f" {row['backend']}"
    return f"{row['tool']}{backend} {row['threads']}t"


def order_key(name):
    tool = name.split(" ")[0]
    return (TOOLS.index(tool) if tool in TOOLS else len(TOOLS), name)


def series(rows):
    """{(kind, who, step): [(size, seconds), ...]} over the ladder, sizes ascending."""
    out = defaultdict(list)
    for r in rows:
        if r["kind"] != "ceilings" and float(r["seconds"]) > 0:
            out[(r["kind"], who(r), r["step"])].append((int(r["rows"]), float(r["seconds"])))
    return {key: sorted(points) for key, points in out.items()}


def slopes(rows):
    """{(kind, who, step): slope} where a series has two sizes or more."""
    return {
        key: slope([p[0] for p in pts], [p[1] for p in pts])
        for key, pts in series(rows).items()
        if len({p[0] for p in pts}) >= 2
    }


def ceilings(rows):
    """{(backend, threads, unit): rate} of the backend's measured ceilings."""
    unit_of = {"ceiling_gemm": "GFLOP/s", "ceiling_stream": "GB/s"}
    return {
        (r["backend"], r["threads"], unit_of[r["step"]]): float(r["rate"])
        for r in rows
        if r["kind"] == "ceilings" and r["step"] in unit_of and r["rate"]
    }


def ceiling_share(row, tops):
    """A stray step's rate over its backend's ceiling of the same unit, or None."""
    top = tops.get((row["backend"], row["threads"], row["unit"]))
    return float(row["rate"]) / top if top and row["rate"] else None


def fmt_seconds(t):
    return "" if t is None else (f"{t:.3f}" if t < 10 else f"{t:.1f}")


def time_table(rows, kind):
    """Markdown: seconds per step and size, a column per tool/backend/threads, then how many
    times faster stray is than the fastest peer on the same hardware: on the CPU at the same
    thread count, on the GPU (PyTorch, CuPy) against stray's CUDA backend."""
    mine = [r for r in rows if r["kind"] == kind]
    place = {who(r): (r["tool"], r["backend"], r["threads"]) for r in mine}
    columns = sorted(place, key=order_key)
    threads = sorted(
        {r["threads"] for r in mine if r["tool"] == "stray" and r["backend"] == "cpu"}, key=int
    )
    # (heading, stray's column, which peers count) per ratio column
    ratios = [(f"best peer ÷ stray {t}t", f"stray {t}t",
               lambda p, t=t: p[1] == "cpu" and p[2] == t) for t in threads]
    for c in columns:
        if place[c][0] == "stray" and place[c][1] != "cpu":
            ratios.append((f"best GPU peer ÷ {c}", c, lambda p, b=place[c][1]: p[1] == b))
    cell = {(int(r["rows"]), r["step"], who(r)): float(r["seconds"]) for r in mine}
    head = ["size", "step", *columns, *[h for h, _, _ in ratios]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sorted({int(r["rows"]) for r in mine}):
        for step in [s for s in STEPS if any((n, s, c) in cell for c in columns)]:
            values = [fmt_seconds(cell.get((n, step, c))) for c in columns]
            same_work = step in COMPARABLE.get(kind, ())
            for _, ours_column, counts in ratios:
                ours = cell.get((n, step, ours_column))
                peers = [cell[(n, step, c)] for c in columns
                         if place[c][0] != "stray" and counts(place[c]) and (n, step, c) in cell]
                values.append(f"{min(peers) / ours:.2f}×" if ours and peers and same_work else "")
            lines.append(f"| {n:,} | {step} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def quality_table(rows, kind):
    """Markdown: what each tool's step produced, beside its time (inertia, variance, flagged)."""
    mine = [r for r in rows if r["kind"] == kind and r["quality_name"]]
    columns = sorted({who(r) for r in mine}, key=order_key)
    cell = {(int(r["rows"]), r["step"], who(r)): r for r in mine}
    lines = [
        "| size | step | figure | " + " | ".join(columns) + " |",
        "|" + "---|" * (3 + len(columns)),
    ]
    for n in sorted({int(r["rows"]) for r in mine}):
        for step in [s for s in STEPS if any((n, s, c) in cell for c in columns)]:
            name = next(cell[(n, step, c)]["quality_name"] for c in columns if (n, step, c) in cell)
            values = []
            for c in columns:
                r = cell.get((n, step, c))
                it = f" ({r['iterations']} it.)" if r and r["iterations"] else ""
                values.append("" if r is None else f"{float(r['quality']):.6g}{it}")
            lines.append(f"| {n:,} | {step} | {name} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def slope_table(rows):
    found = slopes(rows)
    columns = sorted({key[1] for key in found}, key=order_key)
    lines = ["| kind | step | " + " | ".join(columns) + " |", "|" + "---|" * (2 + len(columns))]
    for kind in sorted({key[0] for key in found}):
        for step in [s for s in STEPS if any((kind, c, s) in found for c in columns)]:
            values = [
                f"{found[(kind, c, step)]:.2f}" if (kind, c, step) in found else "" for c in columns
            ]
            lines.append(f"| {kind} | {step} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def ceiling_table(rows):
    tops = ceilings(rows)
    lines = ["| backend | threads | GEMM GFLOP/s | stream GB/s |", "|---|---|---|---|"]
    for backend, threads in sorted({(b, t) for b, t, _ in tops}):
        gemm = tops.get((backend, threads, "GFLOP/s"))
        stream = tops.get((backend, threads, "GB/s"))
        lines.append(f"| {backend} | {threads} | {gemm or 0:.1f} | {stream or 0:.1f} |")
    lines += [
        "",
        "| kind | size | step | backend threads | rate | share of the ceiling |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = ceiling_share(r, tops) if r["tool"] == "stray" and r["kind"] != "ceilings" else None
        if share is not None:
            lines.append(
                f"| {r['kind']} | {int(r['rows']):,} | {r['step']} | {r['backend']} {r['threads']}t "
                f"| {float(r['rate']):.1f} {r['unit']} | {100 * share:.0f}% |"
            )
    return "\n".join(lines)


# How far another backend's figure may be from the CPU's: float32 data with
# float64 sums give PCA ratios to ~1e-6; k-means from the same start keeps
# its objective within 1e-4 unless rows near a boundary move; the
# percentile rule's count moves with them (0.1% of the rows, at least 2).
TOLERANCE = {
    "explained_variance_ratio": ("abs", 1e-5),
    "inertia": ("rel", 1e-4),
    "flagged": ("rows", 1e-3),
}


def agreement(rows):
    """stray's figures on every backend and thread count against the CPU's at the
    fewest threads: [(kind, size, step, who, reference, value, ok)]. The CPU's
    results do not depend on the thread count, so there they must be equal."""
    mine = [
        r
        for r in rows
        if r["tool"] == "stray" and r["kind"] != "ceilings" and r["quality_name"] in TOLERANCE
    ]
    fewest = {}
    for r in mine:
        if r["backend"] == "cpu":
            key = (r["kind"], r["rows"], r["step"])
            if key not in fewest or int(r["threads"]) < int(fewest[key]["threads"]):
                fewest[key] = r
    out = []
    for r in mine:
        ref = fewest.get((r["kind"], r["rows"], r["step"]))
        if ref is None or r is ref:
            continue
        a, b = float(ref["quality"]), float(r["quality"])
        if r["backend"] == "cpu":
            ok = a == b
        else:
            how, tol = TOLERANCE[r["quality_name"]]
            limit = {"abs": tol, "rel": tol * abs(a), "rows": max(2.0, tol * int(r["rows"]))}[how]
            ok = abs(a - b) <= limit
        out.append((r["kind"], int(r["rows"]), r["step"], who(r), a, b, ok))
    return out


def agreement_table(rows):
    lines = [
        "| kind | size | step | against the CPU's fewest threads | reference | value | agrees |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, n, step, name, a, b, ok in agreement(rows):
        lines.append(
            f"| {kind} | {n:,} | {step} | {name} | {a:.10g} | {b:.10g} | {'yes' if ok else '**no**'} |"
        )
    return "\n".join(lines)


def summary(rows, machine, command):
    parts = [f"# Fleet-size scaling\n\n{machine}\n\nCommand: `{command}`\n"]
    for kind in [k for k in ("dense", "fleet") if any(r["kind"] == k for r in rows)]:
        sample = next(r for r in rows if r["kind"] == kind)
        parts.append(
            f"## {kind} ({sample['cols']} features)\n\nSeconds:\n\n{time_table(rows, kind)}\n\n"
            f"What each produced:\n\n{quality_table(rows, kind)}\n"
        )
    parts.append(
        "## Slopes (log seconds over log fleet size; 1 is linear)\n\n" + slope_table(rows) + "\n"
    )
    parts.append(
        "## The backends' ceilings, and each step's share of them\n\n" + ceiling_table(rows) + "\n"
    )
    parts.append(
        "## stray's figures across backends and thread counts\n\n" + agreement_table(rows) + "\n"
    )
    return "\n".join(parts)


def plotted_series(rows):
    """The series drawn: the plotted steps, at each tool's largest thread count."""
    top = defaultdict(int)
    for r in rows:
        top[(r["tool"], r["backend"])] = max(top[(r["tool"], r["backend"])], int(r["threads"]))
    return series(
        [
            r
            for r in rows
            if r["step"] in PLOTTED and int(r["threads"]) == top[(r["tool"], r["backend"])]
        ]
    )


def decades(lo, hi):
    return list(range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1))


def svg_panel(x0, kind, data, width=440, height=330):
    """One log-log panel: its frame, decade grid and series."""
    left, top, right, bottom = x0 + 60, 40, x0 + width - 10, height - 40
    sizes = [p[0] for pts in data.values() for p in pts]
    times = [p[1] for pts in data.values() for p in pts]
    xd, yd = decades(min(sizes), max(sizes)), decades(min(times), max(times))
    if len(xd) < 2:
        xd.append(xd[0] + 1)
    if len(yd) < 2:
        yd.append(yd[0] + 1)
    X = lambda v: left + (math.log10(v) - xd[0]) / (xd[-1] - xd[0]) * (right - left)  # noqa: E731
    Y = lambda v: bottom - (math.log10(v) - yd[0]) / (yd[-1] - yd[0]) * (bottom - top)  # noqa: E731
    out = [
        f'<text x="{(left + right) / 2}" y="22" text-anchor="middle" font-weight="bold">{escape(kind)}</text>',
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#888"/>',
    ]
    for e in xd:
        out.append(
            f'<line x1="{X(10 ** e):.1f}" y1="{top}" x2="{X(10 ** e):.1f}" y2="{bottom}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{X(10 ** e):.1f}" y="{bottom + 16}" text-anchor="middle">1e{e}</text>'
        )
    for e in yd:
        out.append(
            f'<line x1="{left}" y1="{Y(10 ** e):.1f}" x2="{right}" y2="{Y(10 ** e):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{Y(10 ** e) + 4:.1f}" text-anchor="end">1e{e} s</text>'
        )
    out.append(
        f'<text x="{(left + right) / 2}" y="{height - 6}" text-anchor="middle">entities</text>'
    )
    for (name, step), pts in sorted(data.items()):
        tool = name.split(" ")[0]
        path = " ".join(f"{X(n):.1f},{Y(t):.1f}" for n, t in pts)
        dash = f' stroke-dasharray="{DASHES[tool]}"' if DASHES.get(tool) else ""
        width_px = 3 if " cuda " in f" {name} " else 1.6
        out.append(
            f'<polyline class="series" data-series="{escape(name)} {step}" points="{path}" fill="none" '
            f'stroke="{PLOTTED[step]}" stroke-width="{width_px}"{dash}/>'
        )
        for n, t in pts:
            out.append(f'<circle cx="{X(n):.1f}" cy="{Y(t):.1f}" r="2.5" fill="{PLOTTED[step]}"/>')
    return out


def svg(rows):
    """Time against fleet size, log-log, a panel per kind: colour = step, dash = tool
    (solid stray, dashed scikit-learn, dotted faiss; thick: a GPU backend)."""
    chosen = plotted_series(rows)
    kinds = [k for k in ("dense", "fleet") if any(key[0] == k for key in chosen)]
    width, height = 440 * max(1, len(kinds)), 400
    body = []
    for i, kind in enumerate(kinds):
        data = {(name, step): pts for (k, name, step), pts in chosen.items() if k == kind}
        body += svg_panel(440 * i, kind, data)
    legend = [
        f'<text x="{10 + 90 * i}" y="{height - 30}" fill="{c}">■ {s}</text>'
        for i, (s, c) in enumerate(PLOTTED.items())
    ]
    legend.append(
        f'<text x="10" y="{height - 12}">solid: stray · dashed: scikit-learn · dotted: faiss · '
        f"thick: GPU backend · each tool at its largest thread count</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n'
        + "\n".join(body + legend)
        + "\n</svg>\n"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: report.py scaling.csv OUT_DIR")
    rows = read_csv(sys.argv[1])
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(summary(rows, "(redrawn from a saved CSV)", " ".join(sys.argv)))
    (out / "scaling.svg").write_text(svg(rows))
    print(summary(rows, "(redrawn from a saved CSV)", " ".join(sys.argv)))
