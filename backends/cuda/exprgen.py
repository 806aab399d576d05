"""IR expressions to the source of one fused device kernel: a thread per row runs a chain of
map/filter steps in order (every map's columns are computed, so a failing expression fails
where the interpreter's would; a filter that drops the row ends its thread).

`if` and the later conjuncts of `and` are evaluated only on the rows that reach them, so a
guarded division never fails. A failing operation (division by zero, sqrt of a negative,
...) sets `bad`; the row then stops and either raises the kernel's error flag (the host
then replays the chain on the cpu evaluator for the exact message) or, in *soft* mode (the
arguments of a host function, computed for every row whether a guard lets it through or
not), only poisons its row.

String functions cannot run on a device: each outermost one is *hoisted* (`host_calls`),
evaluated on the host once per distinct argument combination, and read by the kernel as an
extra column with a per-row failure flag (pipeline.py).
"""
from __future__ import annotations

import math

from dfl.ir.expr import Col, Fn, IRExpr, Lit
from dfl.ir.types import Type

ARITH = {"add": "+", "sub": "-", "mul": "*"}
CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
DEVICE_BUILTINS = {"abs", "min", "max", "sqrt", "log", "exp", "pow", "floor", "ceil", "hash", "to_float",
                   "to_int"}
_TWO64 = "18446744073709551616.0"
_TWO63 = "9223372036854775808.0"


def on_host(e: IRExpr) -> bool:
    """Whether this call is a host function (strings, or a float's bits for `hash`)."""
    if not isinstance(e, Fn):
        return False
    a0 = e.args[0].type if e.args else None
    if e.op == "add" and e.type.text:
        return True
    if e.op in ("add", "sub", "mul", "div", "floordiv", "mod", "neg", "not", "and", "if", "float") or e.op in CMP:
        return False
    if e.op not in DEVICE_BUILTINS:
        return True  # len, lower, upper, substr, contains, to_str, agent_of, key_of, ...
    if e.op == "hash":
        return a0 not in (Type.INT, Type.BOOL)
    if e.op in ("to_float", "to_int"):
        return bool(a0 is not None and a0.text)
    return False


def host_calls(e: IRExpr, out: list) -> list:
    """The outermost host calls of e, each once (in order of appearance)."""
    if isinstance(e, Fn):
        if on_host(e):
            if e not in out:
                out.append(e)
        else:
            for a in e.args:
                host_calls(a, out)
    return out


def cast(v: str, t: Type) -> str:
    if t == Type.FLOAT:
        return f"float64({v})"
    if t == Type.BOOL:
        return v
    return f"int64({v})"


def lit(e: Lit, code) -> str:
    if e.type.text:
        return f"int64({code(e.value)})"
    if e.type == Type.BOOL:
        return "True" if e.value else "False"
    if e.type == Type.FLOAT:
        v = float(e.value)
        if math.isnan(v):
            return "float64(math.nan)"
        if math.isinf(v):
            return "float64(math.inf)" if v > 0 else "float64(-math.inf)"
        return f"float64({v!r})"
    return f"int64({int(e.value)})"


class Gen:
    """Statements for one row; `expr` returns the name of a local holding the value."""

    def __init__(self, hoisted: list, code) -> None:
        self.hoisted = hoisted
        self.code = code  # a string literal's code in the plan's pool
        self.lines: list[str] = []
        self.k = 0

    def tmp(self) -> str:
        self.k += 1
        return f"t{self.k}"

    def emit(self, ind: int, s: str) -> None:
        self.lines.append("    " * ind + s)

    def fail(self, ind: int, cond: str, r: str, zero: str, ok: str) -> None:
        self.emit(ind, f"if {cond}:")
        self.emit(ind + 1, "bad = True")
        self.emit(ind + 1, f"{r} = {zero}")
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{r} = {ok}")

    def expr(self, e: IRExpr, env: list[str], ind: int) -> str:
        if isinstance(e, Col):
            return env[e.index]
        if isinstance(e, Lit):
            r = self.tmp()
            self.emit(ind, f"{r} = {lit(e, self.code)}")
            return r
        if e in self.hoisted:
            j = self.hoisted.index(e)
            r = self.tmp()
            self.emit(ind, f"{r} = h{j}[i]")
            self.emit(ind, f"if hb{j}[i]:")
            self.emit(ind + 1, "bad = True")
            return r
        return self.fn(e, env, ind)

    def fn(self, e: Fn, env: list[str], ind: int) -> str:
        op, t = e.op, e.type
        r = self.tmp()
        if op == "and":
            self.emit(ind, f"{r} = True")
            for a in e.args:
                self.emit(ind, f"if {r}:")
                v = self.expr(a, env, ind + 1)
                self.emit(ind + 1, f"{r} = {v}")
            return r
        if op == "if":
            c = self.expr(e.args[0], env, ind)
            self.emit(ind, f"if {c}:")
            a = self.expr(e.args[1], env, ind + 1)
            self.emit(ind + 1, f"{r} = {cast(a, t)}")
            self.emit(ind, "else:")
            b = self.expr(e.args[2], env, ind + 1)
            self.emit(ind + 1, f"{r} = {cast(b, t)}")
            return r
        args = [self.expr(a, env, ind) for a in e.args]
        ts = [a.type for a in e.args]
        zero = cast("0", t)
        if op in ARITH:
            self.emit(ind, f"{r} = {cast(args[0], t)} {ARITH[op]} {cast(args[1], t)}")
        elif op == "div":
            self.fail(ind, f"{args[1]} == 0", r, "0.0", f"float64({args[0]}) / float64({args[1]})")
        elif op in ("floordiv", "mod"):
            sym = "//" if op == "floordiv" else "%"
            self.fail(ind, f"{args[1]} == 0", r, zero, f"{cast(args[0], t)} {sym} {cast(args[1], t)}")
        elif op in CMP:
            a, b = args
            if ts[0].text and op not in ("eq", "ne"):
                a, b = f"ranks[{a}]", f"ranks[{b}]"
            elif Type.FLOAT in ts:
                a, b = f"float64({a})", f"float64({b})"
            self.emit(ind, f"{r} = {a} {CMP[op]} {b}")
        elif op == "neg":
            self.emit(ind, f"{r} = -{args[0]}")
        elif op == "not":
            self.emit(ind, f"{r} = not {args[0]}")
        elif op in ("float", "to_float"):
            self.emit(ind, f"{r} = float64({args[0]})")
        elif op == "abs":
            self.emit(ind, f"{r} = abs({cast(args[0], t)})")
        elif op in ("min", "max"):  # Python's: the first argument unless the second beats it
            a, b = cast(args[0], t), cast(args[1], t)
            self.emit(ind, f"{r} = {b} if {b} {'<' if op == 'min' else '>'} {a} else {a}")
        elif op == "sqrt":
            self.fail(ind, f"float64({args[0]}) < 0.0", r, "0.0", f"math.sqrt(float64({args[0]}))")
        elif op == "log":
            self.fail(ind, f"float64({args[0]}) <= 0.0", r, "0.0", f"math.log(float64({args[0]}))")
        elif op == "exp":
            self.emit(ind, f"{r} = math.exp(float64({args[0]}))")
        elif op == "pow":
            self._pow(e, args, r, ind)
        elif op in ("floor", "ceil", "to_int"):
            if ts[0] == Type.FLOAT:
                rnd = {"floor": "math.floor", "ceil": "math.ceil", "to_int": ""}[op]
                self.emit(ind, f"if not ({args[0]} - {args[0]} == 0.0):")
                self.emit(ind + 1, "bad = True")
                self.emit(ind + 1, f"{r} = int64(0)")
                self.emit(ind, f"elif abs({args[0]}) < 4.0e18:")  # exact in int64 (whole beyond 2**53)
                self.emit(ind + 1, f"{r} = int64({rnd}({args[0]}))")
                self.emit(ind, "else:")  # a whole float: its value modulo 2**64, as every int wraps
                self.emit(ind + 1, f"m = math.fmod({args[0]}, {_TWO64})")
                self.emit(ind + 1, f"if m >= {_TWO63}:")
                self.emit(ind + 2, f"m -= {_TWO64}")
                self.emit(ind + 1, f"elif m < -{_TWO63}:")
                self.emit(ind + 2, f"m += {_TWO64}")
                self.emit(ind + 1, f"{r} = int64(m)")
            else:
                self.emit(ind, f"{r} = int64({args[0]})")
        elif op == "hash":  # stdlib.hashing.stable_hash of an int or bool: splitmix64
            self.emit(ind, f"v = uint64(int64({args[0]})) + uint64(0x9E3779B97F4A7C15)")
            self.emit(ind, "v = (v ^ (v >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)")
            self.emit(ind, "v = (v ^ (v >> uint64(27))) * uint64(0x94D049BB133111EB)")
            self.emit(ind, f"{r} = int64(v ^ (v >> uint64(31)))")
        else:
            raise NotImplementedError(op)  # on_host() sends every other call to the host
        return r

    def _pow(self, e: Fn, args: list[str], r: str, ind: int) -> None:
        a, b = args
        if e.type == Type.INT:
            self.emit(ind, f"{r} = int64(1)")
            self.emit(ind, f"if {b} < 0:")
            self.emit(ind + 1, "bad = True")
            self.emit(ind, "else:")
            self.emit(ind + 1, f"pb = int64({a})")
            self.emit(ind + 1, f"pe = int64({b})")
            self.emit(ind + 1, "while pe > 0:")
            self.emit(ind + 2, "if pe & 1:")
            self.emit(ind + 3, f"{r} = {r} * pb")
            self.emit(ind + 2, "pb = pb * pb")
            self.emit(ind + 2, "pe = pe >> 1")
            return
        x, y = f"float64({a})", f"float64({b})"
        self.emit(ind, f"{r} = math.pow({x}, {y})")
        self.emit(ind, f"if not ({r} - {r} == 0.0) and ({x} - {x} == 0.0) and ({y} - {y} == 0.0):")
        self.emit(ind + 1, "bad = True")


def _body(g: Gen, steps: list, env: list[str], ind: int, on_bad: list[str], on_drop: list[str]) -> list[str]:
    """Statements for the steps on one row (columns `env`); the names of its output values."""
    for s, (kind, what) in enumerate(steps):
        if kind == "map":
            vals = [g.expr(e, env, ind) for e in what]
            g.emit(ind, "if bad:")
            for line in on_bad:
                g.emit(ind + 1, line)
            env = []
            for k, (v, e) in enumerate(zip(vals, what)):
                g.emit(ind, f"y{s}_{k} = {cast(v, e.type)}")
                env.append(f"y{s}_{k}")
        else:
            p = g.expr(what, env, ind)
            g.emit(ind, "if bad:")
            for line in on_bad + on_drop:
                g.emit(ind + 1, line)
            g.emit(ind, f"if not {p}:")
            for line in on_drop:
                g.emit(ind + 1, line)
    return env


def kernel_source(name: str, steps: list, in_types: list[Type], n_hoisted: int, out_types: list[Type],
                  hoisted: list, code, soft: bool) -> str:
    """The source of one fused kernel over `steps` (("map", exprs) | ("filter", pred))."""
    g = Gen(hoisted, code)
    for j in range(len(in_types)):
        g.emit(1, f"x{j} = c{j}[i]")
    on_bad = ["poison[i] = True"] if soft else ["cuda.atomic.max(err, 0, 1)", "keep[i] = False", "return"]
    env = _body(g, steps, [f"x{j}" for j in range(len(in_types))], 1, on_bad, ["keep[i] = False", "return"])
    for k in range(len(out_types)):
        g.emit(1, f"o{k}[i] = {cast(env[k], out_types[k])}")
    g.emit(1, "keep[i] = True")
    params = (["n", "ranks", "err", "keep", "poison"] + [f"c{j}" for j in range(len(in_types))]
              + [p for j in range(n_hoisted) for p in (f"h{j}", f"hb{j}")] + [f"o{k}" for k in range(len(out_types))])
    head = [f"def {name}({', '.join(params)}):", "    i = cuda.grid(1)", "    if i >= n:", "        return",
            "    bad = False"]
    return "\n".join(head + g.lines) + "\n"


def join_kernel_source(name: str, steps: list, n_left: int, n_right: int, out_types: list[Type], code,
                       probe_left: bool) -> str:
    """The probe of a hash join fused with the map/filter chain after it: a thread per probe
    row walks its bucket's chain; each match runs the steps on (left row ++ right row) and a
    kept row is written where an atomic counter says. No pair arrays, no gathers."""
    g = Gen([], code)
    p = "l" if probe_left else "r"
    g.emit(1, "rw = head[ph[i]]")
    g.emit(1, "while rw >= 0:")
    g.emit(2, "br = rw")
    g.emit(2, "rw = nxt[rw]")
    g.emit(2, "same = True")
    g.emit(2, "for j in range(pmat.shape[1]):")
    g.emit(3, "if pmat[i, j] != bmat[br, j]:")
    g.emit(4, "same = False")
    g.emit(4, "break")
    g.emit(2, "if not same:")
    g.emit(3, "continue")
    g.emit(2, "bad = False")
    env = []
    for side, count in (("l", n_left), ("r", n_right)):
        row = "i" if side == p else "br"
        for j in range(count):
            g.emit(2, f"{side}x{j} = {side}{j}[{row}]")
            env.append(f"{side}x{j}")
    env = _body(g, steps, env, 2, ["cuda.atomic.max(err, 0, 1)", "return"], ["continue"])
    g.emit(2, "at = cuda.atomic.add(cursor, 0, 1)")
    for k in range(len(out_types)):
        g.emit(2, f"o{k}[at] = {cast(env[k], out_types[k])}")
    params = (["n", "ranks", "err", "pmat", "ph", "bmat", "head", "nxt", "cursor"]
              + [f"l{j}" for j in range(n_left)] + [f"r{j}" for j in range(n_right)]
              + [f"o{k}" for k in range(len(out_types))])
    head = [f"def {name}({', '.join(params)}):", "    i = cuda.grid(1)", "    if i >= n:", "        return"]
    return "\n".join(head + g.lines) + "\n"
