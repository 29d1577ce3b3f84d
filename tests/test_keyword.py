"""BM25 keyword index."""

import json

from quire.keyword import KeywordIndex, terms


def _index() -> KeywordIndex:
    index = KeywordIndex()
    index.add("bridge", "The Lindqvist Bridge opened in 1905 and is 192 metres long.")
    index.add("curie", "Marie Curie was born in Warsaw in 1867 and won two Nobel prizes.")
    index.add("cats", "Cats sleep for most of the day, often sixteen hours.")
    index.add("tokyo", "東京は日本の首都です。")
    return index


def test_terms_fold_case_and_accents_and_drop_stopwords():
    assert terms("The CAFÉ in Zürich, 1905!") == ["cafe", "zurich", "1905"]


def test_cjk_runs_become_character_pairs():
    assert terms("東京都") == ["東京", "京都"]


def test_exact_names_and_numbers_rank_their_chunk_first():
    index = _index()
    assert index.search("Where was Curie born?")[0][0] == "curie"
    assert index.search("1905")[0][0] == "bridge"
    assert index.search("日本の首都")[0][0] == "tokyo"
    assert index.search("quantum chromodynamics") == []


def test_rare_terms_outweigh_common_ones():
    index = KeywordIndex()
    for i in range(20):
        index.add(f"common{i}", "report on the annual budget")
    index.add("rare", "report on the zeppelin")
    assert index.search("budget zeppelin")[0][0] == "rare"


def test_removed_chunks_are_gone_and_others_stay():
    index = _index()
    index.remove("curie")
    assert index.search("Curie") == []
    assert index.search("Lindqvist")[0][0] == "bridge"
    assert len(index) == 3
    index.remove("unknown")  # removing twice or an unknown id is harmless
    assert len(index) == 3


def test_re_adding_a_chunk_replaces_it():
    index = _index()
    index.add("cats", "Dogs bark at the postman.")
    assert index.search("cats") == [] and index.search("postman")[0][0] == "cats"


def test_round_trip_through_json_keeps_results():
    index = _index()
    restored = KeywordIndex.from_dict(json.loads(json.dumps(index.to_dict())))
    for query in ("Curie Warsaw", "bridge 192", "sleep"):
        assert restored.search(query) == index.search(query)
    restored.remove("bridge")
    assert restored.search("Lindqvist") == []
