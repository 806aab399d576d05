"""IR expressions evaluated on whole columns with numpy (no per-row Python).

Numeric operators are numpy ufuncs (int64 arithmetic wraps as the language wants); string
functions run once per distinct argument combination through the string pool; `if`
evaluates each branch only on the rows that take it, so a guarded division never fails.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dfl.ir.expr import Col, Fn, IRExpr, Lit
from dfl.ir.types import Type

from dfl.backends.columnar.strings import StringPool
from dfl.backends.columnar.table import DTYPES, Table, factorize_columns
from dfl.runtime import limits
from dfl.stdlib.builtins import BUILTINS, BuiltinError
from dfl.stdlib.hashing import stable_hash

_CMP = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
        "gt": np.greater, "ge": np.greater_equal}
_SYM = {"div": "/", "floordiv": "//", "mod": "%"}
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _show(v: Any) -> str:
    v = v.item() if hasattr(v, "item") else v
    return repr(v) if isinstance(v, (float, str)) else str(v)


class Evaluator:
    def __init__(self, pool: StringPool) -> None:
        self.pool = pool

    # -- helpers

    def py(self, arr: np.ndarray, t: Type) -> list:
        """Column values as Python values (strings decoded)."""
        if t.text:
            return self.pool.decode(arr)
        return arr.tolist()

    def from_py(self, vals: list, t: Type) -> np.ndarray:
        if t.text:
            return self.pool.encode(vals)
        return np.asarray(vals, dtype=DTYPES[t]) if vals else np.empty(0, DTYPES[t])

    def per_unique(self, args: list[np.ndarray], types: list[Type], f: Callable, out: Type, n: int) -> np.ndarray:
        """f applied once per distinct combination of argument values."""
        if n == 0:
            return np.empty(0, DTYPES[out])
        ids, first = factorize_columns(args, n, exact=True)
        uniq = [self.py(a[first], t) for a, t in zip(args, types)]
        vals = [f(*combo) for combo in zip(*uniq)]
        return self.from_py(vals, out)[ids]

    # -- evaluation

    def eval(self, e: IRExpr, t: Table) -> np.ndarray:
        if isinstance(e, Col):
            return t.cols[e.index]
        if isinstance(e, Lit):
            v = self.pool.code(e.value) if e.type.text else e.value
            return np.full(t.n, v, dtype=DTYPES[e.type])
        return self.fn(e, t)

    def fn(self, e: Fn, t: Table) -> np.ndarray:
        op = e.op
        if op == "if":
            return self._if(e, t)
        if op == "and":
            out = np.ones(t.n, np.bool_)
            for a in e.args:  # later conjuncts only on rows the earlier ones kept
                idx = np.nonzero(out)[0]
                if len(idx) == 0:
                    break
                out[idx] = self.eval(a, t.take(idx))
            return out
        args = [self.eval(a, t) for a in e.args]
        types = [a.type for a in e.args]
        # numpy's floating-point warnings are off for the whole run (CpuPlan.run)
        if op in ("add", "sub", "mul"):
            if e.type == Type.STR:
                return self.per_unique(args, types, lambda a, b: a + b, Type.STR, t.n)
            return {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](args[0], args[1])
        if op in _SYM:
            return self._division(op, args[0], args[1], e.type)
        if op in _CMP:
            a, b = args
            if types[0].text and op not in ("eq", "ne"):
                r = self.pool.ranks()
                a, b = r[a], r[b]
            return _CMP[op](a, b)
        if op == "neg":
            return np.negative(args[0])
        if op == "not":
            return np.logical_not(args[0])
        if op == "float":
            return args[0].astype(np.float64)
        return self._builtin(e, args, types, t.n)

    def _if(self, e: Fn, t: Table) -> np.ndarray:
        cond = self.eval(e.args[0], t)
        out = np.empty(t.n, DTYPES[e.type])
        yes = np.nonzero(cond)[0]
        no = np.nonzero(~cond)[0]
        if len(yes):
            out[yes] = self.eval(e.args[1], t.take(yes))
        if len(no):
            out[no] = self.eval(e.args[2], t.take(no))
        return out

    def _division(self, op: str, a: np.ndarray, b: np.ndarray, rt: Type) -> np.ndarray:
        zero = b == 0
        if zero.any():
            i = int(np.argmax(zero))
            raise BuiltinError(f"division by zero: {_show(a[i])} {_SYM[op]} {_show(b[i])}")
        if op == "div":
            return np.true_divide(a, b)
        if op == "floordiv":
            return np.floor_divide(a, b)
        return np.remainder(a, b)

    def _builtin(self, e: Fn, args: list[np.ndarray], types: list[Type], n: int) -> np.ndarray:
        op = e.op
        if op == "abs":
            return np.abs(args[0])
        if op in ("min", "max"):  # Python's min/max: the first argument unless the second beats it
            a, b = args
            return np.where(b < a, b, a) if op == "min" else np.where(b > a, b, a)
        if op == "sqrt":
            x = args[0].astype(np.float64)
            bad = x < 0
            if bad.any():
                raise BuiltinError(f"sqrt of a negative number ({_show(x[np.argmax(bad)])})")
            return np.sqrt(x)
        if op == "log":
            x = args[0].astype(np.float64)
            bad = x <= 0  # log(nan) is nan, as in Python
            if bad.any():
                raise BuiltinError(f"log of a non-positive number ({_show(x[np.argmax(bad)])})")
            return np.log(x)
        if op == "exp":
            return np.exp(args[0].astype(np.float64))
        if op == "pow":
            return self._pow(args, types, e.type)
        if op in ("floor", "ceil"):
            if types[0] == Type.INT:
                return args[0]
            x = args[0]
            bad = ~np.isfinite(x)
            if bad.any():
                raise BuiltinError(f"cannot convert {_show(x[np.argmax(bad)])} to int")
            return _to_int64((np.floor(x) if op == "floor" else np.ceil(x)))
        if op == "hash" and types[0] in (Type.INT, Type.BOOL, Type.FLOAT):
            return _splitmix(args[0], types[0])
        if op == "to_float" and not types[0].text:
            return args[0].astype(np.float64)
        if op == "to_int" and types[0] == Type.INT:
            return args[0]
        if op == "to_int" and types[0] == Type.BOOL:
            return args[0].astype(np.int64)
        if op == "to_int" and types[0] == Type.FLOAT:
            x = args[0]
            bad = ~np.isfinite(x)
            if bad.any():
                raise BuiltinError(f"cannot convert {_show(x[np.argmax(bad)])} to int")
            return _to_int64(np.trunc(x))
        impl = stable_hash if op == "hash" else BUILTINS[op].impl
        return self.per_unique(args, types, impl, e.type, n)

    def _pow(self, args: list[np.ndarray], types: list[Type], rt: Type) -> np.ndarray:
        a, b = args
        if rt == Type.INT:
            neg = b < 0
            if neg.any():
                i = int(np.argmax(neg))
                raise BuiltinError(f"pow of ints with a negative exponent ({_show(a[i])}, {_show(b[i])})")
            return np.power(a, b)
        a, b = a.astype(np.float64), b.astype(np.float64)
        r = np.power(a, b)
        bad = ~np.isfinite(r) & np.isfinite(a) & np.isfinite(b)
        if bad.any():
            i = int(np.argmax(bad))
            raise BuiltinError(f"pow({_show(a[i])}, {_show(b[i])}) is not a real number")
        return r

    # -- generators

    def _split_ascii(self, texts: list[str], sep: str) -> tuple[np.ndarray, np.ndarray]:
        """[t.split(sep) for t in texts] as (words per text, the words' string codes), cut on
        the UTF-8 bytes of the texts joined by sep (a one-character separator cannot
        straddle a joint) by a kernel: only the distinct words are decoded and looked up in
        the pool, not every word. Pure ASCII (a character per byte) counts the words per
        text in the bytes too; otherwise str.count does."""
        from dfl.backends.cpu import kernels as K

        joined = sep.join(texts)
        raw = joined.encode("utf-8", "surrogatepass")
        data = np.frombuffer(raw, np.uint8)  # a view: the words are decoded from raw, not a copy
        ids, starts, ends = K.split_words(data, ord(sep))
        words = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts.tolist(), ends.tolist())]
        if len(data) == len(joined):
            piece_ends = np.cumsum(np.fromiter(map(len, texts), np.int64, count=len(texts)) + 1) - 1
            lens = K.count_byte(data, ord(sep), piece_ends) + 1
        else:
            lens = np.fromiter(map(str.count, texts, [sep] * len(texts)), np.int64, count=len(texts)) + 1
        return lens, self.pool.encode(words)[ids]

    def generate(self, e: Fn, t: Table, once: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
        """(row index repeated per element, the elements) of a list-valued builtin, and
        whether each row's elements are pairwise different. With `once`, an int or string
        list keeps each element once (`split` repeats words) where its values span a small
        range: distinct input rows then give distinct output rows, which a dedup later
        need not hash."""
        from dfl.backends.cpu import kernels as K

        args = [self.eval(a, t) for a in e.args]
        if e.op == "range":
            lo, hi = args
            counts = np.maximum(hi - lo, 0)
            # the rows a range makes are known before they are made: check the memory limit
            # (summed as floats: the count of huge ranges may not fit an int64)
            limits.check_rows(int(counts.sum(dtype=np.float64)), limits.cpu_row_bytes(len(t.cols) + 1, 8))
            rows = np.repeat(np.arange(t.n), counts)
            starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
            return rows, starts + np.arange(len(rows)), True  # a range never repeats a value
        types = [a.type for a in e.args]
        if t.n == 0:
            return np.empty(0, np.int64), np.empty(0, DTYPES[e.type]), True
        ids, first = factorize_columns(args, t.n)
        uniq = [self.py(a[first], ty) for a, ty in zip(args, types)]
        impl = BUILTINS[e.op].impl
        sep = e.args[1]
        if e.op == "split" and isinstance(sep, Lit) and len(sep.value) == 1:
            # one split over all the distinct strings joined by the separator itself (a
            # one-character separator cannot straddle a joint), cut back by counting it
            texts = uniq[0]
            if ord(sep.value) < 128 and texts:
                lens, flat = self._split_ascii(texts, sep.value)
            else:
                lens = np.fromiter(map(sep.value.__class__.count, texts, [sep.value] * len(texts)), np.int64,
                                   count=len(texts)) + 1
                flat = self.from_py(sep.value.join(texts).split(sep.value) if texts else [], e.type)
        else:
            lists = [list(impl(*combo)) for combo in zip(*uniq)]
            lens = np.array([len(x) for x in lists], np.int64)
            flat = self.from_py([v for x in lists for v in x], e.type)
        offsets = np.concatenate(([0], np.cumsum(lens)))
        unique = False
        if once and e.type in (Type.STR, Type.INT) and len(flat):
            lo, hi = int(flat.min()), int(flat.max())
            if lo >= 0 and hi < 4 * len(flat) + 4096:
                offsets, flat = K.first_in_lists(offsets, flat, hi + 1)
                unique = True
        rows, vals = K.expand(ids, offsets, flat.astype(np.int64, copy=False) if flat.dtype == np.bool_ else flat)
        return rows, vals, unique


def _to_int64(x: np.ndarray) -> np.ndarray:
    """Whole floats to int64, wrapping beyond 64 bits like every int (Python ints do not)."""
    out = np.zeros(len(x), np.int64)
    inside = np.abs(x) < 2.0 ** 63
    out[inside] = x[inside].astype(np.int64)
    for i in np.nonzero(~inside)[0]:
        v = int(x[i]) & 0xFFFFFFFFFFFFFFFF
        out[i] = v - (1 << 64) if v >= 1 << 63 else v
    return out


def _splitmix(x: np.ndarray, t: Type) -> np.ndarray:
    """stdlib.hashing.stable_hash, vectorised (uint64 arithmetic wraps)."""
    if t == Type.FLOAT:
        v = x.view(np.uint64).copy()
    else:
        v = x.astype(np.int64).view(np.uint64).copy()
    with np.errstate(all="ignore"):
        v = v + np.uint64(0x9E3779B97F4A7C15)
        v = (v ^ (v >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        v = (v ^ (v >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        v = v ^ (v >> np.uint64(31))
    return v.view(np.int64)
