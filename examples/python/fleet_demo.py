# %% [markdown]
# # The demo fleet, from Python
#
# `stray demo` as a notebook: a synthetic fleet of servers and containers in
# nine roles with injected anomalies (a lone package, missing build tools,
# tor, a log4j-style callback, a build runner talking to an unknown network,
# a crypto miner) goes through the whole pipeline — features, PCA, k-means,
# scores, outlier rules, explanations — and the findings come back as pandas
# DataFrames. Run it as a script (`python examples/python/fleet_demo.py`),
# or open it in Jupyter / VS Code, where each `# %%` is a cell.
#
# Needs the package (`pip install '.[pandas]'` from the repository root).

# %%
import sys

import pandas as pd

import stray

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 90)
entities = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10_000

# %% [markdown]
# ## The fleet: one row per event (entity, group, feature, value)
# The generator is the library's (`stray synth` writes the same events to
# files); `truth` lists the hosts that carry an injected anomaly.

# %%
events, truth = stray.fleet.synthetic_fleet(entities, seed=1, hosts_per_anomaly=2)
print(f"{len(events):,} events from {events['entity'].nunique():,} hosts")
print(events.head())

# %% [markdown]
# ## Fit the pipeline
# A progress callable gets (step, fraction); tqdm works the same way (see
# docs/python.md).

# %%
def progress(step, fraction):
    if fraction == 1.0:
        print(f"  {step} done")


result = stray.fleet.fit(events, seed=1, progress=progress)
print(result.summary())

# %% [markdown]
# ## The findings table
# Highest score first: each host that strays from its cluster's peers, with
# the features that set it apart (+1.000: it has it and no peer does;
# −1.000: every peer has it and it does not).

# %%
print(result.table(20))

# %%
findings = result.findings
print(findings[["entity", "cluster", "score", "rules", "features"]].head(20).to_string())

# %% [markdown]
# ## Where did the injected anomalies land?

# %%
rank = {e: i + 1 for i, e in enumerate(findings["entity"])}
truth["finding_rank"] = truth["entity"].map(rank)
print(truth.to_string())
recall = truth["finding_rank"].notna().mean()
print(f"recall: {recall:.0%} of the injected anomalies are among {len(findings)} findings")

# %% [markdown]
# ## One finding, explained feature by feature

# %%
explanations = result.explanations
print(explanations[explanations["finding"] == 0].to_string())

# %% [markdown]
# ## The clusters: what defines each role

# %%
print(result.clusters.groupby("cluster").head(3).to_string())

# %% [markdown]
# ## Keep the model, score another day
# The model file is the CLI's (`stray fleet --model fleet.model`).

# %%
import os
import tempfile

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "fleet.model")
    result.model.save(path)
    model = stray.fleet.load_model(path)
    day2 = model.score(events[events["entity"].str.startswith("web-")])
    print(f"scored {day2.n_entities} web hosts against {model}: {len(day2.findings)} findings")
