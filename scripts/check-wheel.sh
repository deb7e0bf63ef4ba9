#!/usr/bin/env bash
# check-wheel.sh WHEEL - installs the wheel into a fresh venv and uses it as a user would: no
# build tree, no environment variable, from another directory; the library must come from the
# wheel (its bundled Jansson included), and a publish/subscribe and a request must work against
# a throwaway nats-server.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-index --no-deps "$wheel"
cd "$work"
env -u SWIFTNATS_LIBRARY -u PYTHONPATH -u LD_LIBRARY_PATH "$here/scripts/with-server.sh" "$work/venv/bin/python" -c '
import asyncio, os, sys
import swiftnats
from swiftnats import aio
path = swiftnats.library_path
assert "/venv/" in path and path.endswith("_native/libswiftnats.so"), path
maps = open("/proc/self/maps").read()
assert "_native/libjansson" in maps, "the bundled Jansson was not the one loaded"
url = os.environ["NATS_URL"]
with swiftnats.connect(url) as nc:
    sub = nc.subscribe("wheel.check")
    nc.publish("wheel.check", b"hello")
    assert sub.next_msg(timeout=5).data == b"hello"
async def main():
    async with await aio.connect(url) as nc:
        await nc.subscribe("wheel.echo", cb=lambda msg: msg.respond(msg.data))
        assert (await nc.request("wheel.echo", b"ping", timeout=5)).data == b"ping"
asyncio.run(main())
print("wheel ok:", os.path.basename(sys.argv[0] or "python"), swiftnats.version(), path)
'
