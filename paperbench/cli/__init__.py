"""The `paperbench` command line: one module per command group, thin over library functions."""
