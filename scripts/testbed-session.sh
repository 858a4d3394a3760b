# Sourced by demo.sh and soak.sh (from the project root): installs what is
# missing, builds wirelog, brings up a testbed of its own and removes it on
# exit, also on failure, with the wirelog ($wl_pid) and the background jobs
# the script started.
#
#   testbed_session FIRST_ID IDS NAME   # id = FIRST_ID + $$ % IDS; $work is a
#                                       # fresh /tmp/NAME-XXXX; the testbed's
#                                       # names and addresses become variables
testbed_session() {
  scripts/setup.sh
  cargo build --release -q
  id=$(($1 + $$ % $2))
  eval "$(scripts/testbed.sh env $id)"
  work=$(mktemp -d "/tmp/$3-XXXX")
  wl_pid=
  trap testbed_session_end EXIT
  scripts/testbed.sh up $id
}

testbed_session_end() {
  [ -n "$wl_pid" ] && kill -INT "$wl_pid" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  scripts/testbed.sh down $id
  rm -rf "$work"
}
