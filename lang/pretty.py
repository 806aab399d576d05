"""The AST printed back as DFL source: one canonical form (bodies in DNF, one rule per line)."""
from __future__ import annotations

from dfl.lang import ast

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2}


def expr(e: ast.Expr, prec: int = 0) -> str:
    if isinstance(e, ast.Var):
        return e.name
    if isinstance(e, ast.Const):
        return const(e.value)
    if isinstance(e, ast.Call):
        return f"{e.name}({', '.join(expr(a) for a in e.args)})"
    if isinstance(e, ast.HeadAgg):
        return f"{e.func}({'' if e.arg is None else expr(e.arg)})"
    if isinstance(e, ast.BinOp):
        p = _PREC[e.op]
        s = f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}"
        return f"({s})" if p < prec else s
    if isinstance(e, ast.Neg):
        return f"-{expr(e.operand, 3)}"
    if isinstance(e, ast.Not):
        return f"!{expr(e.operand, 3)}"
    if isinstance(e, ast.Compare):
        s = f"{expr(e.left, 1)} {e.op} {expr(e.right, 1)}"
        return f"({s})" if prec > 0 else s
    if isinstance(e, ast.If):
        s = f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.else_)}"
        return f"({s})" if prec > 0 else s
    raise TypeError(e)


def const(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        body = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{body}"'
    if isinstance(v, float):
        r = repr(v)
        return r if ("." in r or "e" in r or "n" in r) else r + ".0"
    return str(v)


def literal(l: ast.Literal) -> str:
    if isinstance(l, ast.Atom):
        return f"{l.rel}({', '.join(expr(a) for a in l.args)})"
    if isinstance(l, ast.Negation):
        return "!" + literal(l.atom)
    if isinstance(l, ast.Filter):
        return expr(l.expr)
    if isinstance(l, ast.Generator):
        return f"{l.var.name} in {expr(l.expr)}"
    if isinstance(l, ast.BodyAgg):
        simple = isinstance(l.arg, ast.Var) or (isinstance(l.arg, ast.Const) and not
                                                  (isinstance(l.arg.value, (int, float)) and l.arg.value < 0))
        arg = "" if l.arg is None else " " + (expr(l.arg) if simple else f"({expr(l.arg)})")
        return f"{expr(l.result)} = {l.func}{arg} : {{ {', '.join(literal(x) for x in l.body)} }}"
    raise TypeError(l)


def annotations(anns: tuple[ast.Annotation, ...]) -> str:
    out = []
    for a in anns:
        args = ", ".join((f"{k} = " if k else "") + (v if isinstance(v, str) else expr(v)) for k, v in a.args)
        out.append(f"@{a.name}({args})\n")
    return "".join(out)


def rule(r: ast.Rule) -> str:
    dest = f"@{r.head.dest.name}" if r.head.dest is not None else ""
    head = f"{r.head.rel}{dest}({', '.join(expr(a) for a in r.head.args)})"
    prefix = "" if r.kind == "rule" else r.kind + " "
    if not r.body:
        text = f"{prefix}{head}." if r.kind == "rule" else f"{prefix}{head} :- true."
    else:
        text = f"{prefix}{head} :- {', '.join(literal(l) for l in r.body)}."
    return annotations(r.annotations) + text


def decl(d: ast.Decl) -> str:
    order = ["input", "output", "rel", "table", "channel"]
    kinds = " ".join(k for k in order if k in d.kinds)
    cols = ", ".join(f"{c.name}: {c.lattice}<{c.type}>" if c.lattice else f"{c.name}: {c.type}" for c in d.columns)
    return annotations(d.annotations) + f"{kinds} {d.name}({cols})"


def fn(f: ast.FnDef) -> str:
    params = ", ".join(f"{p.name}: {p.type}" for p in f.params)
    return annotations(f.annotations) + f"fn {f.name}({params}) -> {f.ret} = {expr(f.body)}"


def program(p: ast.Program) -> str:
    lines = [decl(d) for d in p.decls] + [fn(f) for f in p.fns] + [rule(r) for r in p.rules]
    return "\n".join(lines) + "\n"
