"""The local Nuclio runtime: runs a bundle's ``function.yaml`` functions on one machine.

:class:`LocalRuntime` starts each function in its own process with Nuclio's trigger semantics
(cron, http, v3ioStream, kafka-cluster); ``modelmon run`` is its command line.
"""

from __future__ import annotations

from modelmon.local_nuclio.function_child import FunctionStatus
from modelmon.local_nuclio.handler import load_handler
from modelmon.local_nuclio.host import FunctionHost
from modelmon.local_nuclio.spec import load_bundle
from modelmon.local_nuclio.supervisor import LocalRuntime

__all__ = ["FunctionHost", "FunctionStatus", "LocalRuntime", "load_bundle", "load_handler"]
