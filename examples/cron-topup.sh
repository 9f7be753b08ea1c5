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
# STATE_DIR (default /var/lib/proxyshard-topup: the command's lock and
# journal of spends, and the log), LOCK_WAIT (seconds to wait for a run
# still going, default 60), PROXYSHARD (the command, default `proxyshard`;
# from a checkout, bin/proxyshard), PROXYSHARD_BASE_URL (the sandbox, to
# try it).
#
# Two runs never overlap: the command holds the account's lock (flock in
# $STATE_DIR) for the whole run; a run started while another is going (a
# slow one, a manual one) waits LOCK_WAIT seconds, then gives up with 11.
# A purchase is written to the journal before it is sent: a run that was
# killed, or whose answer was lost, leaves it pending, and the next run
# settles it first by re-reading the order — it never buys it again blindly.
#
# What it does with the command's exit status (proxyshard --help):
#   0  done (or nothing to do)
#   3  the cap ran out: some orders were not topped up; nothing above the
#      cap was bought. The next run tries again.
#   4  a purchase's outcome is unknown even after --reconcile: it is in the
#      journal; the next run settles it before buying that order again
#      (`proxyshard pending` shows it, `proxyshard pending --settle` settles
#      it now).
#   11 another run is still going: this one bought nothing.
#   other  reported; the next run tries again.
# Each run's JSON document is appended to $STATE_DIR/topup.jsonl; cron
# mails what it prints.
set -u
FREE=${FREE:-5}
MAX_TOTAL=${MAX_TOTAL:-5.00}
STATE_DIR=${STATE_DIR:-/var/lib/proxyshard-topup}
LOCK_WAIT=${LOCK_WAIT:-60}
PROXYSHARD=${PROXYSHARD:-proxyshard}

mkdir -p "$STATE_DIR" || exit 1

# the token from a file (never on the command line), else PROXYSHARD_TOKEN
set -- --state-dir "$STATE_DIR" --lock-wait "$LOCK_WAIT"
if [ -n "${TOKEN_FILE:-}" ]; then set -- "$@" --token-file "$TOKEN_FILE"; fi

out=$("$PROXYSHARD" "$@" --json top-up --free "$FREE" --max-total "$MAX_TOTAL" --all-active --reconcile --yes)
status=$?
printf '%s\n' "$out" >>"$STATE_DIR/topup.jsonl"

case $status in
  0) ;;
  3) echo "top-up: the cap of \$$MAX_TOTAL ran out; some orders still lack slots (see $STATE_DIR/topup.jsonl)" >&2 ;;
  4) echo "top-up: a purchase's outcome is unknown; the next run settles it first (proxyshard pending)" >&2 ;;
  11) echo "top-up: another run is still going after ${LOCK_WAIT}s; this one bought nothing" >&2 ;;
  *) echo "top-up: failed with exit status $status (see $STATE_DIR/topup.jsonl)" >&2 ;;
esac
exit "$status"
