// stray::Error → Python exceptions. The classes live in python/stray/errors.py
// (each subclasses a builtin — ValueError, MemoryError, OSError,
// RuntimeError — and stray.Error, and carries the code's name); this looks
// one up by the code's name and raises it with the library's message.
#include <nanobind/stl/string.h>

#include "bindings.hpp"

namespace stray::python {
namespace {

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const Error& e) {
    // Called with the GIL held. An import failure here would mask the
    // library's error, so fall back to RuntimeError with the same message.
    PyObject* type = PyExc_RuntimeError;
    nb::object cls;
    try {
      cls = nb::module_::import_("stray.errors").attr("exception_for")(error_code_name(e.code()));
      type = cls.ptr();
    } catch (...) {
      PyErr_Clear();
    }
    PyErr_SetString(type, e.what());
  }
}

}  // namespace

void bind_errors(nb::module_& m) {
  nb::register_exception_translator(translate);
  // For the tests: raises the library's error of `code` with `message`.
  m.def("_raise_error", [](const std::string& code, const std::string& message) {
    for (int c = 0; c <= static_cast<int>(ErrorCode::not_fitted); ++c) {
      const auto ec = static_cast<ErrorCode>(c);
      if (code == error_code_name(ec)) throw Error(ec, message);
    }
    throw std::invalid_argument("unknown error code " + code);
  });
}

}  // namespace stray::python
