"""Whether the cuda tests can run here (a uniquely named module: every test folder has a
`conftest`, so a test cannot import helpers from its own by that name)."""
from __future__ import annotations

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")  # also when this folder's conftest was not loaded first


def cuda_unusable() -> str | None:
    """Why the cuda tests cannot run here, or None. Where numba-cuda is missing, or
    numba.cuda was imported earlier in this process without the simulator and there is no
    GPU, they skip."""
    try:
        from numba import cuda
    except Exception as e:  # noqa: BLE001
        return f"numba-cuda is not installed ({e})"
    try:
        if not cuda.is_available():
            return "numba.cuda was imported without the simulator and there is no GPU"
    except Exception as e:  # noqa: BLE001
        return f"numba.cuda is unusable ({e})"
    return None
