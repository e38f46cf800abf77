#!/usr/bin/env python3
"""Use immp's HTTP API from Python (standard library only).

Environment: IMMP_HTTP (host:port of [http] listen) and IMMP_SMTP
(host:port of [smtp] listen), e.g. 127.0.0.1:3880 and 127.0.0.1:3025 for
"immp serve" without a config file. Exits non-zero if anything is wrong.
"""
import json
import os
import smtplib
import sys
import urllib.parse
import urllib.request
import uuid

API = "http://" + os.environ.get("IMMP_HTTP", "127.0.0.1:3880") + "/api/v1"
SMTP = os.environ.get("IMMP_SMTP", "127.0.0.1:3025")


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(API + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


subject = "Receipt " + uuid.uuid4().hex[:8]

# The application under test sends a message (here: smtplib).
host, port = SMTP.rsplit(":", 1)
with smtplib.SMTP(host, int(port)) as s:
    s.sendmail("shop@store.test", ["customer@example.com"],
               f"From: shop@store.test\r\nTo: customer@example.com\r\n"
               f"Subject: {subject}\r\n\r\nThank you for your order.\r\n")

# Wait for it (returns as soon as it is stored; 408 after the timeout).
q = urllib.parse.urlencode({"to": "customer@example.com", "subject": subject, "timeout": "10s"})
m = call("GET", "/messages/wait?" + q)
assert m["subject"] == subject and m["from"] == "shop@store.test", m

# Read it, mark it seen, list, delete.
detail = call("GET", "/messages/" + m["id"])
assert "Thank you for your order." in detail["text"], detail["text"]
assert call("PATCH", "/messages/" + m["id"], {"seen": True})["seen"] is True
listed = call("GET", "/messages?" + urllib.parse.urlencode({"q": f'subject:"{subject}"'}))
assert listed["total"] == 1, listed
call("DELETE", "/messages/" + m["id"])
print("ok", m["id"])
