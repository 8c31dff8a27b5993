"""Alerts: configs, evaluation of writer events into activations, notifications and their delivery.

* :mod:`~modelmon.alerts.configs` — :class:`AlertConfig` (MLRun's shape) and its KV store;
* :mod:`~modelmon.alerts.evaluator` — writer events (and the no-traffic check) → activations and
  :class:`~modelmon.alerts.notification.Notification` s;
* :mod:`~modelmon.alerts.delivery` and :mod:`~modelmon.alerts.channels` — the outbox and the channels.

The ``alerts`` function (``functions/alerts/``) runs them beside the writer, on its own consumer group of the
writer stream. Quick start: ``MODELMON_ALERT_WEBHOOK_URL`` in the alerts function's environment posts every
detected or suspected result and every app failure there. Otherwise::

    project.store_alert_config({"name": "drift", "severity": "high",
                                "trigger": {"events": ["data_drift_detected"]},
                                "criteria": {"count": 3, "period": "30m"}, "cooldown": "1h",
                                "notifications": [{"kind": "webhook", "url_env": "MY_HOOK_URL"}]})
    project.enable_model_monitoring()  # brings the alerts function up once a config exists
    project.get_alert_activations(active=True)

or ``modelmon alerts add --file drift.yaml`` / ``list`` / ``activations --active`` / ``reset NAME``.
"""
