"""`auditlake receive` as a real process: HEC and plain routes, auth, limits and codes, then the drain into raw."""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path

import duckdb
import pytest
import requests

from pipelines.receiver.push_drain import drain_push_spool
from pipelines.receiver.spool_segments import rejected_count
from tests.receiver.conftest import TOKEN

HEC = "/services/collector/event"


def record(n: int, **extra) -> dict:
    return {
        "version": "1.1",
        "id": f"TS-00000000-0000-4000-8000-{n:012d}",
        "ts": "2026-11-30T10:00:00Z",
        "orgId": 0,
        "userGUID": None,
        "userName": "alice",
        "cIP": "",
        "type": "LOGIN_SUCCESSFUL",
        "desc": "User login successful",
        "data": {"userName": "alice"},
        **extra,
    }


def api_record(n: int) -> dict:
    """The logs API's double-encoded shape."""
    return {"date": "2026-11-30T10:00:00.123456Z", "log": json.dumps(record(n))}


def splunk(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Splunk {token}"}


def raw_rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_framing_and_shape_is_acknowledged_then_drained_once(start_receiver, warehouse):
    receiver = start_receiver()
    url = receiver.url
    # HEC: concatenated envelopes, no Content-Type, gzip; the event either the API record or the record object.
    hec_body = (json.dumps({"time": 1764496800.5, "host": "ts", "event": api_record(1)}) + "\n").encode()
    hec_body += json.dumps({"time": "1764496801", "event": record(2)}).encode()
    hec_body += json.dumps({"event": json.dumps(record(3))}).encode()  # event as a JSON string
    answer = requests.post(url + HEC, data=gzip.compress(hec_body), headers={**splunk(), "Content-Encoding": "gzip"})
    assert (answer.status_code, answer.json()) == (200, {"text": "Success", "code": 0})
    # /services/collector and /event/1.0 are the same protocol.
    one = json.dumps({"event": record(4)}).encode()
    assert requests.post(url + "/services/collector", data=one, headers=splunk()).status_code == 200
    assert requests.post(url + HEC + "/1.0", data=one, headers=splunk()).status_code == 200  # a repeat of 4
    # Plain: JSON array with Basic (token as password), NDJSON with Bearer, a single object, no Content-Type at all.
    basic = base64.b64encode(f"thoughtspot:{TOKEN}".encode()).decode()
    array = json.dumps([api_record(5), record(6)]).encode()
    assert requests.post(url + "/ingest", data=array, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    ndjson = (json.dumps(record(7)) + "\n" + json.dumps({"log": record(8), "date": 1764496800.25}) + "\n").encode()
    bearer = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
    assert requests.post(url + "/ingest", data=gzip.compress(ndjson), headers=bearer).status_code == 200
    assert requests.post(url + "/", data=json.dumps(record(9)), headers=bearer).status_code == 200
    # Valid JSON that is no ThoughtSpot record: acknowledged (a 400 would make the sender drop it), quarantined.
    assert requests.post(url + "/ingest", data=b'{"hello": "world"}', headers=bearer).status_code == 200
    # HEC raw takes any text; a line that is not JSON is quarantined too.
    raw = b"this is not json\n"
    assert requests.post(url + "/services/collector/raw", data=raw, headers=splunk()).status_code == 200

    receiver.stop()  # seals the open segment (a live receiver's open segment is drained once it is sealed)
    summary = drain_push_spool(progress=lambda _: None, folder=receiver.spool)
    assert summary.error is None, summary.error
    assert (summary.bodies, summary.events, summary.new_events, summary.quarantined) == (8, 9, 9, 2)  # record 4 twice
    ids = raw_rows(
        warehouse, "select id, _auditlake_delivery, source_instance from raw_thoughtspot.security_audit_events"
    )
    assert sorted(i for i, _, _ in ids) == sorted(record(n)["id"] for n in range(1, 10))
    assert {(d, s) for _, d, s in ids} == {("push", "acme.thoughtspot.cloud")}
    dates = dict(
        raw_rows(
            warehouse, "select id, strftime(date, '%Y-%m-%dT%H:%M:%S.%f') from raw_thoughtspot.security_audit_events"
        )
    )
    assert dates[record(1)["id"]] == "2026-11-30T10:00:00.123456"  # the record's own date
    assert dates[record(2)["id"]] == "2025-11-30T10:00:01.000000"  # HEC time (a numeric string)
    assert dates[record(8)["id"]] == "2025-11-30T10:00:00.250000"  # an epoch double `date`
    reasons = [r[0] for r in raw_rows(warehouse, "select reason from raw_thoughtspot.quarantined_records")]
    assert len(reasons) == 2 and all(reason.startswith("pushed") for reason in reasons)
    assert not list(receiver.spool.glob("seg-*.spool"))  # drained segments are gone

    # A sender's retry of an acknowledged batch: loaded again, absorbed by the merge.
    again = start_receiver(port=receiver.port)
    assert requests.post(again.url + HEC, data=one, headers=splunk()).status_code == 200
    again.stop()
    summary = drain_push_spool(progress=lambda _: None, folder=receiver.spool)
    assert (summary.error, summary.bodies, summary.events, summary.new_events) == (None, 1, 1, 0)
    assert raw_rows(warehouse, "select count(*) from raw_thoughtspot.security_audit_events") == [(9,)]


def test_tokens_limits_and_bodies_that_can_never_succeed(start_receiver, warehouse):
    receiver = start_receiver(extra=["--max-body-mb", "1", "--rate-limit", "1", "--burst", "30"])
    url = receiver.url
    body = json.dumps({"event": record(1)})
    assert requests.post(url + HEC, data=body).json() == {"text": "Token is required", "code": 2}
    wrong = requests.post(url + HEC, data=body, headers=splunk("wrong-token-wrong-token"))
    assert (wrong.status_code, wrong.json()["code"]) == (403, 4)
    assert requests.post(url + HEC, data=body, headers={"Authorization": "Digest abc"}).status_code == 401
    # ?token= only when enabled (HEC's allowQueryStringAuth), and never with the token in any log.
    query = requests.post(url + HEC + f"?token={TOKEN}", data=body)
    assert (query.status_code, query.json()["code"]) == (400, 16)
    health = requests.get(url + "/services/collector/health")
    assert (health.status_code, health.json()) == (200, {"text": "HEC is healthy", "code": 17})

    empty = requests.post(url + HEC, data=b"", headers=splunk())
    assert (empty.status_code, empty.json()["code"]) == (400, 5)
    malformed = requests.post(url + HEC, data=b'{"event": {"id": ', headers=splunk())
    assert (malformed.status_code, malformed.json()["code"]) == (400, 6)
    bad_gzip = requests.post(url + "/ingest", data=b"\x1f\x8bnot gzip", headers=splunk())
    assert bad_gzip.status_code == 400
    oversized = requests.post(url + "/ingest", data=b"[" + b" " * (2 * 1024 * 1024) + b"]", headers=splunk())
    assert oversized.status_code == 413
    bomb = gzip.compress(b"[" + b" " * (3 * 1024 * 1024) + b"]")  # small on the wire, too large inflated
    assert (
        requests.post(url + "/ingest", data=bomb, headers={**splunk(), "Content-Encoding": "gzip"}).status_code == 413
    )
    assert rejected_count(receiver.spool) == 4  # the refused bodies are kept aside and counted

    # The rate limit answers 503 (retried by every sender), never 429 (dropped by several).
    statuses = [requests.post(url + HEC, data=body, headers=splunk()).status_code for _ in range(60)]
    assert statuses[0] == 200 and 503 in statuses and set(statuses) == {200, 503}
    busy = requests.post(url + HEC, data=body, headers=splunk())
    assert busy.status_code == 503 and busy.json()["code"] == 9 and busy.headers["Retry-After"]

    receiver.stop()
    log = receiver.log.read_text()
    assert TOKEN not in log and "wrong-token" not in log and '"id"' not in log


def test_a_full_spool_answers_503_and_health_says_queues_full(start_receiver, warehouse):
    receiver = start_receiver(extra=["--max-spool-mb", "1"])
    big = json.dumps([record(n, desc="x" * 1200) for n in range(400)]).encode()
    assert 0.5 * 2**20 < len(big) < 2**20  # two fill the 1 MB spool
    statuses = [requests.post(receiver.url + "/ingest", data=big, headers=splunk()).status_code for _ in range(3)]
    assert statuses == [200, 200, 503]
    health = requests.get(receiver.url + "/services/collector/health")
    assert (health.status_code, health.json()["code"]) == (503, 18)
    receiver.stop()
    assert drain_push_spool(progress=lambda _: None, folder=receiver.spool).new_events == 400
    # Drained: the next receiver accepts again.
    again = start_receiver(extra=["--max-spool-mb", "1"], port=receiver.port)
    assert requests.post(again.url + "/ingest", data=big, headers=splunk()).status_code == 200
    # Refused bodies are kept up to a tenth of the spool limit, so a sender looping on garbage cannot fill the disk.
    assert requests.post(again.url + "/ingest", data=b"{" * 50_000, headers=splunk()).status_code == 400
    assert requests.post(again.url + "/ingest", data=b"{" * 90_000, headers=splunk()).status_code == 400
    assert rejected_count(again.spool) == 1


def test_beyond_loopback_needs_tls_or_an_explicit_flag_and_a_token_is_required(warehouse):
    import subprocess
    import sys

    def receive(*extra: str, token: str | None = TOKEN) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
        env["SOURCES__THOUGHTSPOT__BASE_URL"] = "https://acme.thoughtspot.cloud"
        if token:
            env["SOURCES__THOUGHTSPOT__PUSH_TOKEN"] = token
        command = [sys.executable, "-m", "pipelines.cli", "receive", *extra]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    refused = receive("--host", "0.0.0.0")
    assert refused.returncode == 2 and "--tls-cert" in refused.stderr and "--insecure-bind" in refused.stderr
    half = receive("--host", "0.0.0.0", "--tls-cert", "cert.pem")
    assert half.returncode == 2 and "go together" in half.stderr
    missing = receive(token=None)
    assert missing.returncode == 2 and "SOURCES__THOUGHTSPOT__PUSH_TOKEN" in missing.stderr
    short = receive(token="short")
    assert short.returncode == 2 and "shorter than" in short.stderr and "short" not in short.stdout


def test_tls_with_a_certificate_and_key(start_receiver, warehouse, tmp_path):
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    receiver = start_receiver(extra=["--tls-cert", str(cert_path), "--tls-key", str(key_path)], scheme="https")
    url = f"https://localhost:{receiver.port}"
    answer = requests.post(url + HEC, data=json.dumps({"event": record(1)}), headers=splunk(), verify=str(cert_path))
    assert (answer.status_code, answer.json()["code"]) == (200, 0)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://127.0.0.1:{receiver.port}" + HEC, data=b"{}", headers=splunk(), timeout=5)
