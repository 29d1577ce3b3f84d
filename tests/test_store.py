"""FileStore: the Store protocol on a directory, each batch atomic across a crash at any step."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from quire.backends.cpython import FileStore

BEFORE = {"doc/a.json": b"old a", "doc/b.json": b"old b", "chunk/1": b"old 1"}
WRITES = {"doc/a.json": b"new a", "doc/c.json": b"new c", "chunk/2": b"new 2"}
DELETES = ["doc/b.json", "chunk/1"]
AFTER = {"doc/a.json": b"new a", "doc/c.json": b"new c", "chunk/2": b"new 2"}

# Runs in a child: a FileStore whose n-th step (counting from 1) kills the process on the spot.
CHILD = """
import json, os, sys
from quire.backends.cpython import FileStore

class Crashing(FileStore):
    steps = 0

    def _stage(self, name):
        Crashing.steps += 1
        if Crashing.steps == int(sys.argv[2]):
            os._exit(17)

store = Crashing(sys.argv[1])
if sys.argv[3] == "commit":
    batch = json.loads(sys.argv[4])
    store.commit({k: v.encode() for k, v in batch["writes"].items()}, batch["deletes"])
"""


def run_crashing(root, crash_at: int, action: str) -> int:
    batch = json.dumps({"writes": {k: v.decode() for k, v in WRITES.items()}, "deletes": DELETES})
    args = [sys.executable, "-c", CHILD, str(root), str(crash_at), action, batch]
    return subprocess.run(args, timeout=60).returncode


def contents(store: FileStore) -> dict[str, bytes]:
    return {key: store.get(key) for key in store.keys()}


def assert_recovered(root) -> dict[str, bytes]:
    """Reopen after a crash: the store holds the batch entirely or not at all, with nothing left over."""
    state = contents(FileStore(root))
    assert state in (BEFORE, AFTER), state
    assert not list((root / "staging").iterdir()) and not (root / "journal.json").exists()
    return state


def test_round_trip_keys_with_prefix_and_deletes(tmp_path):
    store = FileStore(tmp_path)
    assert store.get("doc/a.json") is None and store.keys() == []
    store.commit(BEFORE)
    assert contents(store) == BEFORE
    assert store.keys() == ["chunk/1", "doc/a.json", "doc/b.json"]
    assert store.keys("doc/") == ["doc/a.json", "doc/b.json"] and store.keys("nope") == []
    store.commit(WRITES, DELETES)
    assert contents(FileStore(tmp_path)) == AFTER
    store.commit({}, ["doc/never-there"])  # deleting a missing key is fine


def test_keys_that_nest_or_need_quoting_coexist(tmp_path):
    store = FileStore(tmp_path)
    odd = {"a": b"1", "a/b": b"2", "a/b/c": b"3", "sp ace%2F/ü": b"4", "...": b"5"}
    store.commit(odd)
    assert contents(FileStore(tmp_path)) == odd
    assert store.keys("a/") == ["a/b", "a/b/c"]


def test_clear_removes_everything(tmp_path):
    store = FileStore(tmp_path)
    store.commit(BEFORE)
    store.clear()
    assert store.keys() == [] and FileStore(tmp_path).keys() == []


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/", "../up", "a/../b", "./a", "a\\b"])
def test_invalid_keys_are_rejected_before_anything_changes(tmp_path, key):
    store = FileStore(tmp_path)
    store.commit(BEFORE)
    with pytest.raises(ValueError):
        store.commit({"doc/new": b"x", key: b"y"})
    with pytest.raises(ValueError):
        store.commit({}, ["doc/a.json", key])
    with pytest.raises(ValueError):
        store.get(key)
    assert contents(store) == BEFORE


def test_a_key_cannot_be_written_and_deleted_in_one_batch(tmp_path):
    with pytest.raises(ValueError):
        FileStore(tmp_path).commit({"k": b"v"}, ["k"])


def test_a_crash_at_any_step_leaves_all_of_the_batch_or_none(tmp_path):
    outcomes = []
    for crash_at in range(1, 50):
        root = tmp_path / str(crash_at)
        FileStore(root).commit(BEFORE)
        code = run_crashing(root, crash_at, "commit")
        if code == 0:  # past the last step: the commit ran to the end
            assert contents(FileStore(root)) == AFTER
            break
        assert code == 17
        outcomes.append(assert_recovered(root) == AFTER)
    # Steps: 3 blobs staged, the journal, 3 moves, 2 deletes. Before the journal nothing shows.
    assert outcomes == [False] * 3 + [True] * 6


def test_replay_survives_crashing_again_and_again(tmp_path):
    """Crash mid-apply, then crash at each step of every replay: each reopen carries the journal further."""
    root = tmp_path / "store"
    FileStore(root).commit(BEFORE)
    assert run_crashing(root, 6, "commit") == 17  # journaled, two of three blobs moved
    assert (root / "journal.json").exists()
    crash_at = 1
    while run_crashing(root, crash_at, "open") == 17:
        crash_at += 1
        assert (root / "journal.json").exists() and crash_at < 20
    assert assert_recovered(root) == AFTER


def test_leftovers_of_an_uncommitted_batch_are_discarded(tmp_path):
    store = FileStore(tmp_path)
    store.commit(BEFORE)
    (tmp_path / "staging" / "0").write_bytes(b"orphan")
    (tmp_path / "journal.tmp").write_bytes(b'{"moves": [["0", "doc%2Fa.json"]]')  # torn, never renamed
    assert contents(FileStore(tmp_path)) == BEFORE
    assert not list((tmp_path / "staging").iterdir()) and not (tmp_path / "journal.tmp").exists()
