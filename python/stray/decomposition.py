"""PCA with scikit-learn's parameters and attributes, computed by stray's
library (covariance, Gram and randomized solvers, dense or CSR input)."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._validation import batch_passes, check_backend, csr_of, float32_rows, seed_of

# scikit-learn's solver names and stray's. "full" and "covariance_eigh" are
# both exact; stray solves them the same way (the covariance eigenproblem).
_SOLVERS = {
    "auto": "auto",
    "full": "covariance",
    "covariance_eigh": "covariance",
    "covariance": "covariance",
    "randomized": "randomized",
    "gram": "gram",
}


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis, as sklearn.decomposition.PCA, on
    stray's backends.

    Parameters are scikit-learn's with its defaults, plus ``backend``.
    ``svd_solver``: "auto", "full" and "covariance_eigh" (exact: stray's
    covariance solver), "randomized", or stray's "gram" (exact, for fewer
    samples than features); "arpack" is not available. ``n_components``:
    None (all), an int, or a float in (0, 1) (a share of the variance);
    "mle" is not available. Sparse input is accepted by every solver and
    never densified whole nor centred. Input is float32 (converted
    otherwise; float32 C-contiguous arrays are read in place) and so is
    ``transform``'s output; fitted attributes are float64. ``copy``,
    ``tol`` and ``power_iteration_normalizer`` are accepted and have no
    effect (stray always re-orthonormalises with QR). Fitted attributes
    beyond scikit-learn's: ``svd_solver_`` (the solver that ran),
    ``backend_`` and ``fit_seconds_`` (the library's wall time of the fit).
    """

    def __init__(
        self,
        n_components=None,
        *,
        copy=True,
        whiten=False,
        svd_solver="auto",
        tol=0.0,
        iterated_power="auto",
        n_oversamples=10,
        power_iteration_normalizer="auto",
        random_state=None,
        backend="auto",
    ):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _components_args(self):
        """(n_components, variance_fraction) for the library."""
        n = self.n_components
        if n is None:
            return 0, 0.0
        if isinstance(n, numbers.Integral) and not isinstance(n, bool):
            if n < 1:
                raise ValueError(f"n_components must be >= 1, got {n}")
            return int(n), 0.0
        if isinstance(n, numbers.Real) and 0.0 < n < 1.0:
            return 0, float(n)
        raise ValueError(f"n_components must be None, an int >= 1 or a float in (0, 1), got {n!r}")

    def _params(self):
        """The library's parameters, after the checks fit makes of them."""
        check_backend(self.backend)
        if self.svd_solver not in _SOLVERS:
            raise ValueError(f"svd_solver must be one of {sorted(_SOLVERS)}, got {self.svd_solver!r}")
        power = -1 if self.iterated_power == "auto" else int(self.iterated_power)
        n_components, fraction = self._components_args()
        return (n_components, fraction, _SOLVERS[self.svd_solver], bool(self.whiten),
                seed_of(self.random_state), int(self.n_oversamples), power, self.backend)

    def _fit(self, X, transform):
        args = self._params()
        X = float32_rows(self, X, reset=True, accept_sparse=True)
        if sp.issparse(X):
            model, Y = _core.pca_fit_csr(csr_of(X), *args, transform)
        else:
            model, Y = _core.pca_fit(X, *args, transform)
        self._set_model(model)
        return Y

    def fit_batches(self, batches):
        """Fit on rows that arrive in batches, never all in memory at once.

        ``batches`` is a list or tuple of 2-D arrays or scipy.sparse
        matrices, or a function that returns a new iterable of them each
        time it is called (a generator alone is used up after one pass, so
        it is refused). One pass through mergeable statistics, then the
        covariance solver (``svd_solver`` "auto", "full" or
        "covariance_eigh"): ``fit``'s covariance answer on the same rows.
        """
        args = self._params()
        self._set_model(_core.pca_fit_batches(batch_passes(self, batches), *args))
        return self

    def _set_model(self, model):
        self.components_ = model["components"]
        self.explained_variance_ = model["explained_variance"]
        self.explained_variance_ratio_ = model["explained_variance_ratio"]
        self.singular_values_ = model["singular_values"]
        self.mean_ = model["mean"]
        self.n_components_ = int(model["n_components"])
        self.n_samples_ = int(model["n_samples"])
        self.noise_variance_ = float(model["noise_variance"])
        self.svd_solver_ = model["solver"]
        self.backend_ = model["backend"]
        self.fit_seconds_ = float(model["seconds"])  # the library's own timing of the fit
        self._n_features_out = self.n_components_

    def fit(self, X, y=None):
        self._fit(X, transform=False)
        return self

    def fit_transform(self, X, y=None):
        return self._fit(X, transform=True)

    def _model(self):
        check_is_fitted(self)
        return (self.mean_, self.components_, self.explained_variance_, bool(self.whiten))

    def transform(self, X):
        """(X − mean_) · components_ᵀ, whitened if asked; float32."""
        model = self._model()
        X = float32_rows(self, X, reset=False, accept_sparse=True)
        X = csr_of(X) if sp.issparse(X) else X
        return _core.pca_transform(*model, X, self.backend)

    def inverse_transform(self, X):
        """Maps projected rows back to the features."""
        model = self._model()
        Y = np.ascontiguousarray(X, dtype=np.float32)
        if Y.ndim != 2:
            raise ValueError(f"expected a 2-D array, got {Y.ndim}-D")
        return _core.pca_inverse_transform(*model, Y, self.backend)
