"""Foundations every other part of modelmon builds on, and which import nothing of modelmon's features.

``config`` (every setting), ``errors`` (the error tree), ``paths`` (every stream, table and object path,
and the deployed function names), ``results`` (MLRun's result and metric contract), ``timeutil``
(epoch-millisecond time).
"""
