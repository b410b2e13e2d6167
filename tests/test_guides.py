"""The documentation site: the guides' code runs, and the reference covers the API.

Each guide in ``docs/guides/`` is run as its reader would run it: its Python code
blocks in order, in one namespace (the ``assert`` statements in them are the checks).
The API reference pages (``docs/api/*.rst``) must document every name in the
``__all__`` of the namespaces they cover. The full site build (``make docs``, warnings
as errors) runs in CI, not here: it takes longer than a test should.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GUIDES = sorted((DOCS / "guides").glob("*.md"))

# Guides whose code needs more than jaxrank's own dependencies (the `test` extra has
# them all); without them the guide is skipped, not failed.
NEEDS = {
    "flax-optax.md": ("flax", "optax"),
    "keras.md": ("keras",),
    "migration.md": ("keras", "keras_rs", "rax", "optax"),
    "performance.md": ("matplotlib", "keras_rs", "rax"),
}

# Keras's layers and keras_rs rely on implicit rank promotion (a Dense bias added to a
# `(batch, list, units)` array), which the suite forbids (conftest.py): these guides
# run as a user's program would, with JAX's default ("allow"); the others under
# "raise".
ALLOW_RANK_PROMOTION = {"keras.md", "migration.md"}

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """The ```` ```python ```` blocks of a Markdown file, with their first lines."""
    text = path.read_text()
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in _BLOCK.finditer(text)
    ]


def test_there_are_guides():
    assert len(GUIDES) >= 9, GUIDES


@pytest.mark.parametrize("path", GUIDES, ids=[p.name for p in GUIDES])
def test_guide_code_runs(path, tmp_path, monkeypatch):
    for module in NEEDS.get(path.name, ()):
        pytest.importorskip(module)
    blocks = python_blocks(path)
    assert blocks, f"{path.name} has no code"
    monkeypatch.chdir(tmp_path)  # files a guide writes land in a scratch folder
    namespace = {"__name__": f"guide_{path.stem.replace('-', '_')}"}
    promotion = "allow" if path.name in ALLOW_RANK_PROMOTION else "raise"
    with jax.numpy_rank_promotion(promotion):
        for line, code in blocks:
            # The file and line in a traceback are the guide's own.
            exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)


def _documented(page: str) -> set[str]:
    """Names given to an autodoc or py: directive, or listed in an autosummary."""
    text = (DOCS / "api" / page).read_text()
    directive = r"^\.\. (?:auto(?!module)\w+|py:\w+):: ([\w.]+)"
    names = set(re.findall(directive, text, re.MULTILINE))
    for table in re.findall(r"^\.\. autosummary::\n\n((?:   \S.*\n)+)", text, re.M):
        names.update(line.strip() for line in table.splitlines())
    return {name.rsplit(".", 1)[-1] for name in names}


REFERENCE = {
    "jaxrank": "jaxrank.rst",
    "jaxrank.losses": "losses.rst",
    "jaxrank.metrics": "metrics.rst",
    "jaxrank.data": "data.rst",
    "jaxrank.keras": "keras.rst",
    "jaxrank.keras.losses": "keras.rst",
    "jaxrank.keras.metrics": "keras.rst",
}


@pytest.mark.parametrize("module", sorted(REFERENCE))
def test_reference_documents_every_public_name(module):
    if module.startswith("jaxrank.keras"):
        pytest.importorskip("keras")
    namespace = importlib.import_module(module)
    page = REFERENCE[module]
    text = (DOCS / "api" / page).read_text()
    assert f".. automodule:: {module}\n" in text, f"{page} lacks {module}'s docstring"
    submodules = {
        name
        for name in namespace.__all__
        if type(getattr(namespace, name)).__name__ == "module"
    }
    missing = set(namespace.__all__) - submodules - _documented(page)
    assert not missing, f"{page} does not document {sorted(missing)} of {module}"
    for name in submodules:  # a submodule has a page of its own
        assert f".. automodule:: {module}.{name}\n" in "".join(
            p.read_text() for p in (DOCS / "api").glob("*.rst")
        )


def test_reference_documents_no_private_or_stale_name():
    import jaxrank
    import jaxrank.data
    import jaxrank.metrics

    public = set(jaxrank.__all__) | set(jaxrank.losses.__all__)
    public |= set(jaxrank.metrics.__all__) | set(jaxrank.data.__all__)
    keras_pages = {"keras.rst"}
    for page in sorted((DOCS / "api").glob("*.rst")):
        if page.name in keras_pages:
            continue
        stale = _documented(page.name) - public
        assert not stale, f"{page.name} documents {sorted(stale)}, not public"


def test_readme_links_to_every_guide():
    readme = (ROOT / "README.md").read_text()
    links = set(re.findall(r"\]\((docs/[^)#]+)", readme))
    for path in GUIDES:
        assert f"docs/guides/{path.name}" in links, f"README does not link {path.name}"
    for link in links:
        assert (ROOT / link).exists(), f"README links to a missing {link}"


def test_site_version_is_the_package_version():
    import tomllib

    conf = (DOCS / "conf.py").read_text()
    assert 'tomllib.loads((ROOT / "pyproject.toml").read_text())' in conf
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"## {version}" in (ROOT / "CHANGELOG.md").read_text()


def _resolve(dotted: str):
    """The object a dotted name such as ``keras_rs.losses.ListMLELoss`` names."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_migration_tables_name_real_objects():
    for module in NEEDS["migration.md"]:
        pytest.importorskip(module)
    text = (DOCS / "guides" / "migration.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    names = {
        name
        for row in rows
        for name in re.findall(r"`((?:keras_rs|rax|optax|jaxrank)\.[\w.]+)`", row)
    }
    assert len(rows) >= 35 and len(names) >= 70, (len(rows), len(names))
    for name in sorted(names):
        assert callable(_resolve(name)), name
    # Every rax function and every keras_rs loss and metric has a row.
    import keras_rs
    import rax

    peers = {f"rax.{n}" for n in dir(rax) if not n.startswith("_")} - {
        "rax.types",
        "rax.utils",
    }
    peers |= {f"keras_rs.losses.{n}" for n in dir(keras_rs.losses) if n[0] != "_"}
    peers |= {f"keras_rs.metrics.{n}" for n in dir(keras_rs.metrics) if n[0] != "_"}
    assert peers <= names, sorted(peers - names)
