import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main

from .conftest import BUNDLED_ARTICLE

RAG = Path(sys.executable).with_name("rag")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_prints_answer_and_citation(capsys, article_index):
    code, out, err = run(capsys, "ask", "What did Pistorius say about international law?", "--index", article_index.path)
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("German defence minister Boris Pistorius said “we are checking")
    assert "[1] article.txt, characters 749–914 · Boris Pistorius" in out


def test_ask_json(capsys, article_index):
    code, out, _ = run(capsys, "ask", "Who is the UK Defence Secretary?", "--index", article_index.path, "--json")
    data = json.loads(out)
    assert code == 0 and data["abstained"] is False
    assert data["citations"][0]["speaker"] == "John Healey"
    assert set(data["citations"][0]) == {"doc_id", "text", "start", "end", "score", "speaker"}


def test_retrieve_json_k(capsys, article_index):
    code, out, _ = run(capsys, "retrieve", "Indo-Pacific", "-k", 2, "--index", article_index.path, "--json")
    passages = json.loads(out)
    assert code == 0 and len(passages) == 2
    assert passages[0]["text"] == "“There is an indivisible link with security concerns in the Indo-Pacific as well.”"


def test_eval_json(capsys, article_index):
    data_file = Path(__file__).parent / "data" / "article_dev.jsonl"
    code, out, _ = run(capsys, "eval", data_file, "--index", article_index.path, "--json")
    report = json.loads(out)
    assert code == 0 and report["accuracy"] == 1.0 and len(report["outcomes"]) == 16


def test_index_then_ask_own_files(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("The budget for the new school is 4 million euros.", encoding="utf-8")
    code, out, _ = run(capsys, "index", tmp_path / "notes.txt", "--index", tmp_path / "ix")
    assert code == 0 and out == f"indexed 1 document(s), 1 passages into {tmp_path / 'ix'}\n"
    code, out, _ = run(capsys, "ask", "How much is the school budget?", "--index", tmp_path / "ix")
    assert out.startswith("The budget for the new school is 4 million euros. [1]")


@pytest.mark.parametrize("setup, args, message", [
    (None, ["index", "{tmp}/missing.txt", "--index", "{tmp}/ix"], "missing.txt: no such file or directory"),
    ("empty.txt", ["index", "{tmp}/empty.txt", "--index", "{tmp}/ix"], "empty.txt: file has no text"),
    ("blob.txt", ["index", "{tmp}/blob.txt", "--index", "{tmp}/ix"], "blob.txt: looks like a binary file"),
    ("x.docx", ["index", "{tmp}/x.docx", "--index", "{tmp}/ix"], "unsupported file type '.docx'"),
    (None, ["ask", "", "--index", "{article}"], "the question is empty"),
    (None, ["ask", "q" * 100_000, "--index", "{article}"], "the question is too long"),
    (None, ["ask", "Who?", "--index", "{tmp}/nowhere"], "no index here"),
    (None, ["eval", "{tmp}/nope.jsonl", "--index", "{article}"], "nope.jsonl: no such file"),
])
def test_bad_input_gives_one_line_and_exit_1(capsys, tmp_path, article_index, setup, args, message):
    contents = {"empty.txt": b"", "blob.txt": b"\x00\x01\x02binary", "x.docx": b"PK\x03\x04"}
    if setup:
        (tmp_path / setup).write_bytes(contents[setup])
    args = [a.format(tmp=tmp_path, article=article_index.path) for a in args]
    code, out, err = run(capsys, *args)
    assert code == 1 and out == ""
    assert err.startswith("rag: error: ") and message in err and err.count("\n") == 1


def test_failed_index_run_keeps_the_good_index(capsys, tmp_path):
    (tmp_path / "good.txt").write_text("The bridge opened in 1932.", encoding="utf-8")
    assert run(capsys, "index", tmp_path / "good.txt", "--index", tmp_path / "ix")[0] == 0
    before = {str(p): p.read_bytes() for p in (tmp_path / "ix").rglob("*") if p.is_file()}
    (tmp_path / "bad.txt").write_bytes(b"\x00\xff")
    code, _, err = run(capsys, "index", tmp_path / "good.txt", tmp_path / "bad.txt", "--index", tmp_path / "ix")
    assert code == 1 and "looks like a binary file" in err
    assert {str(p): p.read_bytes() for p in (tmp_path / "ix").rglob("*") if p.is_file()} == before


def test_real_process_corrupt_index_and_other_model(tmp_path, article_index):
    """The installed `rag` command, as a user runs it: one line, no traceback."""
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(article_index.path, broken)
    (broken / "manifest.json").write_text("{ truncated")
    other = tmp_path / "other"
    shutil.copytree(article_index.path, other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "model": "intfloat/e5-small"}))
    for index, message in ((broken, "manifest.json is not valid JSON"), (other, "built with model 'intfloat/e5-small'")):
        proc = subprocess.run([RAG, "ask", "Who is Healey?", "--index", index], capture_output=True, text=True)
        assert proc.returncode == 1 and proc.stdout == ""
        assert message in proc.stderr and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_real_process_answers(tmp_path, article_index):
    proc = subprocess.run([RAG, "ask", "What did Chapman tell peers?", "--index", article_index.path],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("She told peers: “This is further evidence of Russia’s hypocrisy")
    assert proc.stderr == ""


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["retrieve"])
    assert info.value.code == 2


def test_bundled_article_is_package_data():
    assert BUNDLED_ARTICLE.read_text(encoding="utf-8").startswith("North Korean troops in Russia")


@pytest.mark.parametrize("line, message", [
    ('{"id": 1, "question": "Who?", "answers": [5]}', "'answers' must be a list of strings"),
    ('{"id": 1, "question": "Who?", "evidence": null}', "'evidence' must be a list of strings"),
    ('{"id": 1, "question": "Who?", "max_chars": 1e400}', "'max_chars' must be a whole number"),
    ('{"id": 1, "question": "Who?", "all_of": [["a"], 3]}', "'all_of' must be a list of strings"),
    ('{"id": 1, "question": ["Who?"]}', "'question' must be a string"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[1, 2]", "each line must be a JSON object"),
])
def test_eval_file_with_bad_fields_is_one_line(capsys, tmp_path, article_index, line, message):
    (tmp_path / "cases.jsonl").write_text(line + "\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", tmp_path / "cases.jsonl", "--index", article_index.path)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith("rag: error: ") and "cases.jsonl:1: not a question object" in err and message in err


def test_eval_of_a_device_or_fifo_is_refused_without_reading_it(capsys, tmp_path, article_index):
    import os

    os.mkfifo(tmp_path / "fifo.jsonl")
    for path in ("/dev/zero", tmp_path / "fifo.jsonl"):
        code, out, err = run(capsys, "eval", path, "--index", article_index.path)
        assert code == 1 and out == "" and err.count("\n") == 1
        assert "is not a regular file; give a JSON-lines question file" in err


def test_ask_explain_shows_how_the_question_was_read_and_why_the_sentence_won(capsys, article_index):
    code, out, err = run(capsys, "ask", "What did Pistorius say about international law?", "--index",
                         article_index.path, "--explain")
    assert code == 0 and err == ""
    assert out.startswith("German defence minister Boris Pistorius said “we are checking")
    assert "  actor          Boris Pistorius" in out and "  speech         True" in out
    assert "1. confidence" in out and "similarity" in out and "covered" in out

    code, out, _ = run(capsys, "ask", "How many North Korean troops are thought to be involved?", "--index",
                       article_index.path, "--explain", "--json")
    data = json.loads(out)
    assert code == 0 and data["read"]["kind"] == "number"
    best = data["sentences"][0]
    assert best["confidence"] >= data["min_confidence"] and "1,500 to 12,000" in best["text"]
    assert set(best["features"]) >= {"similarity", "covered", "kind_missing", "in_order"}


def test_ask_explain_refuses_a_model(capsys, article_index):
    code, _, err = run(capsys, "ask", "Who is Healey?", "--index", article_index.path, "--explain", "--generate", "x.gguf")
    assert code != 0 and err.count("\n") == 1 and "--explain" in err


def test_rag_serve_takes_the_flags_of_app_py():
    import re
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    rag_cmd = str(Path(sys.executable).with_name("rag"))
    helps = [subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=root).stdout
             for cmd in ([rag_cmd, "serve", "--help"], [sys.executable, "app.py", "--help"])]
    flags = [sorted(set(re.findall(r"--[a-z]+", h))) for h in helps]
    assert flags[0] == flags[1] == ["--generate", "--help", "--host", "--index", "--port", "--share"]


def test_rag_serve_without_gradio_is_one_line_and_other_commands_leave_gradio_alone():
    import subprocess
    import sys

    no_gradio = ("import importlib.util as u, sys\n"
                 "find = u.find_spec\n"
                 "u.find_spec = lambda name, *a: None if name == 'gradio' else find(name, *a)\n"
                 "from rag.cli import main\n"
                 "sys.exit(main(['serve', '--port', '1']))\n")
    out = subprocess.run([sys.executable, "-c", no_gradio], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stderr.strip() == "rag: error: the chat page needs Gradio: pip install 'rag[app]'"
    # Building the command line (every rag command does) sets none of the page's Gradio settings.
    quiet = ("import os, sys\nfrom rag.cli import _parser\n_parser()\n"
             "print(sorted(k for k in os.environ if k.startswith('GRADIO')), 'gradio' in sys.modules)\n")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GRADIO")}
    out = subprocess.run([sys.executable, "-c", quiet], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.strip() == "[] False", out.stderr
