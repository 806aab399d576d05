"""`dfl run PROG --messages FILE` (LANGUAGE.md §8): the files it writes, and its input errors
(exit 2, at file:line:col)."""
from __future__ import annotations

import pytest

PROG = """
input greeting(word: str)
output words(word: str)
words(w) :- greeting(w).
agent Inbox {
  @public channel post(msg: str, n: int)
  channel internal(msg: str)
  table seen(msg: str, n: int)
  next seen(m, n) :- post(m, n).
}
"""


@pytest.fixture
def prog(write):
    write("in/greeting.csv", "word\nhello\n")
    return write("prog.dfl", PROG)


def test_writes_each_table_per_instance_and_the_top_level_outputs(prog, write, tmp_path, dfl_cli) -> None:
    msgs = write("m.csv", "time,agent,key,channel\n2,Inbox,bo,post,late,2\n1,Inbox,al,post,\"a, b\",1\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--messages", msgs, "-O", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "Inbox.seen.csv").read_text() == 'instance,msg,n\nal,"a, b",1\nbo,late,2\n'
    assert (tmp_path / "out" / "words.csv").read_text() == "word\nhello\n"


def test_without_an_output_folder_it_prints_tables(prog, write, tmp_path, dfl_cli) -> None:
    msgs = write("m.csv", "time,agent,key,channel\n0,Inbox,al,post,x,1\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--messages", msgs)
    assert r.returncode == 0 and "Inbox.seen" in r.stdout and "al" in r.stdout


@pytest.mark.parametrize("row, col, words", [
    ("1,Inbox,al,internal,x", 12, "not @public"),
    ("1,Nobody,al,post,x,1", 3, "no agent 'Nobody'"),
    ("1,Inbox,al,nope,x,1", 12, "no channel 'nope'"),
    ("-1,Inbox,al,post,x,1", 1, "int >= 0"),
    ("1,Inbox,al,post,x", 1, "2 column(s)"),
    ("1,Inbox,al,post,x,one", 19, "expected int"),
    ("1,Inbox", 1, "at least 4 fields"),
])
def test_a_bad_message_is_an_input_error_at_its_place(prog, write, tmp_path, dfl_cli, row, col, words) -> None:
    msgs = write("m.csv", "time,agent,key,channel\n0,Inbox,al,post,ok,1\n" + row + "\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--messages", msgs, "-O", tmp_path / "out")
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{msgs}:3:{col}: input error: "), r.stderr
    assert words in first
    assert not (tmp_path / "out").exists()


def test_a_bad_header_is_an_input_error(prog, write, tmp_path, dfl_cli) -> None:
    msgs = write("m.csv", "tick,agent,key,channel\n")
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--messages", msgs)
    assert r.returncode == 2 and f"{msgs}:1:1: input error: the header must be" in r.stderr


def test_messages_need_agents(write, tmp_path, dfl_cli) -> None:
    p = write("p.dfl", "output o(a: int)\no(1).\n")
    msgs = write("m.csv", "time,agent,key,channel\n")
    r = dfl_cli("run", p, "--messages", msgs)
    assert r.returncode == 2 and "declares no agent" in r.stderr


def test_a_missing_messages_file_is_an_input_error(prog, tmp_path, dfl_cli) -> None:
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "--messages", tmp_path / "none.csv")
    assert r.returncode == 2 and "no such messages file" in r.stderr


def test_ir_compile_and_check_show_each_agent(prog, dfl_cli) -> None:
    ir = dfl_cli("ir", prog)
    assert ir.returncode == 0 and "# agent Inbox" in ir.stdout and 'defer(' in ir.stdout.split("# agent Inbox")[1]
    plan = dfl_cli("compile", prog, "--emit", "plan")
    assert plan.returncode == 0 and plan.stdout.count("# dfl physical plan") == 2
    chk = dfl_cli("check", prog)
    assert "agent Inbox: internal, post, seen; public channels: post" in chk.stdout


def test_a_run_without_messages_runs_the_top_level_part(prog, tmp_path, dfl_cli) -> None:
    r = dfl_cli("run", prog, "-I", tmp_path / "in", "-O", tmp_path / "out")
    assert r.returncode == 0 and "--messages" in r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["words.csv"]


def test_an_ir_file_cannot_hold_agents_yet(prog, tmp_path, dfl_cli) -> None:
    r = dfl_cli("ir", prog, "-o", tmp_path / "p.dfir")
    assert r.returncode == 2 and "cannot hold them yet" in r.stderr
    assert not (tmp_path / "p.dfir").exists()
