"""The summarizer writes summaries, not continuations: the document is cut (never the instruction),
the chat prompt carries one BOS, and summaries cut at max_new_tokens or empty are reported and skipped.
Runs on a replica of an instruct model's tokenizer + chat template with a tiny random causal LM."""
from __future__ import annotations

import pytest

from builders.summarize import PROMPT, Summarizer
from fixtures_data import write_jsonl
from replicas import instruct_lm

LONG = " ".join(["ذهب الطالب إلى المكتبة وقرأ الخبر في الجريدة صباح اليوم."] * 400)


@pytest.fixture(scope="module")
def lms(tmp_path_factory):
    home = tmp_path_factory.mktemp("hf")
    return instruct_lm(home), instruct_lm(home, "org/zero-instruct", zero_head=True)


def test_instruction_and_assistant_header_survive_a_long_document(lms):
    summarizer = Summarizer(str(lms[0]), max_new_tokens=24, max_input_tokens=256, progress=False)
    tok = summarizer.tokenizer
    ids, truncated = summarizer.encode(LONG)
    assert truncated and len(ids) <= 256 - 24
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id  # template's BOS, not twice
    text = tok.decode(ids)
    instruction = PROMPT.split("{text}")[0].strip()
    assert instruction in text and text.endswith("الملخص:<|im_end|>\n<|im_start|>assistant\n")
    short, cut = summarizer.encode("ذهب الطالب إلى المكتبة")
    chat = tok.apply_chat_template([{"role": "user", "content": PROMPT.format(text="ذهب الطالب إلى المكتبة")}],
                                   tokenize=False, add_generation_prompt=True)
    assert not cut and short == tok(chat, add_special_tokens=False)["input_ids"]
    with pytest.raises(ValueError, match="leaves"):
        Summarizer(str(lms[0]), max_new_tokens=200, max_input_tokens=220, progress=False)


def test_cut_and_empty_summaries_are_flagged(lms):
    cut = Summarizer(str(lms[0]), max_new_tokens=4, progress=False).generate([LONG, "قرأت الخبر"])
    assert [s.problem for s in cut] == ["summary_cut", "summary_cut"] and all(s.text for s in cut)
    assert [s.truncated for s in cut] == [True, False]  # LONG is longer than the 2,048-token default
    empty = Summarizer(str(lms[1]), max_new_tokens=4, progress=False).generate(["قرأت الخبر"])
    assert empty[0].problem == "summary_empty" and empty[0].text == ""


def test_build_reports_and_skips_cut_summaries(lms, tmp_path):
    from builders.build import build, parse_args

    write_jsonl(tmp_path / "pairs.jsonl", [{"id": "p1", "document": "أعلنت الشركة عن منتج جديد."},
                                           {"id": "p2", "document": "هطلت أمطار غزيرة على العاصمة."}])
    (tmp_path / "s.yaml").write_text(
        "summarizer_options: {max_new_tokens: 3, progress: false}\n"
        "sources:\n  - {name: pairs, format: text_pairs, path: pairs.jsonl, tasks: [tsum, asr]}\n")
    report = build(parse_args(["--sources", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "out"),
                               "--no-progress", "--summarizer", str(lms[0]), "--config", "multitask"]))
    assert report["skipped"]["by_reason"]["summary_cut"] == 2 and report["summaries"]["summary_cut"] == 2
    rows = report["configs"]["multitask"]
    assert all("tsum" not in split["tasks"] for split in rows["splits"].values())
