"""Each channel against a real receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

import pytest
from receivers import HttpReceiver, SmtpReceiver, self_signed_cert

from modelmon.alerts.channels import DeliveryError, channel_for
from modelmon.alerts.channels.email import message_id
from modelmon.core.errors import ConfigError

PAYLOAD = {"key": "c1.ep1.drift.w1.active", "summary": "drift detected on churn", "severity": "high",
           "endpoint_name": "churn", "app": "drift", "result": "general_drift", "value": 0.71}


@pytest.fixture
def http():
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


def test_webhook_posts_json_with_signature_and_idempotency_key(http, monkeypatch, caplog):
    monkeypatch.setenv("HOOK_URL", http.url)
    monkeypatch.setenv("HOOK_KEY", "s3cret-key")
    channel = channel_for({"kind": "webhook", "url_env": "HOOK_URL", "secret_env": "HOOK_KEY"})
    with caplog.at_level(logging.DEBUG):
        channel.send(PAYLOAD["key"], PAYLOAD)
    [request] = http.requests
    assert json.loads(request["body"]) == PAYLOAD
    assert request["headers"]["Idempotency-Key"] == PAYLOAD["key"]
    expected = hmac.new(b"s3cret-key", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Modelmon-Signature"] == f"sha256={expected}"
    assert channel.describe() == f"webhook 127.0.0.1:{http.port}"
    assert "s3cret" not in caplog.text


def test_webhook_without_secret_has_no_signature(http, monkeypatch):
    monkeypatch.setenv("HOOK_URL", http.url)
    channel_for({"kind": "webhook", "url_env": "HOOK_URL"}).send("k1", PAYLOAD)
    assert "X-Modelmon-Signature" not in http.requests[0]["headers"]


def test_webhook_errors_name_the_host_not_the_url(monkeypatch):
    receiver = HttpReceiver(status=500).start()
    try:
        monkeypatch.setenv("HOOK_URL", receiver.url + "?token=abc")
        with pytest.raises(DeliveryError, match=r"webhook to 127\.0\.0\.1:\d+: HTTP 500") as info:
            channel_for({"kind": "webhook", "url_env": "HOOK_URL"}).send("k", PAYLOAD)
        assert "token" not in str(info.value)
    finally:
        receiver.stop()
    with pytest.raises(DeliveryError, match=r"ConnectionRefusedError|URLError"):
        channel_for({"kind": "webhook", "url_env": "HOOK_URL"}).send("k", PAYLOAD)  # nobody listens now
    monkeypatch.delenv("HOOK_URL")
    with pytest.raises(DeliveryError, match="environment variable 'HOOK_URL' is not set"):
        channel_for({"kind": "webhook", "url_env": "HOOK_URL"}).send("k", PAYLOAD)


def test_slack_sends_text_and_blocks(http, monkeypatch):
    monkeypatch.setenv("SLACK_URL", http.url)
    channel_for({"kind": "slack", "url_env": "SLACK_URL"}).send("k1", PAYLOAD)
    body = json.loads(http.requests[0]["body"])
    assert body["text"] == "drift detected on churn"
    assert body["blocks"][0]["text"]["text"] == "drift detected on churn"
    assert "*severity*: high" in body["blocks"][1]["elements"][0]["text"]


def test_email_plain_without_login():
    smtp = SmtpReceiver().start()
    try:
        spec = {"kind": "email", "host": "127.0.0.1", "port": smtp.port, "tls": "none",
                "from": "mm@example.com", "to": ["ops@example.com"]}
        channel_for(spec).send(PAYLOAD["key"], PAYLOAD)
    finally:
        smtp.stop()
    [msg] = smtp.messages
    assert msg["Subject"] == "[modelmon high] drift detected on churn"
    assert msg["To"] == "ops@example.com"
    assert msg["Message-ID"] == message_id(PAYLOAD["key"])
    assert '"general_drift"' in msg.get_payload()


def test_email_starttls_and_login_with_self_signed_cert(tmp_path, monkeypatch):
    cert, key = self_signed_cert(tmp_path)
    smtp = SmtpReceiver(cert=(cert, key), users={"alerts": "pw-123"}).start()
    monkeypatch.setenv("SMTP_USER", "alerts")
    monkeypatch.setenv("SMTP_PASSWORD", "pw-123")
    spec = {"kind": "email", "host": "localhost", "port": smtp.port, "tls": "starttls", "ca_file": str(cert),
            "user_env": "SMTP_USER", "password_env": "SMTP_PASSWORD", "to": "ops@example.com"}
    try:
        channel_for(spec).send("k-tls", PAYLOAD)
        monkeypatch.setenv("SMTP_PASSWORD", "wrong")
        with pytest.raises(DeliveryError, match=r"email to localhost:\d+: (SMTP 535|SMTPServerDisconnected)") as info:
            channel_for(spec).send("k-bad", PAYLOAD)
        assert "wrong" not in str(info.value)
    finally:
        smtp.stop()
    assert smtp.logins == ["alerts"]
    assert [m["Message-ID"] for m in smtp.messages] == [message_id("k-tls")]


def test_log_channel_and_bad_specs(caplog):
    with caplog.at_level(logging.WARNING, logger="modelmon.alerts"):
        channel_for({"kind": "log"}).send("k1", PAYLOAD)
    assert "alert k1: drift detected on churn" in caplog.text
    with pytest.raises(ConfigError, match="unknown notification kind 'pager'"):
        channel_for({"kind": "pager"})
    with pytest.raises(ConfigError, match="tls must be one of"):
        channel_for({"kind": "email", "host": "h", "tls": "maybe", "to": ["a@b"]})
    with pytest.raises(ConfigError, match="'to' needs"):
        channel_for({"kind": "email", "host": "h"})
