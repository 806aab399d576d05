"""The cuda tests run in numba's CUDA simulator (no GPU): the variable must be set before
numba.cuda is first imported (cuda_sim_check.py says why a test module must skip)."""
import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
