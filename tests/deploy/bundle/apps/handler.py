"""The test bundle's app glue: a stand-in for the repository's ``apps/handler.py`` (this bundle is only
deployed to the test dashboard, which runs nothing); an app embedded from this bundle carries it."""

from __future__ import annotations


def init_context(context):
    context.user_data.started = True


def handler(context, event):
    return {"windows": 1}
