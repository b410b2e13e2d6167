"""The SVMlight/LETOR text reader.

The format, one document per line::

    <label> [qid:<int>] <index>:<value> <index>:<value> ... [# comment]

Fields are separated by spaces or tabs, and a line may end in ``\\r\\n``. The label and
the feature values are decimal numbers that float32 can hold: a value that rounds to a
finite float32 is read as that float32 (``1e-50`` as 0), while a larger magnitude
(``1e39``), NaN or an infinity is an error. Feature indices are 1-based integers of at
most 9 digits and may be sparse (a missing feature is 0). The query of a line comes
from its ``qid:`` field, a decimal integer read exactly into int64 (optional sign; no
decimal point or exponent), or, when the file has no ``qid:`` fields, from a sibling
file of group sizes (``rank.train.query``: one integer per line, the number of
consecutive documents in each query, as in LightGBM's examples). The documents of one
query must be consecutive. Anything after a ``#`` is a comment; control characters
other than tab and carriage return may appear only there.

The reader parses blocks of whole lines with vectorised NumPy passes over the raw bytes
(no Python loop over lines or tokens): blank the comments, find the ``qid:`` fields,
split the tokens, check the ``<index>:<value>`` fields, parse the feature indices and
the query ids as integers, parse all the other numbers at once, then check the values.
Only to report an error does it go line by line, to find the malformed line and say
why: every error about a line raises ``ValueError`` naming the file, the 1-based line
number and the reason.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from jaxrank._src.ranking_data import RankingDataset

_CHUNK_BYTES = 1 << 23  # parse 8 MiB at a time: bounded memory, few NumPy calls
_SPACE, _TAB, _NEWLINE, _RETURN, _COLON, _HASH = 32, 9, 10, 13, 58, 35
_PLUS, _MINUS, _ZERO = 43, 45, 48
_QID = np.frombuffer(b"qid:", np.uint8)
_MAX_INDEX_DIGITS = 9
_INT64_MAX = 2**63 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
# Above this, ``10 * value + 9`` no longer fits in uint64.
_UINT64_SAFE = np.uint64((2**64 - 1 - 9) // 10)
_FIELD_SEPARATOR = re.compile(rb"[ \t\r]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x0c\x0e-\x1f]")
_INTEGER = re.compile(rb"[+-]?[0-9]+")


class _Chunk(NamedTuple):
    """Parsed contents of one block of whole lines."""

    line_numbers: np.ndarray  # (docs,) 1-based line of each document
    labels: np.ndarray  # (docs,) float32
    qids: np.ndarray | None  # (docs,) int64, None when the lines have no qid field
    features: np.ndarray  # (docs, largest index in the block) float32


class _Tokens(NamedTuple):
    """Where the whitespace-separated tokens of a block are."""

    space: np.ndarray  # (bytes,) bool, True for separator bytes
    start: np.ndarray  # (tokens,) offset of each token's first byte
    end: np.ndarray  # (tokens,) offset just past each token's last byte
    line: np.ndarray  # (tokens,) 0-based line of each token within the block
    per_line: np.ndarray  # (lines,) number of tokens on each line
    data_lines: np.ndarray  # (docs,) the lines that have at least one token
    first: np.ndarray  # (docs,) index of each data line's first token (its label)


class _Malformed(Exception):
    """Raised by a parsing pass: a line of the block is malformed.

    ``lines`` holds 0-based line indices within the block (the earliest is reported),
    or is None when the pass cannot tell which line is at fault. ``reason`` is None
    when the line-by-line check should word the message.
    """

    def __init__(self, lines: np.ndarray | None, reason: str | None = None):
        super().__init__(reason)
        self.lines = lines
        self.reason = reason


def _line_error(path: str, line: int, reason: str) -> ValueError:
    return ValueError(f"{path}, line {line}: {reason}")


# ------------------------------------------------- the slow path behind error messages


def _to_float(text: bytes) -> float | None:
    """``text`` as one number, by the rule of the block-wide parse (None if not)."""
    try:
        number = np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError:
        return None
    return float(number[0]) if number.size == 1 else None


def _value_problem(text: bytes) -> str | None:
    """What keeps ``text`` from being a label or feature value (None if nothing)."""
    number = _to_float(text)
    if number is None:
        return "is not a number"
    if not math.isfinite(number):
        return "is not finite"
    with np.errstate(over="ignore"):
        if not np.isfinite(np.float32(number)):
            return f"does not fit in float32 (largest magnitude {_FLOAT32_MAX:.8g})"
    return None


def _explain_qid(token: bytes, position: int) -> str | None:
    shown = token.decode(errors="replace")
    if position != 2:
        return (
            "'qid:' must directly follow the label; "
            f"found {shown!r} as token {position}"
        )
    if not _INTEGER.fullmatch(token[4:]):
        return f"the query id in {shown!r} is not an integer"
    if not -_INT64_MAX - 1 <= int(token[4:]) <= _INT64_MAX:
        return f"the query id in {shown!r} does not fit in int64"
    return None


def _explain_feature(token: bytes, seen: set[int]) -> str | None:
    shown = token.decode(errors="replace")
    index, colon, value = token.partition(b":")
    if not colon or b":" in value:
        return f"expected <index>:<value>, got {shown!r}"
    if not index.isdigit() or len(index) > _MAX_INDEX_DIGITS:
        return f"the feature index in {shown!r} is not a positive integer"
    index_number = int(index)
    if index_number < 1:
        return f"feature indices are 1-based; got {shown!r}"
    problem = _value_problem(value)
    if problem:
        return f"the feature value in {shown!r} {problem}"
    if index_number in seen:
        return f"feature {index_number} appears twice"
    seen.add(index_number)
    return None


def _explain_line(text: bytes) -> str | None:
    """Why one comment-free line is malformed (None if it is fine)."""
    control = _CONTROL.search(text)
    if control:
        return f"control character {control.group()!r} outside a comment"
    tokens = [token for token in _FIELD_SEPARATOR.split(text) if token]
    if not tokens:
        return None
    problem = _value_problem(tokens[0])
    if problem:
        return f"the label {tokens[0].decode(errors='replace')!r} {problem}"
    seen: set[int] = set()
    for position, token in enumerate(tokens[1:], start=2):
        if token.startswith(b"qid:"):
            reason = _explain_qid(token, position)
        else:
            reason = _explain_feature(token, seen)
        if reason:
            return reason
    return None


def _explain_block(buf: bytes, error: _Malformed) -> tuple[int, str]:
    """The 0-based line within ``buf`` to report for ``error``, and why."""
    lines = buf.split(b"\n")
    if error.lines is None:  # pragma: no cover (every pass finds its lines)
        for index, line in enumerate(lines):
            reason = _explain_line(line.split(b"#", 1)[0])
            if reason:
                return index, reason
        return 0, "malformed data from this line on"
    first = int(np.min(error.lines))
    text = lines[first].split(b"#", 1)[0]
    return first, error.reason or _explain_line(text) or "malformed line"


# ------------------------------------------------------------ the vectorised passes


def _blank_comments(a: np.ndarray, newlines: np.ndarray) -> None:
    """Overwrites with spaces, in place, each line's first ``#`` and what follows."""
    hashes = np.flatnonzero(a == _HASH)
    if not hashes.size:
        return
    hash_lines = np.searchsorted(newlines, hashes)
    first = np.concatenate([[True], hash_lines[1:] != hash_lines[:-1]])
    marks = np.zeros(a.size + 1, np.int8)
    marks[hashes[first]] += 1
    marks[newlines[hash_lines[first]]] -= 1
    a[np.cumsum(marks[:-1], dtype=np.int8) > 0] = _SPACE


def _blank_qid_prefixes(a: np.ndarray) -> np.ndarray:
    """Blanks every ``qid:`` in place, so that a query id is a token of its own.

    Returns:
      The offsets of the ``qid:`` prefixes.
    """
    candidates = np.flatnonzero(a[:-3] == _QID[0])
    qid_at = candidates[
        (a[candidates + 1] == _QID[1])
        & (a[candidates + 2] == _QID[2])
        & (a[candidates + 3] == _QID[3])
    ]
    a[(qid_at[:, None] + np.arange(4)).ravel()] = _SPACE
    return qid_at


def _split_tokens(a: np.ndarray, newlines: np.ndarray) -> _Tokens:
    space = (a == _SPACE) | (a == _TAB) | (a == _NEWLINE) | (a == _RETURN)
    # The block ends in a newline, so starts and ends alternate.
    edges = np.flatnonzero(np.diff(space, prepend=True))
    start, end = edges[0::2], edges[1::2]
    line = np.searchsorted(newlines, start)
    per_line = np.bincount(line, minlength=newlines.size)
    data_lines = np.flatnonzero(per_line > 0)
    first = np.concatenate([[0], np.cumsum(per_line)[:-1]])[data_lines]
    return _Tokens(space, start, end, line, per_line, data_lines, first)


def _find_colons(a: np.ndarray, tokens: _Tokens) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of the colons, and how many each token holds; none may start or end
    a token."""
    colons = np.flatnonzero(a == _COLON)
    colon_token = np.searchsorted(tokens.start, colons, side="right") - 1
    space = tokens.space
    bad = space[colons - 1] | space[np.minimum(colons + 1, a.size - 1)]
    if bad.any():
        raise _Malformed(tokens.line[colon_token[bad]])
    return colons, np.bincount(colon_token, minlength=tokens.start.size)


def _find_qid_tokens(
    tokens: _Tokens, qid_at: np.ndarray, newlines: np.ndarray
) -> np.ndarray:
    """Marks the query-id tokens: each the whole second token of its line, and on
    every data line when on any.

    Returns:
      ``(tokens,)`` bool, True for the query ids.
    """
    is_qid = np.zeros(tokens.start.size, bool)
    if not qid_at.size:
        return is_qid
    data_lines, first = tokens.data_lines, tokens.first
    qid_token = np.searchsorted(tokens.start, qid_at + 4).clip(
        max=tokens.start.size - 1
    )
    qid_line = np.searchsorted(newlines, qid_at)
    misplaced = ~tokens.space[qid_at - 1] | (tokens.start[qid_token] != qid_at + 4)
    line_index = np.searchsorted(data_lines, qid_line).clip(max=data_lines.size - 1)
    misplaced |= (data_lines[line_index] != qid_line) | (
        qid_token != first[line_index] + 1
    )
    missing = np.setdiff1d(data_lines, qid_line)
    first_misplaced = qid_line[misplaced].min(initial=newlines.size)
    if missing.size and missing.min() < first_misplaced:
        raise _Malformed(missing, "no 'qid:' field, unlike other lines")
    if misplaced.any():
        raise _Malformed(qid_line[misplaced])
    is_qid[qid_token] = True
    return is_qid


def _feature_tokens(
    tokens: _Tokens, colons_per_token: np.ndarray, is_qid: np.ndarray
) -> np.ndarray:
    """Indices of the ``<index>:<value>`` tokens: every token but the label and the
    query id, each with exactly one colon."""
    expected = np.ones(tokens.start.size, np.int64)
    expected[tokens.first] = 0
    expected[is_qid] = 0
    wrong = colons_per_token != expected
    if wrong.any():
        raise _Malformed(tokens.line[wrong])
    return np.flatnonzero(expected)


def _parse_digits(
    a: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Unsigned decimal integers ``a[starts[i]:ends[i]]``, all fields at once.

    Returns:
      ``(values, ok)``: uint64 values, and False where a field is empty, holds a byte
      other than a decimal digit, or overflows uint64 (its value is then meaningless).
    """
    lengths = ends - starts
    values = np.zeros(starts.size, np.uint64)
    ok = lengths >= 1
    for k in range(int(lengths.max(initial=0))):
        take = k < lengths
        digit = a[np.where(take, starts + k, 0)] - np.uint8(_ZERO)  # wraps: >9 if bad
        ok &= ~take | ((digit <= 9) & (values <= _UINT64_SAFE))
        values = np.where(take, values * np.uint64(10) + digit, values)
    return values, ok


def _feature_indices(
    a: np.ndarray,
    starts: np.ndarray,
    colons: np.ndarray,
    lines: np.ndarray,
    max_features: int | None,
) -> np.ndarray:
    """The 1-based feature index of each ``<index>:<value>`` token, checked."""
    cols, ok = _parse_digits(a, starts, colons)
    ok &= (colons - starts <= _MAX_INDEX_DIGITS) & (cols >= 1)
    if not ok.all():
        raise _Malformed(lines[~ok])
    cols = cols.astype(np.int64)
    if max_features is not None and np.any(cols > max_features):
        raise _Malformed(
            lines[cols > max_features],
            f"feature index above num_features={max_features}",
        )
    return cols


def _query_ids(
    a: np.ndarray, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray
) -> np.ndarray:
    """The query ids ``a[starts[i]:ends[i]]``: exact int64, optional sign."""
    sign = a[starts]
    negative = sign == _MINUS
    magnitude, ok = _parse_digits(a, starts + (negative | (sign == _PLUS)), ends)
    limit = np.where(negative, np.uint64(_INT64_MAX + 1), np.uint64(_INT64_MAX))
    ok &= magnitude <= limit
    if not ok.all():
        raise _Malformed(lines[~ok])
    return np.where(negative, np.uint64(0) - magnitude, magnitude).view(np.int64)


def _control_byte_lines(a: np.ndarray, newlines: np.ndarray) -> np.ndarray:
    """Lines with a byte below 32 other than tab, newline and carriage return."""
    low = np.flatnonzero(a < _SPACE)
    byte = a[low]
    return np.searchsorted(
        newlines, low[(byte != _TAB) & (byte != _NEWLINE) & (byte != _RETURN)]
    )


def _first_unparsable_line(
    a: np.ndarray, newlines: np.ndarray, numbers_per_line: np.ndarray, stop: int
) -> np.ndarray:
    """The first line before ``stop`` of blanked ``a`` whose numbers do not parse one
    per token (none or one line)."""
    line_starts = np.concatenate([[0], newlines[:-1] + 1])
    for line in np.flatnonzero(numbers_per_line[:stop]):
        text = a[line_starts[line] : newlines[line]].tobytes()
        try:
            count = np.fromstring(text, dtype=np.float64, sep=" ").size
        except ValueError:
            count = -1
        if count != numbers_per_line[line]:
            return np.array([line])
    return np.zeros(0, np.int64)


def _parse_numbers(
    a: np.ndarray,
    blank_from: np.ndarray,
    blank_to: np.ndarray,
    newlines: np.ndarray,
    numbers_per_line: np.ndarray,
) -> np.ndarray:
    """Blanks the ranges ``[blank_from, blank_to)`` (feature indices, query ids) and
    parses the numbers left, the labels and feature values, in one call.

    Control characters are refused: the parse would take some of them (vertical tab,
    form feed) for separators, and read one token as two numbers or as none.
    """
    marks = np.zeros(a.size + 1, np.int8)
    marks[blank_from] += 1
    marks[blank_to] -= 1
    a[np.cumsum(marks[:-1], dtype=np.int8).view(bool)] = _SPACE
    bad_lines = _control_byte_lines(a, newlines)
    try:
        numbers = np.fromstring(a.tobytes(), dtype=np.float64, sep=" ")
    except ValueError:  # text that is not a number
        numbers = None
    failed = numbers is None or numbers.size != numbers_per_line.sum()
    if failed:
        stop = int(bad_lines.min(initial=newlines.size))
        unparsable = _first_unparsable_line(a, newlines, numbers_per_line, stop)
        bad_lines = np.concatenate([bad_lines, unparsable])
    if bad_lines.size or failed:
        # Lines that parse apart parse together, so ``bad_lines`` is not empty here.
        raise _Malformed(bad_lines if bad_lines.size else None)
    return numbers


def _to_float32(
    labels: np.ndarray,
    values: np.ndarray,
    data_lines: np.ndarray,
    feature_lines: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and feature values as float32; each must be finite there."""
    with np.errstate(over="ignore", invalid="ignore"):
        labels = labels.astype(np.float32)
        values = values.astype(np.float32)
    bad_labels = ~np.isfinite(labels)
    bad_values = ~np.isfinite(values)
    if bad_labels.any() or bad_values.any():
        raise _Malformed(
            np.concatenate([data_lines[bad_labels], feature_lines[bad_values]])
        )
    return labels, values


def _check_no_repeats(rows: np.ndarray, cols: np.ndarray, lines: np.ndarray) -> None:
    """No feature index twice on a line (``rows``: the document of each field)."""
    # Indices usually increase along a line; only where they do not, look for repeats.
    unsorted = (rows[1:] == rows[:-1]) & (cols[1:] <= cols[:-1])
    if not unsorted.any():
        return
    width = int(cols.max()) + 1
    suspect = np.isin(rows, rows[1:][unsorted])
    keys = np.sort(rows[suspect] * width + cols[suspect])
    repeated = keys[1:][keys[1:] == keys[:-1]]
    if repeated.size:
        raise _Malformed(lines[repeated // width])


def _parse_block(buf: bytes, max_features: int | None) -> _Chunk:
    """Parses whole lines ``buf`` (ending in a newline); lines numbered from 0."""
    a = np.frombuffer(buf, np.uint8).copy()
    newlines = np.flatnonzero(a == _NEWLINE)
    _blank_comments(a, newlines)
    qid_at = _blank_qid_prefixes(a)
    tokens = _split_tokens(a, newlines)
    if tokens.start.size == 0:
        if qid_at.size:
            raise _Malformed(np.searchsorted(newlines, qid_at), "a 'qid:' field alone")
        return _Chunk(
            np.zeros(0, np.int64),
            np.zeros(0, np.float32),
            None,
            np.zeros((0, 0), np.float32),
        )
    colons, colons_per_token = _find_colons(a, tokens)
    is_qid = _find_qid_tokens(tokens, qid_at, newlines)
    fields = _feature_tokens(tokens, colons_per_token, is_qid)
    field_lines = tokens.line[fields]
    starts = tokens.start[fields]
    cols = _feature_indices(a, starts, colons, field_lines, max_features)
    qid_starts, qid_ends = tokens.start[is_qid], tokens.end[is_qid]
    qids = _query_ids(a, qid_starts, qid_ends, tokens.line[is_qid])
    has_qid = qids.size > 0
    numbers = _parse_numbers(
        a,
        np.concatenate([starts, qid_starts]),
        np.concatenate([colons + 1, qid_ends]),
        newlines,
        tokens.per_line - has_qid * (tokens.per_line > 0),
    )
    # In ``numbers`` each line is its label then its feature values.
    is_label = np.zeros(numbers.size, bool)
    is_label[tokens.first - has_qid * np.arange(tokens.first.size)] = True
    labels, values = _to_float32(
        numbers[is_label], numbers[~is_label], tokens.data_lines, field_lines
    )
    rows = np.searchsorted(tokens.data_lines, field_lines)
    _check_no_repeats(rows, cols, tokens.data_lines)
    features = np.zeros((tokens.data_lines.size, int(cols.max(initial=0))), np.float32)
    features[rows, cols - 1] = values
    return _Chunk(tokens.data_lines, labels, qids if has_qid else None, features)


def _parse_chunk(buf: bytes, line0: int, path: str, max_features: int | None) -> _Chunk:
    """Parses ``buf`` (whole lines, ending in a newline), from line ``line0 + 1``."""
    try:
        chunk = _parse_block(buf, max_features)
    except _Malformed as error:
        line, reason = _explain_block(buf, error)
        raise _line_error(path, line0 + line + 1, reason) from None
    return chunk._replace(line_numbers=line0 + 1 + chunk.line_numbers)


# ------------------------------------------------------------------- reading a file


def _read_chunks(path: str) -> Iterator[tuple[bytes, int]]:
    """Yields blocks of whole lines (ending in a newline) and their first line index."""
    line0 = 0
    rest = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK_BYTES)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut], line0
                line0 += block.count(b"\n", 0, cut)
    if rest:
        yield rest + b"\n", line0


def _read_group_sizes(path: str) -> np.ndarray:
    sizes = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            text = line.split(b"#", 1)[0].strip()
            if not text:
                continue
            try:
                size = int(text)
            except ValueError:
                raise _line_error(
                    path,
                    number,
                    f"expected a group size, got {text.decode(errors='replace')!r}",
                ) from None
            if size < 1:
                raise _line_error(
                    path, number, f"group sizes must be positive, got {size}"
                )
            sizes.append(size)
    return np.asarray(sizes, np.int64)


def _concatenate_features(chunks: list[_Chunk], width: int) -> np.ndarray:
    """The chunks' feature blocks in one ``(docs, width)`` array; frees each block
    once copied (``chunks`` is updated in place)."""
    num_docs = sum(c.labels.size for c in chunks)
    features = np.zeros((num_docs, width), np.float32)
    start = 0
    for i, chunk in enumerate(chunks):
        block = chunk.features
        features[start : start + block.shape[0], : block.shape[1]] = block
        start += block.shape[0]
        chunks[i] = chunk._replace(features=None)
    return features


def _queries_from_qids(
    path: str, chunks: list[_Chunk]
) -> tuple[np.ndarray, np.ndarray]:
    """Query offsets and ids from the ``qid:`` fields; a query must be consecutive."""
    qids = np.concatenate([c.qids for c in chunks if c.labels.size])
    line_numbers = np.concatenate([c.line_numbers for c in chunks if c.labels.size])
    starts = np.flatnonzero(np.concatenate([[True], qids[1:] != qids[:-1]]))
    ids = qids[starts]
    order = np.argsort(ids, kind="stable")
    repeated = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if repeated.size:
        later = starts[np.sort(order[repeated + 1])[0]]
        raise _line_error(
            path,
            int(line_numbers[later]),
            f"qid {qids[later]} appeared on earlier lines, separated by other queries; "
            "the documents of a query must be consecutive",
        )
    return np.append(starts, qids.size).astype(np.int64), ids


def _queries_from_group_sizes(
    path: str, query_path: str | None, num_docs: int
) -> tuple[np.ndarray, np.ndarray]:
    """Query offsets and ids ``0..Q-1`` from a file of group sizes."""
    if query_path is None and os.path.exists(path + ".query"):
        query_path = path + ".query"
    if query_path is None:
        raise ValueError(
            f"{path} has no 'qid:' fields and no group-size file "
            f"{path + '.query'!r}; pass `query_path`."
        )
    sizes = _read_group_sizes(query_path)
    if sizes.sum() != num_docs:
        raise ValueError(
            f"the group sizes in {query_path} add up to {int(sizes.sum())} "
            f"documents, but {path} has {num_docs}."
        )
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return offsets, np.arange(sizes.size, dtype=np.int64)


def load_svmlight(
    path: str | os.PathLike,
    *,
    query_path: str | os.PathLike | None = None,
    num_features: int | None = None,
) -> RankingDataset:
    """Reads an SVMlight/LETOR ranking file.

    Each non-empty line is ``<label> [qid:<int>] <index>:<value> ...``, with 1-based
    feature indices (sparse or dense; a missing feature is 0) and an optional ``#``
    comment. The documents of one query are consecutive lines. Query ids are read
    exactly as int64; labels and feature values as float32, each of which must be
    finite in float32 (NaN, infinities and magnitudes above about ``3.4e38`` are
    refused).

    Args:
      path: the data file.
      query_path: a file of group sizes (one per line) giving the queries of a file
        without ``qid:`` fields. By default ``<path>.query`` is used when it exists and
        the file has no ``qid:`` fields.
      num_features: the number of features; by default the largest index in the file.
        A larger index is an error.

    Returns:
      A ``jaxrank.data.RankingDataset`` in the file's document order.

    Raises:
      ValueError: on a malformed line (the message gives the 1-based line number and
        why), on a query whose documents are not consecutive, on a file with no
        documents, on missing query information, or when the group sizes do not add
        up to the number of documents.

    Examples:
      >>> import tempfile, pathlib
      >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.txt"
      >>> text = "2 qid:7 1:0.5 3:1\\n0 qid:7 2:4 # a comment\\n1 qid:9 1:1\\n"
      >>> _ = path.write_text(text)
      >>> data = load_svmlight(path)
      >>> data.features
      array([[0.5, 0. , 1. ],
             [0. , 4. , 0. ],
             [1. , 0. , 0. ]], dtype=float32)
      >>> data.labels, data.query_ids, data.list_sizes
      (array([2., 0., 1.], dtype=float32), array([7, 9]), array([2, 1]))
    """
    path = os.fspath(path)
    if num_features is not None and (
        not isinstance(num_features, int) or num_features < 1
    ):
        raise ValueError(
            f"`num_features` must be a positive int, got {num_features!r}."
        )
    chunks = [
        _parse_chunk(buf, line0, path, num_features)
        for buf, line0 in _read_chunks(path)
    ]
    if not any(c.labels.size for c in chunks):
        raise ValueError(
            f"{path} has no documents: "
            + ("every line is blank or a comment" if chunks else "the file is empty")
        )
    has_qid = {c.qids is not None for c in chunks if c.labels.size}
    if len(has_qid) > 1:
        first = next(c for c in chunks if c.labels.size and c.qids is None)
        raise _line_error(
            path, int(first.line_numbers[0]), "no 'qid:' field, unlike other lines"
        )
    width = num_features or max((c.features.shape[1] for c in chunks), default=0)
    features = _concatenate_features(chunks, width)
    labels = np.concatenate([c.labels for c in chunks])
    if has_qid == {True}:
        if query_path is not None:
            raise ValueError(
                f"{path} has 'qid:' fields; do not also pass `query_path`."
            )
        offsets, ids = _queries_from_qids(path, chunks)
    else:
        query_path = None if query_path is None else os.fspath(query_path)
        offsets, ids = _queries_from_group_sizes(path, query_path, labels.size)
    return RankingDataset(features, labels, offsets, ids)
