"""DOT and Mermaid renderings: smoke tests, and Graphviz on the output when it is installed."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from irsamples import N, anon
from dfl.errors import DflError
from dfl.ir.graph import Graph
from dfl.ir import render
from dfl.ir.render import render_image, to_dot, to_mermaid

HAVE_DOT = shutil.which("dot") is not None


def test_dot_shape(sample):
    dot = to_dot(sample)
    assert dot.startswith('digraph "dfl" {') and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    for n in sample.nodes:
        assert f'"{n.id}" [label="{n.id} {n.op}' in dot
    for b in sample.node("n15").attr("body").nodes:
        assert f'"n15/{b.id}" [label=' in dot  # body nodes, prefixed by their fixpoint
    assert '"n3" -> "n4";' in dot
    assert '"n15/b1.delta" -> "n15/b3";' in dot
    assert 'subgraph "cluster_n15"' in dot and 'label="fixpoint n15"' in dot
    assert 'subgraph "cluster_stratum_0"' in dot and 'label="stratum 4"' in dot
    assert '"n15" -> "n15/b2" [style=dashed' in dot and '"n15/b6" -> "n15" [style=dashed' in dot
    # sources and exits have their own shapes; non-monotone nodes a red border
    assert re.search(r'"n1" \[label="n1 source\\nedge \(input\)", shape=invhouse', dot)
    assert re.search(r'"n17" \[label="n17 sink\\ntc", shape=house', dot)
    n11 = next(ln for ln in dot.splitlines() if ln.strip().startswith('"n11" ['))
    assert n11.endswith("color=red, penwidth=2];")
    assert re.search(r'"n9" \[label="n9 join\\n\[1\] = \[0\]", shape=box\]', dot)


def test_labels_are_short_and_escaped(sample):
    dot = to_dot(sample)
    n6 = next(ln for ln in dot.splitlines() if ln.strip().startswith('"n6" ['))
    assert "…" in n6  # long expression lists are cut
    assert "\n" not in n6
    assert 'a\\"b' in n6  # a quote inside a label is escaped for DOT


def test_mermaid_shape(sample):
    m = to_mermaid(sample)
    lines = m.splitlines()
    assert lines[0] == "flowchart TD"
    opens = sum(1 for ln in lines if ln.strip().startswith("subgraph "))
    assert opens == sum(1 for ln in lines if ln.strip() == "end") == len({n.stratum for n in sample.nodes}) + 1
    assert 'subgraph stratum_0 ["stratum 0"]' in m
    for n in sample.nodes:
        assert re.search(rf'^\s*{n.id}[\[{{(/\\]+"{n.id} {n.op}', m, re.M), n.id
    assert "n3 --> n4" in m
    assert "n15_b1_delta --> n15_b3" in m  # ids made of plain word characters
    assert "n15 -.- n15_b2" in m and "n15_b6 -.-> n15" in m
    assert re.search(r"^\s*class [\w,]*\bn1\b[\w,]* source$", m, re.M)
    assert re.search(r"^\s*class [\w,]*\bn17\b[\w,]* exit$", m, re.M)
    assert re.search(r"^\s*class [\w,]*\bn11\b[\w,]* nonmonotone$", m, re.M)
    # labels hold no raw quotes or angle brackets other than <br/>
    for label in re.findall(r'"([^"]*)"', m):
        assert "<" not in label.replace("<br/>", "") and ">" not in label.replace("<br/>", "")
    # every node id used in an edge is declared
    declared = set(re.findall(r"^\s*([A-Za-z_]\w*)[\[{(/\\]", m, re.M))
    for a, b in re.findall(r"^\s*(\w+) -[-.]+>? (\w+)$", m, re.M):
        assert a in declared and b in declared


def test_mermaid_ids_stay_unique():
    g = Graph((N("a.b", "values", (), {"rows": ()}, anon()), N("a_b", "distinct", ("a.b",), {}, anon()),
               N("end", "distinct", ("a_b",), {}, anon()), N("1x", "distinct", ("end",), {}, anon())))
    m = to_mermaid(g)
    ids = re.findall(r"^\s*(\w+)\[", m, re.M)
    assert len(ids) == len(set(ids)) == 4
    assert "end[" not in m.replace("  end\n", "")


def test_program_renderings(program):
    dot, m = to_dot(program), to_mermaid(program)
    for n in program.nodes:
        assert f'"{n.id}"' in dot
    assert m.startswith("flowchart TD")
    if HAVE_DOT:
        proc = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG")])
def test_render_image(sample, tmp_path, fmt, magic):
    out = tmp_path / f"g.{fmt}"
    render_image(sample, fmt, str(out))
    assert magic in out.read_bytes()[:400]


@pytest.mark.skipif(not HAVE_DOT, reason="Graphviz 'dot' is not installed")
def test_dot_accepts_the_sample(sample):
    proc = subprocess.run(["dot", "-Tsvg"], input=to_dot(sample).encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode()


def test_render_image_without_graphviz(sample, tmp_path, monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(DflError) as e:
        render_image(sample, "svg", str(tmp_path / "g.svg"))
    err = e.value
    assert err.kind == "usage" and "Graphviz 'dot' is not installed" in err.message
    assert err.hint == "install graphviz (apt-get install graphviz) or use --format dot"


def test_render_image_bad_format(sample, tmp_path):
    with pytest.raises(DflError) as e:
        render_image(sample, "gif", str(tmp_path / "g.gif"))
    assert e.value.kind == "usage"
