from __future__ import annotations

import sys

from modelmon.cli import main

sys.exit(main())
