// stray — umbrella header: everything a product linking stray needs.
#pragma once

#include "stray/backend.hpp"
#include "stray/datasets.hpp"
#include "stray/error.hpp"
#include "stray/events.hpp"
#include "stray/explain.hpp"
#include "stray/features.hpp"
#include "stray/kmeans.hpp"
#include "stray/matrix.hpp"
#include "stray/metrics.hpp"
#include "stray/npy.hpp"
#include "stray/npz.hpp"
#include "stray/outliers.hpp"
#include "stray/pca.hpp"
#include "stray/pipeline.hpp"
#include "stray/synthetic_fleet.hpp"
#include "stray/version.hpp"
