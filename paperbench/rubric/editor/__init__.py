"""A local web editor for rubric files: ``paperbench rubric edit PATH``.

:mod:`.server` is the HTTP side (loopback, access token, atomic and conflict-checked saves,
validation and lint); ``static/`` holds the page, plain HTML, CSS and JavaScript that need no
build step.
"""

from paperbench.rubric.editor.server import EditorServer, EditorSession, SaveRefused

__all__ = ["EditorServer", "EditorSession", "SaveRefused"]
