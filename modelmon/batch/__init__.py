"""Batch inference: predict a dataset offline and record it into monitoring as tracked traffic."""
