"""Alerts: configs, evaluation of writer events into activations, notifications and their delivery."""
