"""Command-line flags derived from dataclasses: one ``--flag-name`` per field.

A field's type gives the flag's parser (``bool``: ``--x/--no-x``; ``Literal[...]``:
one of its values; ``tuple[int, ...]``: comma separated; ``str | None``: a string),
its default the flag's default, and its metadata (:func:`option`) the help text and
any other ``add_argument`` keyword, such as ``choices``.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Sequence


def option(default, help: str, **argparse_kwargs):
    """A dataclass field that is also a command-line flag with this ``help``."""
    return dataclasses.field(default=default, metadata=dict(argparse_kwargs, help=help))


def _parser_kwargs(kind) -> dict:
    """``add_argument`` keywords for a field annotated ``kind``."""
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(kind) is typing.Literal:  # Literal["a", "b"]: one of them
        return {"choices": typing.get_args(kind)}
    if typing.get_origin(kind) is tuple:  # tuple[int, ...]: "256,128" -> (256, 128)
        item = typing.get_args(kind)[0]
        return {"type": lambda s: tuple(item(x) for x in s.split(",") if x)}
    # int, float, str; an optional `str | None` takes a str.
    return {
        "type": next(t for t in (*typing.get_args(kind), kind) if t is not type(None))
    }


def add_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """Adds one flag per field of the dataclass ``cls`` to ``parser``."""
    hints = typing.get_type_hints(cls)  # resolves `from __future__` annotations
    for field in dataclasses.fields(cls):
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            default=field.default,
            **_parser_kwargs(hints[field.name]),
            **field.metadata,
        )


def parse_flags(argv: Sequence[str] | None, *classes: type, description: str) -> tuple:
    """Parses ``argv`` into one instance of each dataclass of ``classes``, whose
    fields are the flags (``--help`` shows their help text and defaults)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for cls in classes:
        add_flags(parser, cls)
    args = parser.parse_args(argv)
    return tuple(
        cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
        for cls in classes
    )
