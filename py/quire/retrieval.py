"""Fusing rankings from the keyword and vector indexes."""

from __future__ import annotations

from collections import defaultdict


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = 60, limit: int | None = None) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each ranking gives an id 1 / (k + rank); ids sorted by their sum.

    It needs no score calibration between BM25 and cosine similarity, which live on unrelated scales.
    Ties keep the order of first appearance across the rankings.
    """
    scores: dict[str, float] = defaultdict(float)
    first_seen: dict[str, int] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] += 1.0 / (k + rank)
            first_seen.setdefault(item, len(first_seen))
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))
    return fused[:limit] if limit is not None else fused
