"""Tests of the SVMlight/LETOR reader, ``jaxrank.data.load_svmlight``."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrank import data
from jaxrank._src import svmlight

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def reference_parse(text: str, group_sizes=None):
    """Plain line-by-line SVMlight parser: (dense features, labels, query offsets)."""
    rows, labels, qids = [], [], []
    for line in text.splitlines():
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        labels.append(float(line[0]))
        row = {}
        for token in line[1:]:
            key, value = token.split(":")
            if key == "qid":
                qids.append(int(value))
            else:
                row[int(key)] = float(value)
        rows.append(row)
    width = max((max(r) for r in rows if r), default=0)
    dense = np.zeros((len(rows), width), np.float32)
    for i, r in enumerate(rows):
        for k, v in r.items():
            dense[i, k - 1] = v
    if group_sizes is None:
        starts = [i for i in range(len(qids)) if i == 0 or qids[i] != qids[i - 1]]
        offsets = np.array([*starts, len(qids)])
    else:
        offsets = np.concatenate([[0], np.cumsum(group_sizes)])
    return dense, np.array(labels, np.float32), offsets


@st.composite
def letor_texts(draw):
    """Random LETOR text: sparse features, odd spacing, comments, blank lines."""
    num_queries = draw(st.integers(1, 6))
    lines = []
    for q in range(num_queries):
        for _ in range(draw(st.integers(1, 5))):
            label = draw(st.sampled_from(["0", "1", "2", "4", "3.0"]))
            indices = sorted(draw(st.sets(st.integers(1, 12), max_size=6)))
            values = [
                draw(
                    st.sampled_from(
                        ["0", "1", "-2.5", "0.125", "1e3", "7", "3.000001", "-0"]
                    )
                )
                for _ in indices
            ]
            sep = draw(st.sampled_from([" ", "\t", "  "]))
            tokens = [label, f"qid:{100 + q}"] + [
                f"{i}:{v}" for i, v in zip(indices, values, strict=True)
            ]
            line = sep.join(tokens)
            if draw(st.booleans()):
                line += draw(st.sampled_from([" # doc 1:5", "#c", " # qid:3"]))
            lines.append(line)
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "   ", "# comment only"])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    return end.join(lines) + draw(st.sampled_from(["", end]))


@pytest.fixture
def write(tmp_path):
    def write(text, name="data.txt"):
        path = tmp_path / name
        path.write_bytes(text.encode())
        return path

    return write


@settings(max_examples=40, deadline=None)
@given(text=letor_texts(), chunk=st.sampled_from([16, 64, 1 << 20]))
def test_reader_matches_line_by_line_reference(tmp_path_factory, text, chunk):
    path = tmp_path_factory.mktemp("svmlight") / "f.txt"
    path.write_bytes(text.encode())
    features, labels, offsets = reference_parse(text)
    original = svmlight._CHUNK_BYTES
    svmlight._CHUNK_BYTES = chunk  # small blocks exercise lines split across reads
    try:
        got = data.load_svmlight(path)
    finally:
        svmlight._CHUNK_BYTES = original
    np.testing.assert_array_equal(got.features, features)
    np.testing.assert_array_equal(got.labels, labels)
    np.testing.assert_array_equal(got.query_offsets, offsets)
    assert got.features.dtype == np.float32 and got.labels.dtype == np.float32


def test_group_size_file(write):
    path = write("1 1:1\n0 2:0.5\n3 1:2 # c\n\n2 3:1\n")
    (path.parent / "data.txt.query").write_text("2\n2\n")
    got = data.load_svmlight(path)
    np.testing.assert_array_equal(got.query_offsets, [0, 2, 4])
    np.testing.assert_array_equal(got.labels, [1, 0, 3, 2])
    other = write("1\n3\n", "groups")
    np.testing.assert_array_equal(
        data.load_svmlight(path, query_path=other).list_sizes, [1, 3]
    )
    with pytest.raises(ValueError, match="add up to 5 documents, but .* has 4"):
        data.load_svmlight(path, query_path=write("2\n3\n", "bad"))
    with pytest.raises(ValueError, match="groups2, line 2: expected a group size"):
        data.load_svmlight(path, query_path=write("2\nx\n", "groups2"))


def test_missing_query_information(write):
    with pytest.raises(ValueError, match="no 'qid:' fields and no group-size file"):
        data.load_svmlight(write("1 1:1\n"))


def test_num_features(write):
    path = write("1 qid:1 2:1\n")
    assert data.load_svmlight(path, num_features=5).features.shape == (1, 5)
    with pytest.raises(ValueError, match="line 1: feature index above num_features=1"):
        data.load_svmlight(path, num_features=1)


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        ("x qid:1 1:1", "the label 'x' is not a number"),
        ("nan qid:1 1:1", "the label must be finite"),
        ("1 qid:1 1:1:2", "expected <index>:<value>, got '1:1:2'"),
        ("1 qid:1 1:1 5", "expected <index>:<value>, got '5'"),
        ("1 qid:1 :3", "the feature index in ':3' is not a positive integer"),
        ("1 qid:1 a:3", "the feature index in 'a:3' is not a positive integer"),
        ("1 qid:1 0:3", "feature indices are 1-based"),
        ("1 qid:1 2:", "the feature value in '2:' is not a number"),
        ("1 qid:1 2:x", "the feature value in '2:x' is not a number"),
        ("1 qid:1 2:inf", "feature values must be finite"),
        ("1 qid:1 2:1 2:3", "feature 2 appears twice"),
        ("1 qid:1 3:1 1:0 3:3", "feature 3 appears twice"),
        ("1 1:1", "no 'qid:' field"),
        ("1 1:1 qid:1", "'qid:' must directly follow the label"),
        ("1 qid:1 qid:1 1:1", "'qid:' must directly follow the label"),
        ("1 qid:a 1:1", "the query id in 'qid:a' is not an integer"),
        ("1 qid:1.5 1:1", "the query id in 'qid:1.5' is not an integer"),
    ],
)
def test_malformed_line_names_line_and_reason(write, bad_line, reason):
    good = "2 qid:1 1:0.5 3:1 # fine\n\n0 qid:1 2:4\n"
    path = write(good + bad_line + "\n1 qid:1 1:1\n")
    with pytest.raises(ValueError, match=f"data.txt, line 4: {reason}"):
        data.load_svmlight(path)


def test_malformed_line_number_after_many_blocks(write, monkeypatch):
    lines = [f"{i % 3} qid:{i // 4} 1:{i} 2:0.5" for i in range(500)]
    lines[437] = "1 qid:109 1:oops"
    monkeypatch.setattr(svmlight, "_CHUNK_BYTES", 256)
    with pytest.raises(ValueError, match="line 438: the feature value in '1:oops'"):
        data.load_svmlight(write("\n".join(lines) + "\n"))


def test_query_split_over_the_file_is_an_error(write):
    path = write("1 qid:1 1:1\n0 qid:2 1:1\n1 qid:1 1:2\n")
    with pytest.raises(ValueError, match="line 3: qid 1 appeared on earlier lines"):
        data.load_svmlight(path)


@pytest.mark.skipif(not SHARED.exists(), reason="shared LETOR data not present")
@pytest.mark.parametrize(
    "name, docs, queries, features",
    [("yahoo-ltr-sample/rank.test", 768, 50, 300), ("mq2008/vali.txt", 2707, 157, 46)],
)
def test_real_files_match_reference(name, docs, queries, features):
    path = SHARED / name
    text = path.read_text()
    sizes_path = str(path) + ".query"
    sizes = np.loadtxt(sizes_path, dtype=int) if os.path.exists(sizes_path) else None
    want_features, want_labels, want_offsets = reference_parse(text, sizes)
    got = data.load_svmlight(path, num_features=features)
    assert (got.num_docs, got.num_queries) == (docs, queries)
    np.testing.assert_array_equal(
        got.features[:, : want_features.shape[1]], want_features
    )
    np.testing.assert_array_equal(got.labels, want_labels)
    np.testing.assert_array_equal(got.query_offsets, want_offsets)
