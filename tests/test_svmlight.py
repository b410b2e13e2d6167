"""Tests of the SVMlight/LETOR reader, ``jaxrank.data.load_svmlight``."""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxrank import data
from jaxrank._src import svmlight

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def reference_parse(text: str, group_sizes=None):
    """Plain line-by-line SVMlight parser: (dense features, labels, query offsets).

    Lines end at "\n"; fields are separated by spaces, tabs and carriage returns.
    """
    rows, labels, qids = [], [], []
    for line in text.split("\n"):
        line = re.split("[ \t\r]+", line.split("#", 1)[0].strip(" \t\r"))
        if line == [""]:
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
        ("nan qid:1 1:1", "the label 'nan' is not finite"),
        ("-inf qid:1 1:1", "the label '-inf' is not finite"),
        ("1e39 qid:1 1:1", "the label '1e39' does not fit in float32"),
        ("1_0 qid:1 1:1", "the label '1_0' is not a number"),
        ("1 qid:1 1:1:2", "expected <index>:<value>, got '1:1:2'"),
        ("1 qid:1 1:1 5", "expected <index>:<value>, got '5'"),
        ("1 qid:1 :3", "the feature index in ':3' is not a positive integer"),
        ("1 qid:1 a:3", "the feature index in 'a:3' is not a positive integer"),
        ("1 qid:1 0:3", "feature indices are 1-based"),
        ("1 qid:1 2:", "the feature value in '2:' is not a number"),
        ("1 qid:1 2:x", "the feature value in '2:x' is not a number"),
        ("1 qid:1 2:inf", "the feature value in '2:inf' is not finite"),
        ("1 qid:1 2:NaN", "the feature value in '2:NaN' is not finite"),
        ("1 qid:1 2:-1e39", "the feature value in '2:-1e39' does not fit in float32"),
        ("1 qid:1 2:1e400", "the feature value in '2:1e400' is not finite"),
        ("1 qid:1 2:1_0", "the feature value in '2:1_0' is not a number"),
        ("1 qid:1 2:0x10", "the feature value in '2:0x10' is not a number"),
        ("1 qid:1 2:1\x0b", "control character b'\\x0b' outside a comment"),
        ("1\x00 qid:1 2:1", "control character b'\\x00' outside a comment"),
        ("1 qid:1 2:1 2:3", "feature 2 appears twice"),
        ("1 qid:1 3:1 1:0 3:3", "feature 3 appears twice"),
        ("1 1:1", "no 'qid:' field"),
        ("1 1:1 qid:1", "'qid:' must directly follow the label"),
        ("1 qid:1 qid:1 1:1", "'qid:' must directly follow the label"),
        ("1 qid:a 1:1", "the query id in 'qid:a' is not an integer"),
        ("1 qid:1.5 1:1", "the query id in 'qid:1.5' is not an integer"),
        ("1 qid:1.0 1:1", "the query id in 'qid:1.0' is not an integer"),
        ("1 qid:1e3 1:1", "the query id in 'qid:1e3' is not an integer"),
        ("1 qid:1_0 1:1", "the query id in 'qid:1_0' is not an integer"),
        ("1 qid:- 1:1", "the query id in 'qid:-' is not an integer"),
        (
            "1 qid:9223372036854775808 1:1",
            "the query id in 'qid:9223372036854775808' does not fit in int64",
        ),
        (
            "1 qid:-9223372036854775809 1:1",
            "the query id in 'qid:-9223372036854775809' does not fit in int64",
        ),
        (
            "1 qid:99999999999999999999999 1:1",
            "the query id in 'qid:99999999999999999999999' does not fit in int64",
        ),
    ],
)
def test_malformed_line_names_line_and_reason(write, bad_line, reason):
    good = "2 qid:1 1:0.5 3:1 # fine\n\n0 qid:1 2:4\n"
    path = write(good + bad_line + "\n1 qid:1 1:1\n")
    with pytest.raises(ValueError, match=re.escape(f"data.txt, line 4: {reason}")):
        data.load_svmlight(path)


@pytest.mark.parametrize("chunk", [64, 1 << 20])
@pytest.mark.parametrize("bad", ["1_0", "0x1", "1e", "--1", "1.2.3"])
def test_malformed_number_reports_its_own_line(write, monkeypatch, chunk, bad):
    """Numbers that only the block-wide parse rejects still name their own line."""
    monkeypatch.setattr(svmlight, "_CHUNK_BYTES", chunk)
    lines = ["2 qid:1 1:0.5", "0 qid:1 1:1", f"1 qid:1 1:{bad}", "1 qid:1 1:2"]
    with pytest.raises(ValueError, match=re.escape("data.txt, line 3: the feature")):
        data.load_svmlight(write("\n".join(lines) + "\n"))
    lines[2] = f"{bad} qid:1 1:1"
    with pytest.raises(ValueError, match=re.escape(f"line 3: the label {bad!r}")):
        data.load_svmlight(write("\n".join(lines) + "\n"))


@pytest.mark.parametrize("oops", ["oops", "1_0"])
def test_malformed_line_number_after_many_blocks(write, monkeypatch, oops):
    lines = [f"{i % 3} qid:{i // 4} 1:{i} 2:0.5" for i in range(500)]
    lines[437] = f"1 qid:109 1:{oops}"
    monkeypatch.setattr(svmlight, "_CHUNK_BYTES", 256)
    with pytest.raises(ValueError, match=f"line 438: the feature value in '1:{oops}'"):
        data.load_svmlight(write("\n".join(lines) + "\n"))


def test_control_characters_cannot_shift_values_between_lines(write):
    """A vertical tab reads as a separator to the number parse: one token then gives
    no number and another two, and values would slide silently from line to line."""
    path = write("1 qid:1 1:5 2:\x0b\n0 qid:1 1:2\x0b3 2:4\n")
    with pytest.raises(ValueError, match=r"line 1: control character b'\\x0b'"):
        data.load_svmlight(path)
    # In a comment they are harmless.
    got = data.load_svmlight(write("1 qid:1 1:5 # \x00\x0b\x0c\x01\n"))
    assert got.features.tolist() == [[5.0]]


def test_query_ids_are_exact_64_bit_integers(write):
    """Ids above 2**53 are not rounded through a float (they used to merge)."""
    big = 2**53
    path = write(f"1 qid:{big} 1:1\n0 qid:{big + 1} 1:2\n2 qid:{big + 2} 1:3\n")
    got = data.load_svmlight(path)
    assert got.query_ids.dtype == np.int64
    assert got.query_ids.tolist() == [big, big + 1, big + 2]
    np.testing.assert_array_equal(got.list_sizes, [1, 1, 1])
    ends = [2**63 - 1, -(2**63), 2**63 - 2, -7, 0]
    text = "".join(f"1 qid:{q} 1:1\n" for q in ends) + "1 qid:+0003 1:1\n"
    assert data.load_svmlight(write(text)).query_ids.tolist() == [*ends, 3]


def test_values_that_round_to_finite_float32_load(write):
    biggest = float(np.finfo(np.float32).max)
    path = write("3.4028235e38 qid:1 1:-3.40282356e38 2:1e-50 3:1e38\n")
    got = data.load_svmlight(path)
    assert got.labels.tolist() == [biggest]
    assert got.features.tolist() == [[-biggest, 0.0, np.float32(1e38)]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "data.txt has no documents: the file is empty"),
        ("\n# c\n \t\r\n", "data.txt has no documents: every line is blank"),
    ],
)
def test_empty_file(write, text, message):
    path = write(text)
    with pytest.raises(ValueError, match=message):
        data.load_svmlight(path)
    # An empty group-size file beside it does not make it a valid dataset.
    (path.parent / "data.txt.query").write_text("")
    with pytest.raises(ValueError, match=message):
        data.load_svmlight(path)


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


FUZZ_BASE = (
    b"# a small LETOR file\n"
    b"2 qid:7 1:0.5 3:1\n"
    b"0 qid:7 2:4 # a comment\n"
    b"\n"
    b"1 qid:9 1:1 4:-2e3\n"
    b"3 qid:9 2:0.25\t5:1\n"
    b"1\tqid:9 1:3 2:2 3:1\r\n"
    b"0 qid:12 1:7\n"
    b"4 qid:12 5:0.125\n"
)
# Bytes of the format, most of the time; any byte otherwise.
FUZZ_BYTES = b"0123456789 \t\n\r:.#-+eqidnaxf_"


def fuzz_edit(text: bytes, rng: np.random.Generator) -> bytes:
    """One random edit: a byte inserted, deleted or replaced, a line duplicated,
    dropped or moved, or two fields of a line swapped."""
    b = bytearray(text)
    lines = text.split(b"\n")
    i = int(rng.integers(len(b) + 1))
    byte = (
        FUZZ_BYTES[rng.integers(len(FUZZ_BYTES))]
        if rng.random() < 0.8
        else int(rng.integers(256))
    )
    kind = rng.integers(7)
    if kind == 0 or not b:
        b.insert(i, byte)
    elif kind == 1:
        del b[min(i, len(b) - 1)]
    elif kind == 2:
        b[min(i, len(b) - 1)] = byte
    else:
        j, k = (int(x) for x in rng.integers(len(lines), size=2))
        if kind == 3:
            lines.insert(j, lines[k])
        elif kind == 4:
            del lines[j]
        elif kind == 5:
            lines.insert(j, lines.pop(k))
        else:
            fields = lines[j].split(b" ")
            p, q = (int(x) for x in rng.integers(len(fields), size=2))
            fields[p], fields[q] = fields[q], fields[p]
            lines[j] = b" ".join(fields)
        return b"\n".join(lines)
    return bytes(b)


def count_documents(text: bytes) -> int:
    """Lines with something besides spaces, tabs and carriage returns before any '#'."""
    return sum(
        bool(line.split(b"#", 1)[0].strip(b" \t\r")) for line in text.split(b"\n")
    )


def test_fuzzed_files_load_whole_or_name_a_line(tmp_path, monkeypatch):
    """Random edits of a valid file: each loads with one document per non-blank line,
    the same as the line-by-line reference, or raises ValueError naming a line of the
    file (or saying that it has no documents)."""
    rng = np.random.default_rng(20240613)
    path = tmp_path / "fuzz.txt"
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(FUZZ_CASES):
        text = FUZZ_BASE
        for _ in range(rng.integers(1, 4)):
            text = fuzz_edit(text, rng)
        path.write_bytes(text)
        # Small blocks for some cases, so that edits also straddle block boundaries.
        monkeypatch.setattr(svmlight, "_CHUNK_BYTES", [1 << 20, 64, 7][case % 3])
        try:
            got = data.load_svmlight(path)
        except ValueError as error:
            message = str(error)
            found = re.search(r"fuzz\.txt, line (\d+): ", message)
            if found is None:
                assert "has no documents" in message, (text, message)
                assert count_documents(text) == 0, (text, message)
            else:
                assert 1 <= int(found.group(1)) <= text.count(b"\n") + 1, (
                    text,
                    message,
                )
            outcomes["refused"] += 1
            continue
        assert got.num_docs == count_documents(text), text
        assert got.query_offsets[-1] == got.num_docs and got.num_queries >= 1, text
        assert np.isfinite(got.features).all() and np.isfinite(got.labels).all(), text
        features, labels, offsets = reference_parse(text.decode("latin-1"))
        np.testing.assert_array_equal(got.features, features, err_msg=repr(text))
        np.testing.assert_array_equal(got.labels, labels, err_msg=repr(text))
        np.testing.assert_array_equal(got.query_offsets, offsets, err_msg=repr(text))
        outcomes["loaded"] += 1
    # Both outcomes are exercised.
    assert min(outcomes.values()) > FUZZ_CASES // 10, outcomes


FUZZ_CASES = int(os.environ.get("JAXRANK_FUZZ_CASES", 1000))
