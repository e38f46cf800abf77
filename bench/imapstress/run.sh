#!/usr/bin/env bash
# Runs Dovecot's imaptest in stress mode against immp and against a
# private Dovecot 2.3 side by side, on loopback, and prints imaptest's
# totals for each. Needs: an imaptest binary ($IMAPTEST), dovecot
# (Debian's dovecot-imapd) and python3.
#
#   IMAPTEST=/path/to/imaptest bench/imapstress/run.sh [clients] [secs]
#
# Both servers get the same mbox (mkmbox.py, 300 messages), the same user
# and password and the same imaptest profile; each run starts from an
# empty mailbox. Defaults: 8 clients, 30 s.
set -euo pipefail
clients=${1:-8}
secs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${IMAPTEST:?set IMAPTEST to the imaptest binary}"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ -f "$work/dc/run/master.pid" ] && kill "$(cat "$work/dc/run/master.pid")" 2>/dev/null; rm -rf "$work"' EXIT
python3 "$here/mkmbox.py" 300 > "$work/stress.mbox"
(cd "$repo" && go build -o "$work/immp" ./cmd/immp)

# immp: the built-in test-bed profile (accounts made on first login).
mkdir -p "$work/immp-run"
(cd "$work/immp-run" && exec "$work/immp" serve >"$work/immp.log" 2>&1) &
# Dovecot: a private instance, passwd-file with the same password.
dc=$work/dc
mkdir -p "$dc/run" "$dc/home/stress"
chmod 755 "$work" "$dc" "$dc/home"
chown 65534:65534 "$dc/home/stress" # Dovecot refuses to run mail processes as root
echo "stress@localhost:{PLAIN}pass::::::" > "$dc/passwd"
chmod 644 "$dc/passwd"
cat > "$dc/dovecot.conf" <<CONF
base_dir = $dc/run
state_dir = $dc/state
log_path = $dc/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 65534
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_login_user = dovenull
namespace inbox {
  inbox = yes
  separator = /
  prefix =
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dc/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$dc/home/stress
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 14143
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
dovecot -c "$dc/dovecot.conf"
sleep 2

run() { # name port
	echo "== $1: clients=$clients secs=$secs"
	"$IMAPTEST" host=127.0.0.1 port="$2" user=stress@localhost pass=pass \
		mbox="$work/stress.mbox" clients="$clients" secs="$secs" 2>&1 | tail -n 8
}
run immp 3143
run dovecot 14143
