"""Agents (LANGUAGE.md §8): each `agent Name { ... }` block is checked as a program of its
own, made of the agent's declarations and rules plus the top-level `input` relations,
which every agent reads (and none writes). The channel policies `@public` and `@allow`
are taken off the declarations here, so the checker and the IR see plain channels.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from dfl.errors import DflError, Span
from dfl.lang import ast
from dfl.lang.addresses import SELF_REL, bind_self, self_decl
from dfl.lang.sends import AgentDecls, HeadTyper, rewrite_sends

POLICIES = ("public", "allow")


@dataclass
class CheckedAgent:
    name: str
    span: Span
    checked: "object"  # the agent's CheckedProgram (lang/check.py; typed loosely to avoid a cycle)
    public: frozenset[str]  # channels that accept messages from outside
    allow: dict[str, frozenset[str]]  # channel -> the agent types that may send to it


def check_agents(prog: ast.Program, top: dict[str, ast.Decl], errors: list[DflError],
                 check: Callable[[ast.Program], Any], head_types: HeadTyper) -> dict[str, CheckedAgent]:
    """Every agent of `prog`, checked by `check` (lang/check.py's, passed in so the two
    modules do not import each other; `head_types` types a send's arguments); problems are
    appended to `errors`."""
    out: dict[str, CheckedAgent] = {}
    names = {a.name for a in prog.agents}
    every = AgentDecls({}, {})
    for agent in prog.agents:  # every agent's channels first: a send may go to any of them
        if agent.name not in every.decls:
            plain, _, allow = _policies(agent.body.decls, names, [])
            every.decls[agent.name] = {d.name: d for d in plain}
            every.allow[agent.name] = allow
    for agent in prog.agents:
        if agent.name in out:
            errors.append(DflError(f"agent {agent.name} is declared twice", agent.span,
                                   hint=f"it was first declared at {out[agent.name].span}"))
            continue
        body = agent.body
        found: list[DflError] = []
        decls, public, allow = _policies(body.decls, names, found)
        for d in decls:
            if "input" in d.kinds:
                found.append(DflError(f"agent {agent.name} declares the input '{d.name}': an agent's rows come "
                                      f"from its messages", d.span,
                                      hint="declare inputs at the top level (every agent reads them), or make "
                                           "it a channel"))
            if d.name in top:
                found.append(DflError(f"'{d.name}' is declared both at the top level and in agent {agent.name}",
                                      d.name_span, hint=f"the top-level one is at {top[d.name].span}; rename one"))
            if d.name.startswith("__"):
                found.append(DflError(f"names starting with `__` are reserved for DFL's own relations: "
                                      f"'{d.name}'", d.name_span, hint="rename it"))
        own = {d.name for d in decls}
        inputs = {n: d for n, d in top.items() if "input" in d.kinds}
        for rule in body.rules:
            _check_reach(agent.name, rule, own, top, found)
        errors.extend(found)
        if found:
            continue
        facts = [r for r in prog.rules if r.is_fact and r.head.rel in inputs]
        base = [replace(d, kinds=frozenset({"input"})) for d in inputs.values()] + decls
        fns = list(prog.fns) + list(body.fns)
        rules = [bind_self(r) for r in body.rules]
        if any(a.rel == SELF_REL for r in rules for a in r.body if isinstance(a, ast.Atom)):
            base.append(self_decl(agent.span))
        rules, sends = rewrite_sends(agent.name, rules, {d.name: d for d in base}, {f.name: f for f in fns},
                                     every, head_types, found)
        errors.extend(found)
        if found:
            continue
        sub = ast.Program(prog.file, prog.source, decls=base + sends, rules=facts + rules, fns=fns,
                          stray_annotations=list(body.stray_annotations))
        try:
            checked = check(sub)
        except DflError as e:
            errors.extend(e.all())
            continue
        out[agent.name] = CheckedAgent(agent.name, agent.span, checked, public, allow)
    return out


def _policies(decls: list[ast.Decl], agents: set[str], errors: list[DflError]):
    """The declarations without `@public`/`@allow`, and what those said."""
    plain: list[ast.Decl] = []
    public: set[str] = set()
    allow: dict[str, frozenset[str]] = {}
    for d in decls:
        for a in d.annotations:
            if a.name not in POLICIES:
                continue
            if d.storage != "channel":
                errors.append(DflError(f"@{a.name} is for channels, and '{d.name}' is not a channel", a.span))
            elif a.name == "public":
                public.add(d.name)
            else:
                who = [v for k, v in a.args if k is None and isinstance(v, str)]
                if not who or len(who) != len(a.args):
                    errors.append(DflError("@allow takes the names of agent types", a.span,
                                           hint="e.g. @allow(Client, Server)"))
                for w in who:
                    if w not in agents:
                        errors.append(DflError(f"@allow({w}): there is no agent {w}", a.span,
                                               hint=f"agents: {', '.join(sorted(agents))}"))
                allow[d.name] = frozenset(who)
        plain.append(replace(d, annotations=tuple(a for a in d.annotations if a.name not in POLICIES)))
    return plain, frozenset(public), allow


def _check_reach(agent: str, rule: ast.Rule, own: set[str], top: dict[str, ast.Decl],
                 errors: list[DflError]) -> None:
    """An agent writes only its own relations, and reads its own and the top-level inputs."""
    head = rule.head.rel
    if rule.head.dest is None and head not in own and head in top:
        errors.append(DflError(f"agent {agent} cannot write the top-level relation '{head}'", rule.head.span,
                               hint="top-level relations are read-only inside agents; declare a relation "
                                    "in the agent"))
    for lit in rule.body:
        for atom in ast.literal_atoms(lit):
            if atom.rel not in own and atom.rel in top and "input" not in top[atom.rel].kinds:
                errors.append(DflError(f"agent {agent} reads the top-level {top[atom.rel].storage} "
                                       f"'{atom.rel}': only top-level inputs can be read inside agents yet",
                                       atom.span, hint="reading top-level tables and rules from agents is "
                                                       "not supported yet"))
