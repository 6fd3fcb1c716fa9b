"""`soundscape preview`: a scene playing live in the browser, with its diagram and buttons."""

from .server import PreviewServer, serve
from .session import LiveScene

__all__ = ["LiveScene", "PreviewServer", "serve"]
