#!/bin/sh
# Use immp's HTTP API from a shell with curl. Environment: IMMP_HTTP and
# IMMP_SMTP (host:port), as for api.py. Exits non-zero on any failure.
set -eu
api="http://${IMMP_HTTP:-127.0.0.1:3880}/api/v1"
smtp="${IMMP_SMTP:-127.0.0.1:3025}"
subject="Report $$-$(date +%s)"

# Send with curl's SMTP client (the application under test would do this).
printf 'From: reports@app.test\r\nTo: ops@example.com\r\nSubject: %s\r\n\r\nAll green.\r\n' "$subject" |
	curl -sS --fail "smtp://$smtp" --mail-from reports@app.test --mail-rcpt ops@example.com --upload-file -

# Wait for it; curl fails (exit 22) on the 408 of a timeout.
msg=$(curl -sS --fail --get "$api/messages/wait" \
	--data-urlencode "to=ops@example.com" --data-urlencode "subject=$subject" --data-urlencode "timeout=10s")
id=$(printf '%s' "$msg" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$id" ] || { echo "no id in $msg" >&2; exit 1; }

# The source, then delete it.
curl -sS --fail "$api/messages/$id/raw" | grep -q "All green."
curl -sS --fail -X DELETE "$api/messages/$id"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$api/messages/$id")
[ "$code" = 404 ] || { echo "still there after DELETE: $code" >&2; exit 1; }
echo "ok $id"
