"""The cuda tests run in numba's CUDA simulator (no GPU): the variable must be set before
numba.cuda is first imported. Where numba-cuda is missing, or numba.cuda was imported
earlier in this process without the simulator and there is no GPU, they skip."""
import os
import sys

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


def cuda_unusable() -> str | None:
    """Why the cuda tests cannot run here, or None."""
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


sys.modules.setdefault("dfl_cuda_tests_conftest", sys.modules[__name__])
