"""paperbench: measure how well AI agents replicate machine-learning research papers.

The pipeline reads in the package layout: paper bundles (``papers``) and their rubric trees
(``rubric``), sandboxes that hold untrusted code (``sandbox``), and the command line (``cli``).
``secrets`` keeps every secret the harness knows, so that every file it writes is redacted.
"""

__version__ = "0.1.0"
