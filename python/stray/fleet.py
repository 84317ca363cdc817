"""The fleet pipeline: events in, outliers with explanations out.

    result = stray.fleet.fit("monday.csv")        # or a DataFrame of events
    result.findings                               # a DataFrame, highest score first
    result.model.save("fleet.model")              # the CLI's model file
    later = stray.fleet.load_model("fleet.model").score("tuesday.log")

Events are a path (or a list of paths) in any format the CLI reads — CSV,
JSON Lines, osquery logs, gzip- or zstd-compressed — or a pandas DataFrame
(or a dict of columns) with ``entity`` and ``feature`` columns and optionally
``group`` and ``value``. Results are pandas DataFrames when pandas is
installed, dicts of numpy arrays otherwise. Parameters mirror
``stray fleet``'s options (docs/pipeline.md says what each does).
"""

import os

import numpy as np

from . import _core
from ._validation import check_backend

__all__ = ["fit", "score", "read_events", "load_model", "synthetic_fleet", "FleetResult",
           "FleetModel"]


def _frame(columns):
    try:
        import pandas as pd
    except ImportError:
        return {k: np.asarray(v) for k, v in columns.items()}
    return pd.DataFrame(columns)


def _paths(events):
    if isinstance(events, (str, os.PathLike)):
        return [os.fspath(events)]
    if isinstance(events, (list, tuple)) and events and all(
        isinstance(e, (str, os.PathLike)) for e in events
    ):
        return [os.fspath(e) for e in events]
    return None


def _strings(column):
    if hasattr(column, "astype") and hasattr(column, "tolist"):
        return column.astype(str).tolist()
    return [str(x) for x in column]


def _columns(events):
    """(entity, group or None, feature, value or None) of a DataFrame or a
    mapping of columns."""
    names = list(events.columns) if hasattr(events, "columns") else list(events.keys())
    for required in ("entity", "feature"):
        if required not in names:
            raise ValueError(f"events need an {required!r} column; got columns {names}")
    group = _strings(events["group"]) if "group" in names else None
    value = None
    if "value" in names:
        value = np.ascontiguousarray(np.asarray(events["value"], dtype=np.float64))
    return _strings(events["entity"]), group, _strings(events["feature"]), value


def _reading(events, osquery_map, osquery_entity, json_map):
    given = (osquery_map, osquery_entity, json_map)
    if _paths(events) is None and any(m is not None for m in given):
        raise ValueError("osquery_map, osquery_entity and json_map apply to event files, "
                         "not columns")
    return dict(osquery_map=None if osquery_map is None else os.fspath(osquery_map),
                osquery_entity=osquery_entity,
                json_map=None if json_map is None else os.fspath(json_map))


def _format(format, json_map):
    """A JSON log mapping reads the files as json-log, which needs one."""
    if json_map is None:
        if format == "json-log":
            raise ValueError("format='json-log' needs json_map= (a JSON log mapping file)")
        return format
    if format not in (None, "json-log"):
        raise ValueError(f"json_map reads JSON logs; format={format!r} does not apply")
    return "json-log"


def _run(events, format, on_files, on_columns):
    paths = _paths(events)
    if paths is not None:
        return on_files(paths, format or "")
    return on_columns(*_columns(events))


def fit(events, *, format=None, pca=32, n_clusters=0, seed=0, percentile=95.0, top_n=0,
        top_fraction=0.0, mode="config", score_space="auto", max_clusters=50,
        top_features=5, normalize=None, clustering="kmeans", linkage="ward",
        detector="auto", lof_neighbors=20, rarity=True, grains="auto",
        ephemeral_ports=32768, osquery_map=None, osquery_entity=None, json_map=None,
        backend="auto", progress=None):
    """Fits the pipeline to one snapshot and reports its own outliers.

    pca: components (int) or a share of the variance (float in (0, 1)); 0
    clusters the features themselves. n_clusters: 0 chooses k from the data
    (up to max_clusters). percentile, top_n, top_fraction: the outlier rules
    within each cluster. mode: "config" or "behavior" explanations.
    score_space: "auto" (the plain distance, "features", where every group
    holds raw amounts; "standardized" otherwise), "standardized",
    "features" or "pca". normalize: a dict
    {group: "binary" | "log1p" | "fraction" | "none" | "auto"} ("*": every
    group). clustering: "kmeans" or "agglomerative" (with linkage).
    grains: finer k-means partitions whose distances, each over its fleet
    median, also score each entity (the largest counts): "auto" ([10, 20]
    where every group holds raw amounts and score_space is "auto"), None
    (off) or a list of k.
    detector: "centroid" (distance to the cluster's peers), "lof" (Local
    Outlier Factor with lof_neighbors), "both" (either flags; ranked by the
    rarer of the two against the baseline) or "auto" ("both" for event
    telemetry of up to 100,000 entities, "centroid" otherwise). rarity:
    value rarity beside the detector (how rare each feature's value is in
    the fleet, summed; it ranks with the other scores and flags the top
    (100 - percentile) / 2 %), or False for none. ephemeral_ports: ports
    from this one up in the net.port and net.remote groups are the one
    feature "ephemeral" (0 keeps every port). osquery_map: a JSON
    mapping file for osquery logs (docs/fleet-data.md, "osquery mappings");
    osquery_entity: the decoration naming the entity instead of
    hostIdentifier. json_map: a JSON log mapping file, which reads the
    files as a collector's own JSON log (docs/fleet-data.md, "JSON logs";
    examples/mappings/). progress: a callable
    (step, fraction), called on this thread;
    an exception it raises cancels the run and reaches the caller.
    """
    check_backend(backend)
    params = dict(pca=float(pca), n_clusters=n_clusters, seed=seed, percentile=percentile,
                  top_n=top_n, top_fraction=top_fraction, mode=mode, score_space=score_space,
                  max_clusters=max_clusters, top_features=top_features, normalize=normalize,
                  clustering=clustering, linkage=linkage, detector=detector,
                  lof_neighbors=lof_neighbors, rarity=bool(rarity),
                  ephemeral_ports=int(ephemeral_ports),
                  grains=grains if grains is None or isinstance(grains, str)
                  else [int(k) for k in grains],
                  **_reading(events, osquery_map, osquery_entity, json_map))
    run = _run(
        events, _format(format, json_map),
        lambda paths, fmt: _core.fleet_fit_files(paths, fmt, params, backend, progress),
        lambda *cols: _core.fleet_fit_columns(*cols, params, backend, progress),
    )
    return FleetResult(run)


def score(events, model, *, format=None, top_n=None, top_fraction=None, mode=None,
          top_features=None, osquery_map=None, osquery_entity=None, json_map=None,
          backend="auto", progress=None):
    """Scores a later snapshot against a fitted model (a FleetModel, or the
    path of a model file). Rules and explanations default to the model's;
    osquery_map, osquery_entity and json_map as for fit (read the logs as
    the fit did)."""
    check_backend(backend)
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    handle = model._handle
    params = dict(top_n=top_n, top_fraction=top_fraction, mode=mode, top_features=top_features,
                  **_reading(events, osquery_map, osquery_entity, json_map))
    run = _run(
        events, _format(format, json_map),
        lambda paths, fmt: _core.fleet_score_files(handle, paths, fmt, params, backend, progress),
        lambda *cols: _core.fleet_score_columns(handle, *cols, params, backend, progress),
    )
    return FleetResult(run)


def read_events(events, *, format=None, osquery_map=None, osquery_entity=None, json_map=None):
    """The events fit and score would read from event files, as a DataFrame
    of entity, group, feature and value (a dict of arrays without pandas):
    what a mapping makes of a log, before fitting on it (stray events on
    the command line). Options as for fit; files without a single event are
    a ValueError saying why."""
    paths = _paths(events)
    if paths is None:
        raise TypeError("read_events takes event files: a path or a list of paths")
    params = _reading(events, osquery_map, osquery_entity, json_map)
    return _frame(_core.fleet_read_files(paths, _format(format, json_map) or "", params))


def load_model(path):
    """Reads a model file written by FleetModel.save or ``stray fleet --save-model``."""
    return FleetModel(_core.FleetModel.load(os.fspath(path)))


def synthetic_fleet(n_entities=10000, *, seed=1, hosts_per_anomaly=2):
    """The synthetic fleet of ``stray demo`` / ``stray synth``: nine roles with
    injected anomalies. Returns (events, truth): the events as a DataFrame
    (entity, group, feature, value) and the injected anomalies (entity,
    role, kind)."""
    events, anomalies = _core.synthetic_fleet(int(n_entities), int(seed), int(hosts_per_anomaly))
    truth = {k: [a[k] for a in anomalies] for k in ("entity", "role", "kind")}
    return _frame(events), _frame(truth)


class FleetModel:
    """A fitted fleet model: save() writes the CLI's model file; score()
    applies it to a later snapshot. Pickles as the model file's bytes."""

    def __init__(self, handle):
        self._handle = handle

    n_clusters = property(lambda self: self._handle.n_clusters)
    n_features = property(lambda self: self._handle.n_features)
    n_entities = property(lambda self: self._handle.n_entities)

    def save(self, path):
        self._handle.save(os.fspath(path))

    @classmethod
    def load(cls, path):
        return load_model(path)

    def score(self, events, **kwargs):
        return score(events, self, **kwargs)

    def __getstate__(self):
        return {"model": self._handle.to_bytes()}

    def __setstate__(self, state):
        self._handle = _core.FleetModel.from_bytes(state["model"])

    def __repr__(self):
        return (f"FleetModel(n_entities={self.n_entities}, n_features={self.n_features}, "
                f"n_clusters={self.n_clusters})")


class FleetResult:
    """One fitted or scored snapshot.

    findings: the outliers, highest score first (entity, cluster, score —
    what they are ranked by —, distance, lof, rarity, rank, rules, the top features
    as text, ...); explanations: one row per
    finding and feature (value, peers' center, difference, unseen);
    scores: every entity's cluster, score (what findings rank by, as
    ``stray fleet --scores`` writes it), outlier flag, fleet_rank (its place
    in the fleet by score, 0 = the most unusual, equal scores in the
    findings' order), and the scores behind it: distance, lof and rarity
    (NaN where one did not run); clusters: each
    cluster's defining features; model: the FleetModel applied or fitted.
    """

    def __init__(self, run):
        self._run = run

    @property
    def findings(self):
        return _frame(self._run.findings_columns())

    @property
    def explanations(self):
        return _frame(self._run.explanation_columns())

    @property
    def scores(self):
        return _frame(self._run.score_columns())

    @property
    def clusters(self):
        return _frame(self._run.cluster_columns())

    @property
    def steps(self):
        """(step, seconds) of each pipeline step, in order."""
        return list(self._run.steps())

    @property
    def model(self):
        return FleetModel(self._run.model)

    backend = property(lambda self: self._run.backend)
    seconds = property(lambda self: self._run.seconds)
    n_entities = property(lambda self: self._run.n_entities)
    n_features = property(lambda self: self._run.n_features)

    def score(self, events, **kwargs):
        """Scores a later snapshot against this result's model."""
        return score(events, self.model, **kwargs)

    def table(self, limit=20):
        """The findings as ``stray fleet`` prints them."""
        return self._run.table(limit)

    def summary(self):
        """One line saying what ran (entities, features, PCA, k, rules)."""
        return self._run.summary()

    def to_json(self, indent=None):
        """The findings as ``stray fleet --json`` writes them."""
        return self._run.json(-1 if indent is None else int(indent))

    def __repr__(self):
        return f"<stray.fleet.FleetResult: {self.summary()}>"
