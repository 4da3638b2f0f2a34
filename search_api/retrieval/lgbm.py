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
from types import ModuleType

#: Packages ``lightgbm.compat`` imports when present; prediction on arrays needs none.
OPTIONAL = ("pandas", "sklearn", "pyarrow", "dask", "datatable", "graphviz", "matplotlib")


def import_lightgbm() -> ModuleType:
    """The ``lightgbm`` module, imported (the first time) without :data:`OPTIONAL`."""
    if "lightgbm" in sys.modules:
        return sys.modules["lightgbm"]
    # A None entry makes ``import name`` raise ImportError, which lightgbm.compat expects
    # for a package that is not installed.
    hidden = [name for name in OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import lightgbm
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return lightgbm
