"""The reference a batch's drift is measured against: always explicit, never the batch by accident.

A first run of a job used to make the batch its own reference silently, so a shifted batch showed no
drift. Now the reference is the endpoint's registered one, ``reference_data``, or the batch itself only
when asked (``self_reference=True``, ``--self-reference``), and results say which.
"""

from __future__ import annotations

import enum

import pandas as pd

from modelmon.endpoints.record import ModelEndpoint


class Reference(enum.StrEnum):
    """Where the reference the endpoint's drift is measured against came from (``BatchInferenceResult.reference``)."""

    GIVEN = "reference_data"  # registered now from reference_data
    BATCH = "self_reference"  # this batch registered as the reference, on request
    ENDPOINT = "endpoint"  # the endpoint's registered reference, unchanged
    NONE = "none"  # the endpoint has no reference: drift apps answer irrelevant


def check_reference_options(endpoint_id: str | None, reference_data: pd.DataFrame | None,
                             self_reference: bool) -> None:
    """``ValueError`` for reference options that contradict each other or cannot apply."""
    if not isinstance(self_reference, bool):
        raise ValueError(f"self_reference must be True or False, got {self_reference!r}")
    if reference_data is not None and self_reference:
        raise ValueError("pass reference_data or self_reference=True, not both")
    if reference_data is not None and not isinstance(reference_data, pd.DataFrame):
        raise ValueError(f"reference_data must be a DataFrame, got {type(reference_data).__name__}")
    if endpoint_id is not None and (reference_data is not None or self_reference):
        raise ValueError(f"reference_data and self_reference apply to the job's own endpoint; endpoint_id "
                         f"{endpoint_id!r} keeps its registered reference (register_model_endpoint(..., "
                         "reference_data=...) changes it)")


def reference_source(existing: ModelEndpoint | None, reference_data: pd.DataFrame | None,
                     self_reference: bool) -> Reference:
    """What the endpoint's drift is measured against after this batch (a :class:`Reference` value)."""
    if reference_data is not None:
        return Reference.GIVEN
    if self_reference:
        return Reference.BATCH
    return Reference.ENDPOINT if existing is not None and existing.feature_stats else Reference.NONE


def no_reference_message(name: str) -> str:
    """Why a drift analysis of endpoint ``name`` cannot run, and the two ways to make it run."""
    return (f"endpoint {name!r} has no reference data to compare the batch with: pass reference_data "
            "(--reference FILE), e.g. the data the model was trained on, or self_reference=True "
            "(--self-reference) to make this batch the reference (the batch is then compared with itself)")
