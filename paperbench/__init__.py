"""paperbench: measure how well AI agents replicate machine-learning research papers.

The pipeline reads in the package layout: paper bundles (``papers``) and their rubric trees
(``rubric``), sandboxes that hold untrusted code (``sandbox``), and the command line (``cli``).
"""

__version__ = "0.1.0"
