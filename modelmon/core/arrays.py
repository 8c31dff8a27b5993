"""The numpy array types in modelmon's signatures, spelled once.

``numpy.typing.NDArray`` needs its scalar type under mypy's strict mode; these aliases name the three
that the statistics and the stream function pass around.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt

#: Float64 values: probabilities, distances, event times in ms as read (NaN where unreadable).
FloatArray: TypeAlias = npt.NDArray[np.float64]
#: Int64 values: counts, epoch milliseconds, row positions.
IntArray: TypeAlias = npt.NDArray[np.int64]
#: Masks (which features are scored, which requests are errors).
BoolArray: TypeAlias = npt.NDArray[np.bool_]
