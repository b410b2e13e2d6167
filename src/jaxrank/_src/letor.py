"""Learning-to-rank data: the SVMlight/LETOR reader, padding, bucketing and batching.

A dataset is held *flat*, one row per document in the file's order
(:class:`RankingDataset`), and padded into ``(queries, list_size, features)`` arrays
(:class:`PaddedLists`) only for training and scoring. Every padded slot remembers the
row it came from (``doc_index``, -1 for padding), so scores computed on padded lists
can be written back in the file's document order with :func:`scatter_scores`.

The text format, one document per line::

    <label> [qid:<int>] <index>:<value> <index>:<value> ... [# comment]

Feature indices are 1-based and may be sparse (a missing feature is 0). The query of a
line comes from its ``qid:`` field or, when the file has none, from a sibling file of
group sizes (``rank.train.query``: one integer per line, the number of consecutive
documents in each query, as in LightGBM's examples). The documents of one query must be
consecutive.

The reader parses with vectorised NumPy passes over the raw bytes (no Python loop over
lines or tokens), and falls back to a line-by-line pass only to word an error message:
a malformed line raises ``ValueError`` naming the file, the line number and the reason.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

_CHUNK_BYTES = 1 << 23  # parse 8 MiB at a time: bounded memory, few NumPy calls
_SPACE, _TAB, _NEWLINE, _RETURN, _COLON, _HASH = 32, 9, 10, 13, 58, 35
_QID = np.frombuffer(b"qid:", np.uint8)


@dataclasses.dataclass(frozen=True)
class RankingDataset:
    """Documents in file order, grouped into consecutive queries.

    Attributes:
      features: ``(num_docs, num_features)`` float32 features.
      labels: ``(num_docs,)`` float32 graded relevance labels.
      query_offsets: ``(num_queries + 1,)`` int64; query ``q`` owns rows
        ``query_offsets[q]:query_offsets[q + 1]``.
      query_ids: ``(num_queries,)`` int64 ids (the ``qid:`` values, or ``0..Q-1`` when
        the groups came from a ``.query`` file or a generator).
    """

    features: np.ndarray
    labels: np.ndarray
    query_offsets: np.ndarray
    query_ids: np.ndarray

    @property
    def num_docs(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_queries(self) -> int:
        return int(self.query_ids.shape[0])

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    @property
    def list_sizes(self) -> np.ndarray:
        """``(num_queries,)`` number of documents in each query."""
        return np.diff(self.query_offsets)

    def subset(self, queries: np.ndarray) -> RankingDataset:
        """The dataset restricted to the queries at positions ``queries``.

        Args:
          queries: integer positions (not ids) of the queries to keep.

        Returns:
          A new :class:`RankingDataset` with those queries, rows in file order.
        """
        queries = np.sort(np.asarray(queries, np.int64))
        sizes = self.list_sizes[queries]
        rows = _ranges(self.query_offsets[queries], sizes)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return RankingDataset(
            self.features[rows], self.labels[rows], offsets, self.query_ids[queries]
        )


@dataclasses.dataclass(frozen=True)
class PaddedLists:
    """Queries padded to one list size.

    Attributes:
      features: ``(queries, list_size, num_features)`` float32; 0 in padded slots.
      labels: ``(queries, list_size)`` float32; -1 in padded slots.
      mask: ``(queries, list_size)`` bool; True for real documents.
      doc_index: ``(queries, list_size)`` int64 row of each slot in the
        :class:`RankingDataset` (the file's document order); -1 in padded slots.
    """

    features: np.ndarray
    labels: np.ndarray
    mask: np.ndarray
    doc_index: np.ndarray

    @property
    def num_queries(self) -> int:
        return int(self.mask.shape[0])

    @property
    def list_size(self) -> int:
        return int(self.mask.shape[1])


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + n)`` for each start ``s`` and size ``n``."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(sizes)
    shift = np.repeat(starts - (ends - sizes), sizes)
    return np.arange(total, dtype=np.int64) + shift


# ----------------------------------------------------------------------------- reading


class _Chunk(NamedTuple):
    """Parsed contents of one block of whole lines."""

    line_numbers: np.ndarray  # (docs,) 1-based line of each document
    labels: np.ndarray  # (docs,) float64
    qids: np.ndarray | None  # (docs,) float64, None when the lines have no qid field
    features: np.ndarray  # (docs, largest index in the block) float32


def _line_error(path: str, line: int, reason: str) -> ValueError:
    return ValueError(f"{path}, line {line}: {reason}")


def _explain_line(text: bytes) -> str | None:
    """Why one comment-free line is malformed (None if it is fine): the slow path
    behind every error message."""
    tokens = text.split()
    if not tokens:
        return None
    shown = tokens[0].decode(errors="replace")
    try:
        label = float(tokens[0])
    except ValueError:
        return f"the label {shown!r} is not a number"
    if not np.isfinite(label):
        return f"the label must be finite, got {shown!r}"
    seen = set()
    for position, token in enumerate(tokens[1:], start=2):
        shown = token.decode(errors="replace")
        if token.startswith(b"qid:"):
            if position != 2:
                return (
                    "'qid:' must directly follow the label; "
                    f"found {shown!r} as token {position}"
                )
            try:
                int(token[4:])
            except ValueError:
                return f"the query id in {shown!r} is not an integer"
            continue
        index, colon, value = token.partition(b":")
        if not colon or b":" in value:
            return f"expected <index>:<value>, got {shown!r}"
        if not index.isdigit() or len(index) > 9:
            return f"the feature index in {shown!r} is not a positive integer"
        index_number = int(index)
        if index_number < 1:
            return f"feature indices are 1-based; got {shown!r}"
        try:
            number = float(value)
        except ValueError:
            return f"the feature value in {shown!r} is not a number"
        if not np.isfinite(number):
            return f"feature values must be finite; got {shown!r}"
        if index_number in seen:
            return f"feature {index_number} appears twice"
        seen.add(index_number)
    return None


def _raise_for_first_bad_line(path, buf, line0, bad_lines, reason=None):
    """Raises for the earliest line index in ``bad_lines`` (0-based within ``buf``)."""
    first = int(np.min(bad_lines))
    text = buf.split(b"\n")[first].split(b"#", 1)[0]
    raise _line_error(
        path, line0 + first + 1, reason or _explain_line(text) or "malformed line"
    )


def _raise_for_any_bad_line(path, buf, line0):
    """Slow path: explains the first malformed line of ``buf``."""
    for index, line in enumerate(buf.split(b"\n")):
        reason = _explain_line(line.split(b"#", 1)[0])
        if reason:
            raise _line_error(path, line0 + index + 1, reason)
    raise _line_error(
        path, line0 + 1, "malformed data in this block"
    )  # pragma: no cover


def _parse_chunk(buf: bytes, line0: int, path: str, max_features: int | None) -> _Chunk:
    """Parses ``buf`` (whole lines, ending in a newline), from line ``line0 + 1``."""
    a = np.frombuffer(buf, np.uint8).copy()
    newlines = np.flatnonzero(a == _NEWLINE)
    num_lines = newlines.size

    # Blank comments: from the first '#' of a line to its end.
    hashes = np.flatnonzero(a == _HASH)
    if hashes.size:
        hash_lines = np.searchsorted(newlines, hashes)
        first = np.concatenate([[True], hash_lines[1:] != hash_lines[:-1]])
        marks = np.zeros(a.size + 1, np.int8)
        marks[hashes[first]] += 1
        marks[newlines[hash_lines[first]]] -= 1
        a[np.cumsum(marks[:-1], dtype=np.int8) > 0] = _SPACE

    # Blank every "qid:" prefix so the query id becomes a plain numeric token.
    candidates = np.flatnonzero(a[:-3] == _QID[0])
    qid_at = candidates[
        (a[candidates + 1] == _QID[1])
        & (a[candidates + 2] == _QID[2])
        & (a[candidates + 3] == _QID[3])
    ]
    a[(qid_at[:, None] + np.arange(4)).ravel()] = _SPACE

    space = (a == _SPACE) | (a == _TAB) | (a == _NEWLINE) | (a == _RETURN)
    token_start = np.flatnonzero(~space & np.concatenate([[True], space[:-1]]))
    token_line = np.searchsorted(newlines, token_start)
    tokens_per_line = np.bincount(token_line, minlength=num_lines)
    data_lines = np.flatnonzero(tokens_per_line > 0)
    first_token = np.concatenate([[0], np.cumsum(tokens_per_line)[:-1]])[data_lines]
    if token_start.size == 0:
        if qid_at.size:
            _raise_for_first_bad_line(
                path,
                buf,
                line0,
                np.searchsorted(newlines, qid_at),
                "a 'qid:' field alone",
            )
        return _Chunk(
            np.zeros(0, np.int64), np.zeros(0), None, np.zeros((0, 0), np.float32)
        )

    # Colons: each belongs to a token; none may start or end it.
    colons = np.flatnonzero(a == _COLON)
    colon_token = np.searchsorted(token_start, colons, side="right") - 1
    bad = space[colons - 1] | space[np.minimum(colons + 1, a.size - 1)]
    if bad.any():
        _raise_for_first_bad_line(path, buf, line0, token_line[colon_token[bad]])
    colons_per_token = np.bincount(colon_token, minlength=token_start.size)

    # A query id must be the whole second token of its line, and on every data line.
    has_qid_token = np.zeros(token_start.size, bool)
    if qid_at.size:
        qid_token = np.searchsorted(token_start, qid_at + 4).clip(
            max=token_start.size - 1
        )
        qid_line = np.searchsorted(newlines, qid_at)
        misplaced = ~space[qid_at - 1] | (token_start[qid_token] != qid_at + 4)
        line_index = np.searchsorted(data_lines, qid_line).clip(max=data_lines.size - 1)
        misplaced |= (data_lines[line_index] != qid_line) | (
            qid_token != first_token[line_index] + 1
        )
        missing = np.setdiff1d(data_lines, qid_line)
        if misplaced.any() or missing.size:
            first_misplaced = qid_line[misplaced].min(initial=num_lines)
            if missing.size and missing.min() < first_misplaced:
                _raise_for_first_bad_line(
                    path, buf, line0, missing, "no 'qid:' field, unlike other lines"
                )
            _raise_for_first_bad_line(path, buf, line0, qid_line[misplaced])
        has_qid_token[qid_token] = True

    # Every token but the label and the query id is exactly <index>:<value>.
    expected = np.ones(token_start.size, np.int64)
    expected[first_token] = 0
    expected[has_qid_token] = 0
    if np.any(colons_per_token != expected):
        _raise_for_first_bad_line(
            path, buf, line0, token_line[colons_per_token != expected]
        )
    feature_tokens = np.flatnonzero(expected)
    feature_line = token_line[feature_tokens]
    cols = _parse_indices(a, token_start[feature_tokens], colons)
    bad = cols < 1
    if bad.any():
        _raise_for_first_bad_line(path, buf, line0, feature_line[bad])
    if max_features is not None and np.any(cols > max_features):
        line = int(feature_line[cols > max_features].min())
        raise _line_error(
            path, line0 + line + 1, f"feature index above num_features={max_features}"
        )

    # Blank the indices and colons, and parse what is left: one number per token.
    marks = np.zeros(a.size + 1, np.int8)
    marks[token_start[feature_tokens]] += 1
    marks[colons + 1] -= 1
    a[np.cumsum(marks[:-1], dtype=np.int8).view(bool)] = _SPACE
    try:
        numbers = np.fromstring(a.tobytes(), dtype=np.float64, sep=" ")
    except ValueError:  # text that is not a number
        numbers = None
    if numbers is None or numbers.size != token_start.size:
        _raise_for_any_bad_line(path, buf, line0)
    labels = numbers[first_token]
    qids = numbers[has_qid_token] if qid_at.size else None
    values = numbers[feature_tokens]
    bad = ~np.isfinite(labels)
    if qids is not None:
        bad |= qids != np.round(qids)
    if bad.any():
        _raise_for_first_bad_line(path, buf, line0, data_lines[bad])
    bad = ~np.isfinite(values)
    if bad.any():
        _raise_for_first_bad_line(path, buf, line0, feature_line[bad])

    rows = np.searchsorted(data_lines, feature_line)
    # Indices usually increase along a line; only where they do not, look for repeats.
    unsorted = (rows[1:] == rows[:-1]) & (cols[1:] <= cols[:-1])
    if unsorted.any():
        width = int(cols.max()) + 1
        suspect = np.isin(rows, rows[1:][unsorted])
        keys = np.sort(rows[suspect] * width + cols[suspect])
        repeated = keys[1:][keys[1:] == keys[:-1]]
        if repeated.size:
            _raise_for_first_bad_line(path, buf, line0, data_lines[repeated // width])
    features = np.zeros((data_lines.size, int(cols.max(initial=0))), np.float32)
    features[rows, cols - 1] = values
    return _Chunk(line0 + data_lines + 1, labels, qids, features)


def _parse_indices(a: np.ndarray, starts: np.ndarray, colons: np.ndarray) -> np.ndarray:
    """Integers ``a[starts[i]:colons[i]]`` (decimal digits only); 0 marks a bad one."""
    lengths = colons - starts
    values = np.zeros(starts.size, np.int64)
    ok = (lengths >= 1) & (lengths <= 9)
    for k in range(int(lengths.max(initial=0))):
        take = k < lengths
        digit = a[np.where(take, starts + k, 0)].astype(np.int64) - 48
        ok &= ~take | ((digit >= 0) & (digit <= 9))
        values = np.where(take, values * 10 + digit, values)
    return np.where(ok, values, 0)


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


def load_svmlight(
    path: str | os.PathLike,
    *,
    query_path: str | os.PathLike | None = None,
    num_features: int | None = None,
) -> RankingDataset:
    """Reads an SVMlight/LETOR ranking file.

    Each non-empty line is ``<label> [qid:<int>] <index>:<value> ...``, with 1-based
    feature indices (sparse or dense; a missing feature is 0) and an optional ``#``
    comment. The documents of one query are consecutive lines.

    Args:
      path: the data file.
      query_path: a file of group sizes (one per line) giving the queries of a file
        without ``qid:`` fields. By default ``<path>.query`` is used when it exists and
        the file has no ``qid:`` fields.
      num_features: the number of features; by default the largest index in the file.
        A larger index is an error.

    Returns:
      A :class:`RankingDataset` in the file's document order.

    Raises:
      ValueError: on a malformed line (the message gives the line number and why), on
        a query whose documents are not consecutive, on missing query information,
        or when the group sizes do not add up to the number of documents.

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
    num_docs = sum(c.labels.size for c in chunks)
    has_qid = {c.qids is not None for c in chunks if c.labels.size}
    if len(has_qid) > 1:
        first = next(c for c in chunks if c.labels.size and c.qids is None)
        raise _line_error(
            path, int(first.line_numbers[0]), "no 'qid:' field, unlike other lines"
        )
    width = num_features or max((c.features.shape[1] for c in chunks), default=0)
    features = np.zeros((num_docs, width), np.float32)
    labels = np.concatenate([np.zeros(0)] + [c.labels for c in chunks]).astype(
        np.float32
    )
    start = 0
    for i, chunk in enumerate(chunks):
        block = chunk.features
        features[start : start + block.shape[0], : block.shape[1]] = block
        start += block.shape[0]
        chunks[i] = chunk._replace(features=None)  # free each block once copied
    if has_qid == {True}:
        if query_path is not None:
            raise ValueError(
                f"{path} has 'qid:' fields; do not also pass `query_path`."
            )
        qids = np.concatenate([c.qids for c in chunks if c.labels.size]).astype(
            np.int64
        )
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
                f"qid {qids[later]} appeared on earlier lines, separated by other "
                "queries; "
                "the documents of a query must be consecutive",
            )
        offsets = np.append(starts, num_docs).astype(np.int64)
    else:
        if query_path is None and os.path.exists(path + ".query"):
            query_path = path + ".query"
        if query_path is None:
            raise ValueError(
                f"{path} has no 'qid:' fields and no group-size file "
                f"{path + '.query'!r}; "
                "pass `query_path`."
            )
        sizes = _read_group_sizes(os.fspath(query_path))
        if sizes.sum() != num_docs:
            raise ValueError(
                f"the group sizes in {os.fspath(query_path)} add up to "
                f"{int(sizes.sum())} "
                f"documents, but {path} has {num_docs}."
            )
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        ids = np.arange(sizes.size, dtype=np.int64)
    return RankingDataset(features, labels, offsets, ids)


# --------------------------------------------------------------- padding and batching


def pad_lists(
    data: RankingDataset, list_size: int | None = None, queries=None
) -> PaddedLists:
    """Pads queries of ``data`` to a common list size.

    Args:
      data: a :class:`RankingDataset`.
      list_size: the padded size; by default the longest selected list. Must be at
        least that long (lists are never truncated).
      queries: positions of the queries to take, in the order wanted; default all.

    Returns:
      :class:`PaddedLists` with documents in file order within each list.

    Examples:
      >>> labels = np.array([1.0, 0.0, 2.0], np.float32)
      >>> data = RankingDataset(np.eye(3, dtype=np.float32), labels,
      ...                       np.array([0, 2, 3]), np.array([5, 6]))
      >>> padded = pad_lists(data)
      >>> padded.labels
      array([[ 1.,  0.],
             [ 2., -1.]], dtype=float32)
      >>> padded.doc_index
      array([[ 0,  1],
             [ 2, -1]])
    """
    queries = (
        np.arange(data.num_queries)
        if queries is None
        else np.asarray(queries, np.int64)
    )
    sizes = data.list_sizes[queries]
    longest = int(sizes.max(initial=0))
    list_size = longest if list_size is None else list_size
    if list_size < longest:
        raise ValueError(
            f"`list_size`={list_size} is shorter than the longest list ({longest})."
        )
    slot = np.arange(list_size)
    mask = slot < sizes[:, None]
    doc_index = np.where(mask, data.query_offsets[queries][:, None] + slot, -1)
    rows = doc_index[mask]
    features = np.zeros((queries.size, list_size, data.num_features), np.float32)
    features[mask] = data.features[rows]
    labels = np.full((queries.size, list_size), -1.0, np.float32)
    labels[mask] = data.labels[rows]
    return PaddedLists(features, labels, mask, doc_index.astype(np.int64))


def default_list_sizes(
    longest: int, *, smallest: int = 8, growth: float = 1.5
) -> list[int]:
    """Bucket sizes ``smallest, ~smallest*growth, ...`` (multiples of 8) to ``longest``.

    With ``growth=1.5`` a list is padded by less than half its length, and the number of
    distinct shapes (one compilation each under ``jit``) grows only logarithmically.

    Examples:
      >>> default_list_sizes(100)
      [8, 16, 24, 40, 64, 96, 144]
    """
    sizes = [smallest]
    while sizes[-1] < longest:
        sizes.append(max(sizes[-1] + 8, int(np.ceil(sizes[-1] * growth / 8)) * 8))
    return sizes


def bucketize(
    data: RankingDataset, list_sizes: Sequence[int] | None = None
) -> list[PaddedLists]:
    """Groups queries by length and pads each group to its bucket's list size.

    A query goes to the smallest bucket it fits in; empty buckets are dropped. Queries
    keep their file order within a bucket, and ``doc_index`` maps every slot back to
    its document.

    Args:
      data: a :class:`RankingDataset`.
      list_sizes: increasing bucket sizes; the last must fit the longest query.
        Default :func:`default_list_sizes` of the longest query.

    Returns:
      A list of :class:`PaddedLists`, shortest list size first.

    Examples:
      >>> data = RankingDataset(np.zeros((13, 1), np.float32), np.zeros(13, np.float32),
      ...                       np.array([0, 2, 12, 13]), np.arange(3))
      >>> [(b.num_queries, b.list_size) for b in bucketize(data, [4, 16])]
      [(2, 4), (1, 16)]
    """
    sizes = data.list_sizes
    if list_sizes is None:
        list_sizes = default_list_sizes(int(sizes.max(initial=1)))
    list_sizes = [int(s) for s in list_sizes]
    if list_sizes != sorted(set(list_sizes)) or list_sizes[0] < 1:
        raise ValueError(
            f"`list_sizes` must be increasing positive ints, got {list_sizes}."
        )
    if sizes.size and sizes.max() > list_sizes[-1]:
        raise ValueError(
            f"the longest query has {int(sizes.max())} documents, more than the "
            "largest "
            f"bucket in `list_sizes` ({list_sizes[-1]})."
        )
    which = np.searchsorted(list_sizes, sizes)
    return [
        pad_lists(data, size, np.flatnonzero(which == b))
        for b, size in enumerate(list_sizes)
        if np.any(which == b)
    ]


def _take(lists: PaddedLists, index: np.ndarray, batch_size: int) -> PaddedLists:
    """Rows ``index`` of ``lists``, padded with empty lists up to ``batch_size``."""
    extra = batch_size - index.size
    out = []
    for array, fill in (
        (lists.features, 0.0),
        (lists.labels, -1.0),
        (lists.mask, False),
        (lists.doc_index, -1),
    ):
        taken = array[index]
        if extra:
            padding = np.full((extra,) + array.shape[1:], fill, array.dtype)
            taken = np.concatenate([taken, padding])
        out.append(taken)
    return PaddedLists(*out)


def batches(
    buckets: Sequence[PaddedLists],
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | np.random.Generator | None = None,
) -> Iterator[PaddedLists]:
    """Yields batches of exactly ``batch_size`` lists, each from a single bucket.

    Every query appears once. A bucket's last, short batch is filled up with empty
    lists (mask all False, labels -1), so batch shapes stay fixed: one shape per bucket
    under ``jit``, and a batch axis that divides evenly over devices.

    Args:
      buckets: the output of :func:`bucketize`.
      batch_size: number of lists per batch.
      shuffle: shuffle the queries within each bucket and the order of the batches.
      seed: seed or generator for the shuffle.

    Yields:
      :class:`PaddedLists` of ``batch_size`` lists.

    Examples:
      >>> data = RankingDataset(np.zeros((5, 1), np.float32), np.zeros(5, np.float32),
      ...                       np.array([0, 1, 2, 3, 5]), np.arange(4))
      >>> [b.mask.sum(axis=1).tolist() for b in batches(bucketize(data, [1, 2]), 2)]
      [[1, 1], [1, 0], [2, 0]]
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}.")
    rng = np.random.default_rng(seed)
    plan = []
    for b, lists in enumerate(buckets):
        order = (
            rng.permutation(lists.num_queries)
            if shuffle
            else np.arange(lists.num_queries)
        )
        plan.extend(
            (b, order[i : i + batch_size]) for i in range(0, order.size, batch_size)
        )
    if shuffle:
        plan = [plan[i] for i in rng.permutation(len(plan))]
    for b, index in plan:
        yield _take(buckets[b], index, batch_size)


def scatter_scores(
    lists: Sequence[PaddedLists], scores: Sequence[np.ndarray], num_docs: int
) -> np.ndarray:
    """Writes scores of padded lists back in document (file) order.

    Args:
      lists: padded lists (buckets or batches) covering every document once.
      scores: one ``(queries, list_size)`` score array per element of ``lists``.
      num_docs: the number of documents in the dataset.

    Returns:
      ``(num_docs,)`` float32 scores, row ``i`` for the ``i``-th document of the file.

    Raises:
      ValueError: if some document received no score or more than one.
    """
    out = np.zeros(num_docs, np.float32)
    seen = np.zeros(num_docs, np.int64)
    for padded, score in zip(lists, scores, strict=True):
        score = np.asarray(score)
        if score.shape != padded.mask.shape:
            raise ValueError(
                f"`scores` entry has shape {score.shape}; expected {padded.mask.shape}."
            )
        index = padded.doc_index[padded.mask]
        out[index] = score[padded.mask]
        np.add.at(seen, index, 1)
    if np.any(seen != 1):
        raise ValueError("every document must be scored exactly once by `lists`.")
    return out
