"""Reciprocal rank fusion of keyword and vector rankings."""

from quire.retrieval import reciprocal_rank_fusion


def test_an_item_both_rankings_like_beats_one_only_a_single_ranking_tops():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]])
    assert [item for item, _ in fused][:2] == ["b", "a"]


def test_scores_follow_the_formula_and_limit_cuts():
    fused = reciprocal_rank_fusion([["x", "y"], ["y"]], k=60, limit=1)
    assert fused == [("y", 1 / 62 + 1 / 61)]


def test_ties_keep_first_appearance_and_empty_rankings_are_fine():
    assert [i for i, _ in reciprocal_rank_fusion([["p"], ["q"], []])] == ["p", "q"]
    assert reciprocal_rank_fusion([]) == []
