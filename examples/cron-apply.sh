#!/bin/sh
# Keep the account as examples/desired-state.lua says, from cron:
#
#   */30 * * * * PROXYSHARD_TOKEN=... /path/to/cron-apply.sh /path/to/desired-state.lua
#
# `proxyshard plan` exits 0 when nothing is to be done, 2 when something is,
# 1 on an error. apply takes the account's lock (a run still going makes
# this one exit 11), settles what a killed run left in the journal, re-reads
# and buys only what is still missing, never more than MAX_TOTAL in one run.
set -u
FILE=${1:?usage: cron-apply.sh DESIRED-STATE-FILE}
MAX_TOTAL=${MAX_TOTAL:-15.00}
PROXYSHARD=${PROXYSHARD:-proxyshard}

$PROXYSHARD plan "$FILE" >/dev/null
case $? in
  0) exit 0 ;;                      # as desired: nothing to do
  2) ;;                             # changes: apply them
  *) echo "cron-apply: plan failed" >&2; exit 1 ;;
esac
exec $PROXYSHARD apply "$FILE" --max-total "$MAX_TOTAL" --yes
