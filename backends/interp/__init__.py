"""The reference interpreter: plain Python over rows; the semantic oracle for every backend."""
from dfl.backends.interp.plan import InterpBackend, InterpPlan

__all__ = ["InterpBackend", "InterpPlan"]
