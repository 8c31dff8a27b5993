"""Everything about monitoring applications.

``sdk`` (what an app author writes against: base class, context, artifacts, thresholds, evaluate),
``builtin`` (the built-in apps), ``registry`` (registered apps in KV), ``source`` (packaging an app's
code for its function) and ``runner`` (the app function's window loop).
"""
