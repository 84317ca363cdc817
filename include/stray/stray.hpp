// stray — umbrella header: everything a product linking stray needs.
//
// Thread safety: each header says. In short, the library has no global
// state: functions may run concurrently, each thread with its own Backend
// and its own builders and accumulators.
#pragma once

#include "stray/core/backend.hpp"
#include "stray/synthetic/datasets.hpp"
#include "stray/core/error.hpp"
#include "stray/io/events.hpp"
#include "stray/fleet/explain.hpp"
#include "stray/features/features.hpp"
#include "stray/io/files.hpp"
#include "stray/cluster/agglomerative.hpp"
#include "stray/cluster/choose_k.hpp"
#include "stray/cluster/kmeans.hpp"
#include "stray/core/matrix.hpp"
#include "stray/metrics/assignment.hpp"
#include "stray/metrics/label_scores.hpp"
#include "stray/metrics/metrics.hpp"
#include "stray/metrics/silhouette.hpp"
#include "stray/io/npy.hpp"
#include "stray/io/npz.hpp"
#include "stray/neighbors/knn.hpp"
#include "stray/neighbors/lof.hpp"
#include "stray/fleet/cluster_profile.hpp"
#include "stray/fleet/outliers.hpp"
#include "stray/decomposition/pca.hpp"
#include "stray/fleet/pipeline.hpp"
#include "stray/fleet/stability.hpp"
#include "stray/report/fleet_report.hpp"
#include "stray/report/html_report.hpp"
#include "stray/report/html_stability.hpp"
#include "stray/synthetic/recall.hpp"
#include "stray/synthetic/synthetic_fleet.hpp"
#include "stray/core/version.hpp"
