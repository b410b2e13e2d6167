"""Sphinx configuration of the site: ``make docs`` builds it into docs/_build/html.

Why Sphinx (not mkdocs-material with mkdocstrings): the docstrings are the source of
truth, and they are Google style with reStructuredText inside (``:math:`` roles and
``.. math::`` blocks, ``:func:``/``:class:`` cross-references, double-backtick
literals). Sphinx with napoleon reads them as written; mkdocstrings
renders Markdown and would need a conversion layer for every role. ``-n -W`` then
makes every warning an error and checks that every cross-reference resolves. The
guides are Markdown (MyST), so they read as plain files on a code host too, and
tests/test_guides.py runs their code.

The API reference is autodoc over the public namespaces (``docs/api/*.rst``, one
page per namespace; the tests check that each lists every name in ``__all__``).
"""

import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))  # the source tree, installed or not
# jaxrank.keras needs Keras's JAX backend; set it before anything imports Keras.
os.environ.setdefault("KERAS_BACKEND", "jax")

project = "jaxrank"
author = "the jaxrank authors"
copyright = "the jaxrank authors"
# The version shown in the site is pyproject.toml's, the one the package reports.
release = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath", "substitution"]
myst_substitutions = {"version": release}
myst_heading_anchors = 3

autosummary_generate = False  # tables only; the entries are on the same page
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the Args sections give shapes and types
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Math is converted to MathML at build time (docutils' own LaTeX converter), which
# browsers render natively: no script, no network, and a formula the converter cannot
# read is a build warning, so an error (see _mathml below).
html_math_renderer = "mathml"

html_theme = "furo"
html_title = f"jaxrank {release}"
html_static_path = ["_static"]
html_css_files = ["math.css"]

# Cross-references must resolve (``make docs`` runs with -n): the few targets outside
# the site (NumPy and JAX types) or private to a class are listed here.
nitpicky = True
nitpick_ignore = [
    ("py:class", "numpy.ndarray"),
    ("py:class", "jax.jaxlib._jax.Array"),
    ("py:meth", "get_config"),
    ("py:meth", "_relevance"),
    ("py:meth", "_values"),
]


def _same_object_elsewhere(app, env, node, contnode):
    """Resolves ``jaxrank.losses.X`` to ``jaxrank.X``: one object, documented once."""
    target = node.get("reftarget", "")
    prefix = "jaxrank.losses."
    if node.get("refdomain") != "py" or not target.startswith(prefix):
        return None
    import jaxrank

    name = target.removeprefix(prefix)
    if name not in jaxrank.__all__:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(
        env,
        node["refdoc"],
        app.builder,
        node["reftype"],
        "jaxrank." + name,
        node,
        contnode,
    )


# LaTeX that docutils' converter lacks, rewritten to what it reads.
_TEX_REWRITES = {r"\dots": r"\ldots", r"\textstyle": ""}


def _mathml(translator, node, block):
    from docutils import nodes
    from docutils.utils.math import latex2mathml
    from sphinx.util import logging

    tex = node.astext()
    for old, new in _TEX_REWRITES.items():
        tex = tex.replace(old, new)
    try:
        mathml = latex2mathml.tex2mathml(tex, as_block=block)
    except Exception as error:  # noqa: BLE001 - any failure is reported, not raised
        logging.getLogger(__name__).warning(
            "math not converted to MathML (%s): %s", error, tex, location=node
        )
        mathml = f"<code>{translator.encode(tex)}</code>"
    translator.body.append(f'<div class="math">{mathml}</div>' if block else mathml)
    raise nodes.SkipNode


def setup(app):
    app.connect("missing-reference", _same_object_elsewhere)
    app.add_html_math_renderer(
        "mathml",
        (lambda self, node: _mathml(self, node, block=False), None),
        (lambda self, node: _mathml(self, node, block=True), None),
    )
