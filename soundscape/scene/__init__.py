"""The scene language: YAML → validated, immutable `Scene`."""

from .loader import load, loads
from .model import Scene, schema

__all__ = ["Scene", "load", "loads", "schema"]
