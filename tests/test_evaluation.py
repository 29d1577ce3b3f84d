"""`quire eval`: SQuAD scoring, and retrieval measured on real XQuAD articles with the real embedding model."""

import json
from pathlib import Path

import pytest

from quire.evaluation import contains, evaluate, exact_match, load_squad, normalize, token_f1

XQUAD = Path(__file__).resolve().parents[1].parent / "shared/eval/xquad-dev/xquad.en.dev.json"


def test_squad_normalisation_and_scores():
    assert normalize("The  Eiffel-Tower, in Paris!") == "eiffeltower in paris"
    assert exact_match("the Denver Broncos", ["Denver Broncos"]) == 1.0
    assert token_f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)
    assert token_f1("nothing here", ["Denver Broncos"]) == 0.0
    assert contains("It was won by the Denver Broncos in 2016.", ["Broncos", "x"]) == 1.0
    assert contains("Broncosaurus", ["Broncos"]) == 0.0  # whole words only


def test_questions_point_at_their_answers_in_the_article_text():
    files, questions = load_squad(str(XQUAD))
    texts = {name: data.decode() for name, data in files}
    assert len(files) == 24 and len(questions) == 632
    for q in questions:
        assert texts[q.doc_name][q.start:q.end] == q.answers[0]


def test_retrieval_and_extractive_answers_on_two_real_articles(tmp_path, built_models):
    from quire.cli import open_library
    data = json.loads(XQUAD.read_text())
    data["data"] = data["data"][:2]
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps(data))
    files, questions = load_squad(str(sample))
    library = open_library(tmp_path / "lib", built_models["all-minilm-l6-v2"].parent, generate=False)
    library.add_files(files)
    report = evaluate(library, questions, generate=False)
    assert report.questions == len(questions) > 40
    # Floors well under what the full dev set measures (docs/quality.md), so a real regression fails.
    assert report.retrieval["hybrid"]["recall@5"] >= 0.95
    assert report.retrieval["keyword"]["recall@5"] >= 0.9 and report.retrieval["vector"]["recall@5"] >= 0.85
    assert report.answers["extractive_contains"] >= 0.7
    for kind, m in report.retrieval.items():  # ranking quality agrees with recall, and stays a fraction
        assert m["recall@1"] <= m["mrr"] <= 1 and 0.5 * m["recall@10"] <= m["ndcg@10"] <= m["recall@10"], kind
    assert "nDCG@10" in report.table()
