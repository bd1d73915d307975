"""``python tests/k8s_server ...`` (or ``python -m k8s_server`` with tests/ on sys.path)."""
import os
import sys

if not __package__:
    # Run as a directory: import the package by name from its parent, and do
    # not leave the package directory itself first on sys.path.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from k8s_server.cli import main
else:
    from .cli import main

sys.exit(main())
