"""The ``modelmon`` command line. Each sub-command lives in its own module with a ``register``.

A command module defines ``register(subparsers) -> None``, which adds its parser and sets
``func=<callable(args) -> int>`` as the parser default. Add the module's name to ``COMMANDS`` in
:mod:`modelmon.cli.console`.
"""

from __future__ import annotations

from modelmon.cli.console import main

__all__ = ["main"]
