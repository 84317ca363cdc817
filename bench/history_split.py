#!/usr/bin/env python3
"""One day of the container-image history, for `stray stability`.

The real-data set containers/history.csv.gz holds each image's package
inventory at 20 dates (entity `image@date`); the dates differ from image to
image. This script writes one snapshot of the fleet as stray's event CSV
with the entity renamed to the image, so that two snapshots name the same
image alike and `stray stability` can keep the images present on both:

    --as-of DATE    each image as it stood on DATE: its latest snapshot on or
                    before DATE (images with no snapshot yet are absent)
    --snapshot I    each image's I-th snapshot by date (0 = oldest, -1 = newest)

Usage:
    python3 bench/history_split.py --as-of 2026-05-01 --out day1.csv
    python3 bench/history_split.py --as-of 2026-06-01 --out day2.csv
    stray stability --day1 day1.csv --day2 day2.csv

The data folder defaults to ../shared/realdata beside the repository
(environment variable STRAY_REALDATA, or --data). Standard library only.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("STRAY_REALDATA", REPO.parent / "shared" / "realdata"))


def chosen_snapshots(dates_by_image: dict[str, list[str]], as_of: str | None,
                     snapshot: int | None) -> dict[str, str]:
    """image -> the date of its snapshot in this day's fleet."""
    out = {}
    for image, dates in dates_by_image.items():
        dates = sorted(dates)
        if as_of is not None:
            before = [d for d in dates if d <= as_of]
            if before:
                out[image] = before[-1]
        elif -len(dates) <= snapshot < len(dates):
            out[image] = dates[snapshot]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--as-of", help="date YYYY-MM-DD: each image's latest snapshot by then")
    which.add_argument("--snapshot", type=int, help="each image's I-th snapshot (0 = oldest)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the real-data folder")
    ap.add_argument("--out", required=True, help="event CSV to write")
    args = ap.parse_args()

    history = args.data / "containers" / "history.csv.gz"
    dates_by_image: dict[str, list[str]] = defaultdict(list)
    with gzip.open(history, "rt", newline="") as f:
        for row in csv.DictReader(f):
            image, _, date = row["entity"].rpartition("@")
            if image and date not in dates_by_image[image]:
                dates_by_image[image].append(date)
    chosen = chosen_snapshots(dates_by_image, args.as_of, args.snapshot)

    rows = 0
    with gzip.open(history, "rt", newline="") as f, open(args.out, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["entity", "group", "feature", "value"])
        for row in csv.DictReader(f):
            image, _, date = row["entity"].rpartition("@")
            if chosen.get(image) == date:
                writer.writerow([image, row["group"], row["feature"], row["value"]])
                rows += 1
    print(f"{args.out}: {len(chosen)} images, {rows} events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
