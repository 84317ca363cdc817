// Backends by name, for the estimators' backend= parameter.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"

namespace stray::python {

std::unique_ptr<Backend> open_backend(const std::string& name) {
  if (name != "auto" && name != "cpu" && name != "cuda") {
    throw Error(ErrorCode::invalid_argument,
                "backend must be 'auto', 'cpu' or 'cuda', got '" + name + "'");
  }
  return make_backend(name);
}

void bind_backends(nb::module_& m) {
  m.def("available_backends", &available_backends,
        "Names of the backends usable on this machine now ('cpu' first).");
  m.def(
      "backend_name",
      [](const std::string& name) { return open_backend(name)->name(); },
      nb::arg("backend") = "auto", "The backend backend= resolves to here ('cpu', 'cuda', ...).");
  // For the tests: the address the library reads a float32 matrix at (a
  // copy on the way in would show as a different address).
  m.def(
      "_data_address",
      [](Matrix2In<float> X) { return reinterpret_cast<uintptr_t>(X.data()); },
      nb::arg("X").noconvert());
}

}  // namespace stray::python
