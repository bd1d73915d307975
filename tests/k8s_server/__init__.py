"""A Kubernetes API server for tests; see README.md."""
from .server import TestAPIServer, start_server

__all__ = ["TestAPIServer", "start_server"]
