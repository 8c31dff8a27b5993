"""Every metric ``/metrics`` exposes: stable names (``modelmon_`` prefix), types, labels and meaning.

``docs/prometheus.md`` documents the same list (a test keeps the two in step); dashboards under
``dashboards/`` query only these names. Renaming one breaks users' dashboards and alert rules: add a
new name instead.

Statuses are numbers, as MLRun's ``ResultStatusApp``: -1 irrelevant, 0 no_detection,
1 potential_detection, 2 detected. Times are epoch seconds, latencies seconds (Prometheus' base units).
"""

from __future__ import annotations

from modelmon.ui.metrics_exposition import Family

PROJECT = ("project",)
ENDPOINT = ("project", "endpoint_id", "endpoint", "model")
RESULT = (*ENDPOINT, "app", "result", "kind")
APP = ("project", "app")
FUNCTION = ("project", "function", "role")
#: The event-time span ``modelmon_endpoint_latency_max_seconds`` looks back over.
RECENT_MINUTES = 5

ENDPOINTS = Family("modelmon_endpoints", "gauge", "Model endpoints of the project.", PROJECT)
ENDPOINT_INFO = Family(
    "modelmon_endpoint_info", "gauge",
    "Always 1, one series per model endpoint: its name, model, model version and serving function.",
    (*ENDPOINT, "model_version", "function_uri"))
REQUESTS = Family("modelmon_endpoint_requests_total", "counter",
                  "Requests the endpoint answered without an error, as counted by the stream function.", ENDPOINT)
ERRORS = Family("modelmon_endpoint_errors_total", "counter",
                "Requests the endpoint answered with an error.", ENDPOINT)
LATENCY_SUM = Family(
    "modelmon_endpoint_latency_seconds_total", "counter",
    "Sum of the latencies of the requests in modelmon_endpoint_requests_total: rate(this) / rate(requests) is "
    "the average latency.", ENDPOINT)
LATENCY_MAX = Family(
    "modelmon_endpoint_latency_max_seconds", "gauge",
    f"Highest request latency in the last {RECENT_MINUTES} minutes (event time, predictions TSDB); absent "
    "without requests in them.", ENDPOINT)
LAST_REQUEST = Family("modelmon_endpoint_last_request_timestamp_seconds", "gauge",
                      "Event time of the endpoint's newest request.", ENDPOINT)
DRIFT_STATUS = Family(
    "modelmon_endpoint_drift_status", "gauge",
    "Highest result status of the endpoint's newest analysed window: -1 irrelevant, 0 no_detection, "
    "1 potential_detection, 2 detected.", ENDPOINT)

RESULT_VALUE = Family("modelmon_result_value", "gauge",
                      "Value of the latest window's result, per endpoint, app and result name.", RESULT)
RESULT_STATUS = Family(
    "modelmon_result_status", "gauge",
    "Status of the latest window's result: -1 irrelevant, 0 no_detection, 1 potential_detection, 2 detected.",
    RESULT)
RESULT_WINDOW_END = Family("modelmon_result_window_end_timestamp_seconds", "gauge",
                           "End of the window the latest result was computed on.", RESULT)
RESULT_THRESHOLD = Family(
    "modelmon_result_threshold", "gauge",
    "The potential/detected threshold the latest result was judged by, as the UI draws it (extra_data "
    "thresholds, share_thresholds or slo; else the histogram app's registered thresholds); level is potential "
    "or detected.", (*RESULT, "level"))
FEATURE_VALUE = Family(
    "modelmon_result_feature_value", "gauge",
    "Per-feature figure behind the latest result (extra_data.features), e.g. a feature's drift distance; "
    "measure names it (hellinger, tvd, kld, status, or value when the app gives one number).",
    (*ENDPOINT, "app", "result", "feature", "measure"))
APP_METRIC = Family("modelmon_app_metric", "gauge",
                    "Value of a metric of the latest window an app analysed, per endpoint and app.",
                    (*ENDPOINT, "app", "metric"))

APP_ENABLED = Family("modelmon_app_enabled", "gauge",
                     "1 per registered application that is enabled, 0 when disabled.", APP)
APP_FAILED = Family("modelmon_app_failed_windows", "gauge",
                    "Windows (endpoint x window) whose last analysis by the app raised.", APP)
APP_FAILED_24H = Family("modelmon_app_failed_windows_24h", "gauge",
                        "Of modelmon_app_failed_windows, those that failed in the last 24 hours.", APP)

SERVICE_UP = Family("modelmon_service_up", "gauge",
                    "1 when the local service (modelmon up) runs this home, else 0.", PROJECT)
FUNCTION_UP = Family("modelmon_function_up", "gauge",
                     "1 when the service's function is running, else 0 (starting, restarting, failed, stopped).",
                     FUNCTION)
FUNCTION_RESTARTS = Family(
    "modelmon_function_restarts_total", "counter",
    "Times the service restarted the function, as modelmon status reports it (from 0 again when the service or "
    "the function is started anew).", FUNCTION)
FUNCTION_LAG = Family("modelmon_function_lag_records", "gauge",
                      "Stream records the function has not consumed yet, over the streams it reads.", FUNCTION)

READ_SECONDS = Family("modelmon_exporter_read_seconds", "gauge",
                      "Time this scrape spent reading the home.", PROJECT)

#: In the order of the page.
FAMILIES = (
    ENDPOINTS, ENDPOINT_INFO, REQUESTS, ERRORS, LATENCY_SUM, LATENCY_MAX, LAST_REQUEST, DRIFT_STATUS,
    RESULT_VALUE, RESULT_STATUS, RESULT_WINDOW_END, RESULT_THRESHOLD, FEATURE_VALUE, APP_METRIC,
    APP_ENABLED, APP_FAILED, APP_FAILED_24H, SERVICE_UP, FUNCTION_UP, FUNCTION_RESTARTS, FUNCTION_LAG,
    READ_SECONDS,
)
