"""End to end through a running gunicorn: a standard OAuth client (Authlib, private_key_jwt) gets
a token as the court, sends a conviction to the provider, the provider reads it, IOM cannot."""

from __future__ import annotations

import json
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc.jwk import RSAKey

from tests.support.server import RunningHub
from tests.support.world import conviction_event


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's private_key_jwt with the hub's rule: assertions expire within 5 minutes."""

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return private_key_jwt_sign(
            auth.client_secret,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            expires_in=60,
        )


def session_for(hub: RunningHub, agency_id: str, scope: str) -> OAuth2Session:
    creds = hub.credentials[agency_id]
    session = OAuth2Session(
        creds["client_id"],
        RSAKey.import_key(creds["private_key_pem"]),
        token_endpoint_auth_method="private_key_jwt",
        scope=scope,
    )
    session.register_client_auth_method(ShortLivedPrivateKeyJWT(hub.token_endpoint))
    token = session.fetch_token(hub.token_endpoint, grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer" and token["scope"] == scope
    return session


def test_court_to_provider_and_no_one_else(hub_server: RunningHub) -> None:
    court = session_for(hub_server, "courts-sheffield", "messages:send messages:read")
    event = conviction_event()
    sent = court.post(
        hub_server.url + "/v1/messages",
        json=event,
        headers={"Content-Type": "application/cloudevents+json", "Idempotency-Key": event["id"]},
    )
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["id"]

    provider = session_for(hub_server, "provider-doncaster-alliance", "inbox:read")
    page = provider.get(hub_server.url + "/v1/inbox").json()
    assert [item["message"]["id"] for item in page["items"]] == [message_id]
    item = page["items"][0]
    assert item["message"]["data"]["offence"]["code"] == "TH68010"
    assert item["message"]["subject"] == "pnc:2011/0482113C"
    ack = provider.post(f"{hub_server.url}/v1/inbox/{item['id']}/ack")
    assert ack.status_code == 200

    iom = session_for(hub_server, "iom-sheffield", "inbox:read messages:read")
    for response in (
        iom.get(f"{hub_server.url}/v1/inbox/{item['id']}"),
        iom.post(f"{hub_server.url}/v1/inbox/{item['id']}/ack"),
        iom.get(f"{hub_server.url}/v1/messages/{message_id}"),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
    assert iom.get(hub_server.url + "/v1/inbox").json()["items"] == []

    receipts = court.get(f"{hub_server.url}/v1/messages/{message_id}").json()["receipts"]
    assert (
        receipts[0]["recipient"] == "provider-doncaster-alliance" and receipts[0]["acknowledgedAt"]
    )


def test_client_secret_basic_and_discovery(hub_server: RunningHub) -> None:
    meta = requests.get(
        hub_server.url + "/.well-known/oauth-authorization-server", timeout=5
    ).json()
    assert meta["token_endpoint"] == hub_server.token_endpoint
    creds = hub_server.credentials["probation-south-yorkshire"]
    session = OAuth2Session(
        creds["client_id"], creds["client_secret"], token_endpoint_auth_method="client_secret_basic"
    )
    token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    assert token["expires_in"] > 0
    assert session.get(hub_server.url + "/v1/inbox").status_code == 200
    metrics = requests.get(hub_server.url + "/metrics", timeout=5).text
    assert "hub_http_requests_total" in metrics


def test_logs_are_json_without_personal_data(hub_server: RunningHub) -> None:
    court = session_for(hub_server, "courts-sheffield", "messages:send")
    court.post(hub_server.url + "/v1/messages", json=conviction_event())
    court.post(
        hub_server.url + "/v1/messages",
        json=conviction_event(source="iom-sheffield"),
    )
    text = hub_server.log.read_text()
    # After the banner `hub serve` prints for people, every line is JSON.
    machine = text.split("health:", 1)[1].splitlines()[1:]
    lines = [json.loads(line) for line in machine if line.strip()]
    assert any(line["event"] == "gunicorn.error" for line in lines)
    refused = [line for line in lines if line["event"] == "request.refused"]
    assert refused and refused[0]["problem"] == "source-mismatch" and refused[0]["request_id"]
    assert all("request_id" in line for line in lines if line["event"] == "http.request")
    log = hub_server.log.read_text()
    for personal in ("2011/0482113C", "Theft from a shop", "Sheffield Magistrates"):
        assert personal not in log
