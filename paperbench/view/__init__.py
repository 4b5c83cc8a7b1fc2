"""The run viewer, ``paperbench view``: run directories in the browser, and human review of
their grades.

The modules, in the order data flows through them: :mod:`files` (what may be opened in a run:
inside it, never through a link, bounded), :mod:`lines` (large and growing text files a page at
a time, searched within bounds), :mod:`transcript` (the agent's events as rows), :mod:`catalog`
(runs found under the folders given, their rows and overviews), :mod:`server` (the loopback
HTTP server behind a token). ``static/`` holds the page: plain HTML, CSS and JavaScript with no
build step, that shows every string from a run as text. Overrides themselves are
:mod:`paperbench.grading.overrides`.
"""
