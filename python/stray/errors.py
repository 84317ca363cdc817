"""Exceptions raised by stray's library, one class per error code.

Every error of the C++ library (``stray::Error``) reaches Python as one of
these, with the library's message unchanged. Each class also derives from the
builtin exception Python code expects for that kind of failure, so
``except ValueError`` catches bad input as it does for scikit-learn, and
``except stray.Error`` catches everything from stray:

=====================  ===========================  =====================
code                   class                        builtin base
=====================  ===========================  =====================
invalid_argument       InvalidArgumentError         ValueError
shape_mismatch         ShapeMismatchError           ValueError
non_finite_input       NonFiniteInputError          ValueError
parse_error            ParseError                   ValueError
not_fitted             NotFittedError               sklearn's NotFittedError (ValueError)
out_of_memory          OutOfMemoryError             MemoryError
io_error               InputOutputError             OSError
backend_unavailable    BackendUnavailableError      RuntimeError
device_error           DeviceError                  RuntimeError
=====================  ===========================  =====================
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class Error(Exception):
    """Base of every exception raised by stray's library; ``code`` names the
    library's error code."""

    code = None


class InvalidArgumentError(Error, ValueError):
    code = "invalid_argument"


class ShapeMismatchError(Error, ValueError):
    code = "shape_mismatch"


class NonFiniteInputError(Error, ValueError):
    code = "non_finite_input"


class ParseError(Error, ValueError):
    code = "parse_error"


class NotFittedError(Error, _SklearnNotFittedError):
    code = "not_fitted"


class OutOfMemoryError(Error, MemoryError):
    code = "out_of_memory"


class InputOutputError(Error, OSError):
    code = "io_error"


class BackendUnavailableError(Error, RuntimeError):
    code = "backend_unavailable"


class DeviceError(Error, RuntimeError):
    code = "device_error"


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        ShapeMismatchError,
        NonFiniteInputError,
        ParseError,
        NotFittedError,
        OutOfMemoryError,
        InputOutputError,
        BackendUnavailableError,
        DeviceError,
    )
}


def exception_for(code):
    """The class raised for a library error code (the extension calls this)."""
    return _BY_CODE.get(code, Error)
