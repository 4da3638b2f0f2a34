"""LightGBM for prediction only: imported without its optional data-frame integrations.

``import lightgbm`` also imports pandas, scikit-learn, pyarrow and dask when they are
installed (for DataFrame input and the scikit-learn estimators): +162 MiB of resident
memory in the search process, measured, against +28 MiB for LightGBM itself (with SciPy).
The searcher only hands NumPy arrays to ``Booster.predict``, so it imports LightGBM with
those packages hidden for the duration of the import. A process that imported one of them
already keeps it (nothing to save there), and they import normally afterwards; LightGBM
then works on NumPy input only, which is all that training (``vnsearch rank-fit``) and
prediction here give it.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

#: Packages ``lightgbm.compat`` imports when present; prediction on arrays needs none.
OPTIONAL = ("pandas", "sklearn", "pyarrow", "dask", "datatable", "graphviz", "matplotlib")
# Searchers open in several threads at once (the service's workers, the tests): one of
# them imports, the others wait for the whole module, never a partly initialised one.
_LOCK = threading.Lock()


def import_lightgbm() -> ModuleType:
    """The ``lightgbm`` module, imported (the first time) without :data:`OPTIONAL`."""
    with _LOCK:
        if "lightgbm" not in sys.modules:
            _import_hiding(OPTIONAL)
    import lightgbm  # done above, or by another thread: the import system waits for it

    return lightgbm


def _import_hiding(optional: tuple[str, ...]) -> None:
    # A None entry makes ``import name`` raise ImportError, which lightgbm.compat expects
    # for a package that is not installed.
    hidden = [name for name in optional if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import lightgbm  # noqa: F401
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
