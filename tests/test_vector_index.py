"""HnswIndex: the VectorIndex protocol over hnswlib, and its recall on real sentence embeddings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from quire.backends.cpython import HnswIndex, OnnxEmbedder
from quire.registry import load_index_params
from quire_build.models import REGISTRY

XQUAD = Path(__file__).resolve().parents[2] / "shared/eval/xquad-dev/xquad.en.dev.json"


PARAMS = load_index_params(REGISTRY).to_dict()


def hnsw(dim: int, path: Path | None = None, **changed) -> HnswIndex:
    """An index with the registry's parameters, some of them `changed`."""
    return HnswIndex(dim, path, **{**PARAMS, **changed})


def unit(rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def vectors() -> np.ndarray:
    return unit(np.random.default_rng(0).standard_normal((50, 8)))


def test_search_returns_labels_best_first_with_cosine_similarity(vectors):
    index = hnsw(8)
    index.add(list(range(100, 150)), vectors)
    hits = index.search(vectors[7], 5)
    assert hits[0][0] == 107 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    exact = vectors @ vectors[7]
    assert [label for label, _ in hits] == [100 + i for i in np.argsort(-exact)[:5]]
    assert [s for _, s in hits] == pytest.approx(sorted(exact, reverse=True)[:5], abs=1e-5)
    assert len(index) == 50


def test_add_accepts_lists_of_floats_and_grows_one_at_a_time(vectors):
    index = hnsw(8)
    for label, row in enumerate(vectors):
        index.add([label], [row.tolist()])
    assert len(index) == 50
    assert index.search(vectors[49].tolist(), 1)[0][0] == 49


def test_empty_index_and_k_beyond_the_live_count(vectors):
    index = hnsw(8)
    index.add([], [])
    assert index.search(vectors[0], 3) == [] and len(index) == 0
    index.add([1, 2, 3], vectors[:3])
    index.remove([2])
    assert sorted(label for label, _ in index.search(vectors[0], 10)) == [1, 3]
    # k far above ef: the query raises ef to k rather than failing.
    index.add(list(range(10, 57)), vectors[3:])
    assert len(index.search(vectors[0], 200)) == len(index) == 49


def test_remove_ignores_unknown_labels_and_removed_labels_can_come_back(vectors):
    index = hnsw(8)
    index.add([1, 2, 3], vectors[:3])
    index.remove([2, 99])
    index.remove([2])
    assert len(index) == 2 and 2 not in [label for label, _ in index.search(vectors[1], 3)]
    index.add([2], vectors[10:11])  # back, with a new vector
    assert len(index) == 3
    assert index.search(vectors[10], 1) == [(2, pytest.approx(1.0, abs=1e-5))]
    index.remove([2])
    assert len(index) == 2 and 2 not in [label for label, _ in index.search(vectors[10], 3)]


def test_removed_slots_are_reused_without_ghosts(vectors):
    """New labels take over removed slots; a label removed then re-added must not linger twice."""
    index = hnsw(8)
    index.add(list(range(20)), vectors[:20])
    index.remove(list(range(10)))
    index.add([5], vectors[5:6])  # re-added while other removed slots are free
    index.add(list(range(100, 109)), vectors[20:29])  # fills the removed slots
    assert index._index.element_count == 20
    index.remove([5])  # would fail to unhook 5 had it been re-added into another label's slot
    labels = [label for label, _ in index.search(vectors[5], len(index))]
    assert len(index) == 19 and sorted(labels) == sorted([*range(10, 20), *range(100, 109)])


def test_updating_a_live_label_replaces_its_vector(vectors):
    index = hnsw(8)
    index.add([1, 2], vectors[:2])
    index.remove([1])  # a free slot that an update must not take
    index.add([2, 2], vectors[2:4])  # the last row of a repeated label wins
    assert index.search(vectors[3], 5) == [(2, pytest.approx(1.0, abs=1e-5))]
    assert index.search(vectors[1], 5) == [(2, pytest.approx(float(vectors[1] @ vectors[3]), abs=1e-5))]


def test_save_and_load_round_trip_with_tag(vectors, tmp_path):
    path = tmp_path / "vectors.hnsw"
    index = hnsw(8, path)
    index.add(list(range(50)), vectors)
    index.remove([3, 4])
    index.save("library-v7")
    assert json.loads((tmp_path / "vectors.hnsw.json").read_text())["count"] == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.hnsw", "vectors.hnsw.json"]

    loaded = hnsw(8, path)
    assert loaded.load() == "library-v7"
    assert len(loaded) == 48
    assert loaded.search(vectors[9], 3) == index.search(vectors[9], 3)
    assert 3 not in [label for label, _ in loaded.search(vectors[3], 5)]
    loaded.add([3, 77], vectors[3:5])  # removed labels come back; new ones reuse slots after a load too
    assert len(loaded) == 50 and loaded._index.element_count == 50
    assert loaded.search(vectors[3], 1)[0][0] == 3


def test_load_returns_none_when_missing_mismatched_or_torn(vectors, tmp_path):
    path = tmp_path / "vectors.hnsw"
    assert hnsw(8, path).load() is None
    index = hnsw(8, path)
    index.add(list(range(50)), vectors)
    index.save("t1")
    assert hnsw(8, path, M=8).load() is None
    assert hnsw(8, path, ef_construction=100).load() is None
    assert hnsw(16, path).load() is None
    assert hnsw(8, path, ef=10).load() == "t1"  # ef is search-time only
    path.write_bytes(path.read_bytes()[:1000])
    fresh = hnsw(8, path)
    assert fresh.load() is None and len(fresh) == 0


def test_index_without_a_path_cannot_persist():
    with pytest.raises(ValueError):
        hnsw(8).save("t")


def test_wrong_vector_shape_is_rejected(vectors):
    with pytest.raises(ValueError):
        hnsw(8).add([1, 2], vectors[:3])


def sentences_and_questions() -> tuple[list[str], list[str]]:
    data = json.loads(XQUAD.read_text())
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?])\s+", p["context"].strip())]
    questions = [qa["question"] for p in paragraphs for qa in p["qas"]]
    return sentences, questions


def embed(folder: Path, texts: list[str]) -> np.ndarray:
    """One vector per text, in order; batched by length so that little of each batch is padding."""
    ids = [e.ids for e in Tokenizer.from_file(str(folder / "tokenizer.json")).encode_batch(texts)]
    embedder = OnnxEmbedder(folder)
    order = np.argsort([len(seq) for seq in ids], kind="stable")
    batches = (order[i : i + 64] for i in range(0, len(order), 64))
    vectors = np.concatenate([embedder.embed([ids[j] for j in batch]) for batch in batches])
    return vectors[np.argsort(order)]


def test_recall_at_10_against_exact_search_on_real_embeddings(built_models):
    sentences, questions = sentences_and_questions()
    assert len(sentences) > 500 and len(questions) == 632
    folder = built_models["all-minilm-l6-v2"]
    corpus, queries = embed(folder, sentences), embed(folder, questions)
    index = hnsw(corpus.shape[1])  # as the app builds it
    index.add(list(range(len(corpus))), corpus)

    exact = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    recall = np.mean([
        len({label for label, _ in index.search(q, 10)} & set(truth.tolist())) / 10
        for q, truth in zip(queries, exact)
    ])
    print(f"\nHnswIndex recall@10 over {len(sentences)} XQuAD sentences, {len(questions)} questions: {recall:.4f}")
    assert recall >= 0.99


def test_regression_reviving_a_label_and_adding_a_new_one_in_a_full_index():
    index = hnsw(4)
    vectors = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0], [1.0, 1.0, 0, 0]]
    index.add([1, 2, 3, 4], vectors[:4])
    index.remove([4])
    index.add([4, 5], vectors[3:])  # raised "The number of elements exceeds the specified limit"
    assert len(index) == 5
    assert index.search([0, 0, 0, 1.0], 1)[0][0] == 4
    index.remove([4])
    assert all(label != 4 for label, _ in index.search([0, 0, 0, 1.0], 5))
