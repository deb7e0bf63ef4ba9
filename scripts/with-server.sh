#!/usr/bin/env bash
# Runs a command with NATS_URL pointing at a server: the one in $NATS_URL if set, else a
# throwaway nats-server on a free loopback port, with JetStream (its store in the throwaway
# directory), stopped and removed when the command ends.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${NATS_URL:-}" ]; then
    exec "$@"
fi
server=$("$here/scripts/find-nats-server.sh") || { echo "no nats-server found (run make deps)" >&2; exit 1; }
dir=$(mktemp -d)
"$server" -a 127.0.0.1 -p -1 --ports_file_dir "$dir" -js -sd "$dir/jetstream" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
# The ports file is written while we may read it: wait until it names the URL.
NATS_URL=
for _ in $(seq 1 200); do
    ports=$(ls "$dir"/*.ports 2>/dev/null | head -n 1)
    [ -n "$ports" ] && NATS_URL=$(sed -n 's/.*"nats":\["\([^"]*\)".*/\1/p' "$ports")
    [ -n "$NATS_URL" ] && break
    sleep 0.05
done
[ -n "$NATS_URL" ] || { echo "nats-server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }
export NATS_URL
echo "(throwaway nats-server $("$server" --version | awk '{print $2}') at $NATS_URL)"
"$@"
