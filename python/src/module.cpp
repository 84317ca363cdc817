// stray._core: the extension module the Python package (python/stray) wraps.
#include "bindings.hpp"

NB_MODULE(_core, m) {
  m.doc() = "stray's C++ library, bound for the Python package (use the stray package instead)";
  m.attr("__version__") = stray::version_string;
  stray::python::bind_errors(m);
  stray::python::bind_backends(m);
  stray::python::bind_kmeans(m);
  stray::python::bind_kmeans_statistics(m);
  stray::python::bind_pca(m);
  stray::python::bind_neighbors(m);
  stray::python::bind_agglomerative(m);
  stray::python::bind_metrics(m);
  stray::python::bind_fleet(m);
}
