"""``python -m paperbench`` runs the command line."""

from paperbench.cli.app import main

main()
