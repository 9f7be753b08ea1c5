#!/bin/sh
# A cron top-up: keep FREE unused p0f slots on every active order, spending
# at most MAX_TOTAL dollars a run, with the proxyshard command. A run that
# finds the slots there buys nothing, so running it often costs nothing.
#
#   crontab -e
#   */30 * * * * TOKEN_FILE=/etc/proxyshard/token /opt/proxyshard/examples/cron-topup.sh
#
# Settings (environment): TOKEN_FILE (a file holding the API token; else
# PROXYSHARD_TOKEN), FREE (default 5), MAX_TOTAL (dollars, default 5.00),
# STATE_DIR (default /var/lib/proxyshard-topup: the log and the hold file),
# PROXYSHARD (the command, default `proxyshard`; from a checkout,
# bin/proxyshard), PROXYSHARD_BASE_URL (the sandbox, to try it).
#
# What it does with the command's exit status (proxyshard --help):
#   0  done (or nothing to do)
#   3  the cap ran out: some orders were not topped up; nothing above the
#      cap was bought. The next run tries again.
#   4  a purchase's outcome is unknown even after --reconcile: the job
#      holds (a hold file) and buys nothing until someone has looked at the
#      orders and removed the file. Rerunning blindly could buy twice.
#   other  reported; the next run tries again.
# Each run's JSON document is appended to $STATE_DIR/topup.jsonl; cron
# mails what it prints.
set -u
FREE=${FREE:-5}
MAX_TOTAL=${MAX_TOTAL:-5.00}
STATE_DIR=${STATE_DIR:-/var/lib/proxyshard-topup}
PROXYSHARD=${PROXYSHARD:-proxyshard}
HOLD=$STATE_DIR/hold

mkdir -p "$STATE_DIR" || exit 1
if [ -e "$HOLD" ]; then
  echo "top-up held since $(cat "$HOLD"): an earlier purchase's outcome is unknown." >&2
  echo "Check the orders (proxyshard order ID), then: rm $HOLD" >&2
  exit 4
fi

# the token from a file (never on the command line), else PROXYSHARD_TOKEN
set --
if [ -n "${TOKEN_FILE:-}" ]; then set -- --token-file "$TOKEN_FILE"; fi

out=$("$PROXYSHARD" "$@" --json top-up --free "$FREE" --max-total "$MAX_TOTAL" --all-active --reconcile --yes)
status=$?
printf '%s\n' "$out" >>"$STATE_DIR/topup.jsonl"

case $status in
  0) ;;
  3) echo "top-up: the cap of \$$MAX_TOTAL ran out; some orders still lack slots (see $STATE_DIR/topup.jsonl)" >&2 ;;
  4)
    date -u +%Y-%m-%dT%H:%M:%SZ >"$HOLD"
    echo "top-up: a purchase's outcome is unknown: holding until $HOLD is removed" >&2
    ;;
  *) echo "top-up: failed with exit status $status (see $STATE_DIR/topup.jsonl)" >&2 ;;
esac
exit "$status"
