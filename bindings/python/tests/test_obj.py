"""Object Store (``js.create_object_store()``, ``js.object_store()``), blocking
(test_aio_obj.py has asyncio and the interoperation with nats-py):
buckets made, bound, listed and deleted; objects put from bytes, str, binary file objects (an
``io.BytesIO``, a real file) and read back whole or written into a file object chunk by chunk;
the digest nats.go and nats.py compute; a reader or writer that raises (its exception comes back
to the caller, nothing is left behind); replacing, deleting, infos with and without deleted
objects, listing; links to objects and to buckets; watches (current infos, the None marker, then
changes); empty objects. Every test runs against its own nats-server with JetStream."""

from __future__ import annotations

import io
import threading
from typing import List, Optional

import pytest

import swiftnats
from swiftnats.obj import ObjectNotFoundError, ObjectResult, ObjectStore, ObjectWatcher


from obj_support import (  # noqa: F401 (fixtures)
    EMPTY_DIGEST,
    HELLO_DIGEST,
    Exploding,
    digest_of,
    initial,
    jnc,
    js,
    messages,
    obs,
    pattern,
)


# -- buckets -----------------------------------------------------------------------------------


def test_bucket_lifecycle(js):
    with pytest.raises(swiftnats.BucketNotFoundError) as err:
        js.object_store("files")
    e = err.value
    assert (e.code, e.err_code) == (404, 10059) and e.status == swiftnats.Status.NOT_FOUND
    assert isinstance(e, swiftnats.StreamNotFoundError) and isinstance(e, swiftnats.NotFoundError)
    with pytest.raises(swiftnats.BucketNotFoundError):
        js.delete_object_store("files")

    obs = js.create_object_store(bucket="files", description="the files", storage="memory", ttl=3600)
    assert isinstance(obs, ObjectStore) and obs.bucket == "files"
    stream = js.stream_info("OBJ_files")
    assert stream.config.subjects == ["$O.files.C.>", "$O.files.M.>"]
    assert stream.config.storage == "memory" and stream.config.max_age == 3600.0
    assert stream.config.description == "the files" and stream.config.discard == "new"
    assert stream.config.allow_rollup_hdrs is True

    # the same again is accepted; a dict configuration too; bound by name
    again = js.create_object_store("files", {"description": "the files", "storage": "memory", "ttl": 3600})
    bound = js.object_store("files")
    obs.put("a", b"alpha")
    assert again.get("a").data == b"alpha" and bound.get("a").data == b"alpha"
    js.create_object_store(config={"bucket": "second"})
    assert sorted(name[4:] for name in js.stream_names() if name.startswith("OBJ_")) == ["files", "second"]

    with pytest.raises(swiftnats.InvalidArgumentError):
        js.create_object_store(bucket="bad.name")
    with pytest.raises(swiftnats.InvalidArgumentError):
        js.object_store("bad name")
    with pytest.raises(ValueError):
        js.create_object_store()  # no name

    assert js.delete_object_store("files") is True
    with pytest.raises(swiftnats.BucketNotFoundError):
        js.object_store("files")
    with pytest.raises(swiftnats.BucketNotFoundError):
        js.delete_object_store("files")
    assert js.stream_names() == ["OBJ_second"]


def test_bucket_from_nats_py_config(js):
    """nats-py's ``ObjectStoreConfig`` (whose ``as_dict`` already gives ``ttl`` in
    nanoseconds) makes the bucket it describes."""
    api = pytest.importorskip("nats.js.api")
    obs = js.create_object_store(config=api.ObjectStoreConfig(bucket="cfg", description="from nats-py", ttl=60,
                                                              storage=api.StorageType.MEMORY))
    config = js.stream_info("OBJ_cfg").config
    assert (config.max_age, config.storage, config.description) == (60.0, "memory", "from nats-py")
    assert obs.put("x", b"y").size == 1


def test_status(js):
    obs = js.create_object_store(bucket="st", description="statused", storage="memory", ttl=60)
    obs.put("x", b"some bytes")
    status = obs.status()
    assert status.bucket == "st" and status.description == "statused"
    assert status.storage == "memory" and status.replicas == 1 and status.sealed is False
    assert status.size > 10 and status.info.state.messages == 2
    # seconds, as every duration of the package (and nats-py's ObjectStoreStatus.ttl)
    assert status.ttl == 60.0
    assert status.info.config.max_age == 60.0


# -- putting and getting -----------------------------------------------------------------------


def test_put_get_bytes_and_text(obs, js):
    info = obs.put("greeting", b"hello")
    assert isinstance(info, swiftnats.jetstream.Info) and isinstance(info, dict)
    assert (info.name, info.bucket, info.size, info.chunks) == ("greeting", "files", 5, 1)
    assert info.digest == HELLO_DIGEST and info["digest"] == HELLO_DIGEST
    assert info.options.max_chunk_size == 131072 and info.nuid and info.mtime
    assert not info.deleted
    result = obs.get("greeting")
    assert isinstance(result, ObjectResult) and result.data == b"hello"
    assert result.info.digest == HELLO_DIGEST and result.info.nuid == info.nuid

    assert obs.put("text", "héllo wörld").size == len("héllo wörld".encode())
    assert obs.get("text").data == "héllo wörld".encode()
    assert obs.put("ba", bytearray(b"bytearray")).size == 9
    assert obs.put("mv", memoryview(b"xxmemoryview")[2:]).size == 10
    assert obs.get("mv").data == b"memoryview"
    for name in ["dir/sub dir/file.txt", "ünïcødé ✓", "a.b.c", "*", ">"]:
        obs.put(name, name.encode())
    for name in ["dir/sub dir/file.txt", "ünïcødé ✓", "a.b.c", "*", ">"]:
        assert obs.get(name).data == name.encode()

    with pytest.raises(ObjectNotFoundError) as err:
        obs.get("missing")
    e = err.value
    assert isinstance(e, swiftnats.MsgNotFoundError) and isinstance(e, swiftnats.NotFoundError)
    assert (e.code, e.err_code) == (404, 10037)


def test_put_file_objects_and_writeinto(obs, js, tmp_path):
    data = pattern(300_000, 1)
    # an io.BytesIO, in chunks of 64 KiB (nats-py's ObjectMeta spelling of the chunk size)
    info = obs.put("from-bytesio", io.BytesIO(data), meta={"options": {"max_chunk_size": 65536}})
    assert (info.size, info.chunks, info.options.max_chunk_size) == (300_000, 5, 65536)
    assert info.digest == digest_of(data)
    assert messages(js) == 6

    # a real file, read until its end
    path = tmp_path / "report.bin"
    path.write_bytes(data)
    with open(path, "rb") as f:
        info = obs.put("report.bin", f)
    assert (info.size, info.chunks) == (300_000, 3) and info.digest == digest_of(data)

    # written into a real file, chunk by chunk: data is None
    out = tmp_path / "copy.bin"
    with open(out, "wb") as f:
        result = obs.get("report.bin", writeinto=f)
    assert result.data is None and result.info.digest == digest_of(data)
    assert out.read_bytes() == data
    # into a BytesIO
    sink = io.BytesIO()
    assert obs.get("from-bytesio", writeinto=sink).data is None
    assert sink.getvalue() == data
    # whole
    assert obs.get("from-bytesio").data == data


def test_put_meta(obs):
    meta = {"description": "with everything", "headers": {"Content-Type": "text/plain", "X-Multi": ["a", "b"]},
            "metadata": {"owner": "ops"}, "options": {"max_chunk_size": 2}}
    info = obs.put("m", b"hello", meta=meta)
    assert info.chunks == 3 and info.digest == HELLO_DIGEST
    got = obs.get_info("m")
    assert got.description == "with everything" and got.metadata == {"owner": "ops"}
    assert got.headers == {"Content-Type": ["text/plain"], "X-Multi": ["a", "b"]}
    assert got.options.max_chunk_size == 2
    assert obs.get("m").data == b"hello"


def test_put_meta_from_nats_py(obs):
    """nats-py's ``ObjectMeta``: description, headers, ``options.max_chunk_size``; the object is
    stored as the name given to ``put`` (as nats-py does)."""
    api = pytest.importorskip("nats.js.api")
    meta = api.ObjectMeta(name="ignored", description="nats-py meta", headers={"A": "b"},
                          options=api.ObjectMetaOptions(max_chunk_size=1000))
    info = obs.put("the-name", pattern(2500), meta=meta)
    assert (info.chunks, info.description, info.headers) == (3, "nats-py meta", {"A": ["b"]})
    assert info.name == "the-name"
    assert obs.get("the-name").data == pattern(2500)


def test_reader_raises(obs, js):
    """A file object whose read raises: that exception comes back from put; no chunk stays."""
    for good in (0, 1, 10, 40):
        source = Exploding(good)
        with pytest.raises(RuntimeError) as err:
            obs.put("broken", source, meta={"options": {"max_chunk_size": 1000}})
        assert err.value is source.error
        assert source.reads == good + 1
        with pytest.raises(ObjectNotFoundError):
            obs.get_info("broken", show_deleted=True)
        assert messages(js) == 0, f"{messages(js)} chunks left behind after {good} good reads"

    # a failed replacement leaves the object it would have replaced
    obs.put("keep", b"the original")
    with pytest.raises(RuntimeError):
        obs.put("keep", Exploding(3), meta={"options": {"max_chunk_size": 1000}})
    assert obs.get("keep").data == b"the original"


def test_writer_raises(obs):
    obs.put("obj", pattern(10_000), meta={"options": {"max_chunk_size": 1000}})

    class Full(io.RawIOBase):
        def __init__(self) -> None:
            self.writes = 0
            self.error = OSError(28, "No space left on device")

        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            self.writes += 1
            if self.writes == 4:
                raise self.error
            return len(data)

    target = Full()
    with pytest.raises(OSError) as err:
        obs.get("obj", writeinto=target)
    assert err.value is target.error and target.writes == 4
    assert obs.get("obj").data == pattern(10_000)  # intact


def test_replace_purges_old_chunks(obs, js):
    first = obs.put("doc", pattern(3000, 1), meta={"options": {"max_chunk_size": 1000}})
    assert first.chunks == 3 and messages(js) == 4
    second = obs.put("doc", pattern(1500, 2), meta={"options": {"max_chunk_size": 1000}})
    assert second.chunks == 2 and second.nuid != first.nuid
    assert messages(js) == 3  # the new chunks and the new info
    assert obs.get("doc").data == pattern(1500, 2)
    obs.put("doc", b"")
    assert messages(js) == 1


def test_info_and_delete(obs, js):
    put = obs.put("victim", pattern(5000), meta={"options": {"max_chunk_size": 1000}})
    assert obs.get_info("victim") == put and obs.info("victim") == put
    assert obs.delete("victim") is True
    assert messages(js) == 1  # the chunks went; the info says deleted
    with pytest.raises(ObjectNotFoundError):
        obs.get_info("victim")
    deleted = obs.get_info("victim", show_deleted=True)
    assert deleted.deleted is True and deleted.size == 0 and deleted.name == "victim"
    with pytest.raises(ObjectNotFoundError):
        obs.get("victim")
    with pytest.raises(ObjectNotFoundError):
        obs.delete("victim")
    with pytest.raises(ObjectNotFoundError):
        obs.delete("never-was")
    with pytest.raises(swiftnats.InvalidArgumentError):
        obs.get_info("")
    obs.put("victim", b"back")
    assert obs.get("victim").data == b"back"


def test_list(obs):
    assert obs.list() == [] and obs.list(ignore_deletes=True) == []
    obs.put("a", b"1")
    obs.put("b", b"22")
    obs.put("c", b"333")
    obs.put("a", b"1111")
    obs.delete("b")
    everything = {info.name: info for info in obs.list()}  # deleted ones too, as nats-py
    assert set(everything) == {"a", "b", "c"}
    assert everything["b"].deleted is True and everything["a"].size == 4
    live = obs.list(ignore_deletes=True)
    assert sorted(info.name for info in live) == ["a", "c"]
    assert all(isinstance(info, swiftnats.jetstream.Info) for info in live)


def test_links(js, obs):
    target = obs.put("target", b"hello")
    link = obs.add_link("alias", target)
    assert link.name == "alias" and link.options.link == {"bucket": "files", "name": "target"}
    result = obs.get("alias")
    assert result.data == b"hello" and result.info.name == "target" and result.info.digest == HELLO_DIGEST
    assert obs.get_info("alias").options.link.name == "target"

    # a link to a link, a link over an object: refused
    with pytest.raises(swiftnats.InvalidArgumentError):
        obs.add_link("alias2", obs.get_info("alias"))
    obs.put("solid", b"an object")
    with pytest.raises(swiftnats.InvalidArgumentError):
        obs.add_link("solid", target)

    # another bucket's object; a whole bucket
    other = js.create_object_store(bucket="other")
    far = other.put("far", b"from afar")
    obs.add_link("to-far", far)
    assert obs.get("to-far").data == b"from afar"
    blink = obs.add_bucket_link("whole", "other")
    assert blink.options.link.bucket == "other" and blink.options.link.name is None
    with pytest.raises(swiftnats.InvalidArgumentError):
        obs.get("whole")
    obs.delete("to-far")
    assert other.get("far").data == b"from afar"


def test_watch(obs):
    obs.put("a", b"1")
    obs.put("b", b"2")
    obs.put("a", b"11")
    watcher = obs.watch()
    assert isinstance(watcher, ObjectWatcher)
    try:
        current = initial(watcher)
        assert [(i.name, i.size) for i in current] == [("b", 1), ("a", 2)]
        obs.put("c", b"3")
        obs.delete("a")
        change = watcher.updates(5)
        assert change.name == "c" and not change.deleted
        change = watcher.updates(5)
        assert change.name == "a" and change.deleted is True
        with pytest.raises(swiftnats.TimeoutError):
            watcher.updates(0.2)
    finally:
        watcher.stop()

    # iteration (None once), ignore_deletes, a context manager
    with obs.watch(ignore_deletes=True) as watcher:
        seen: List[Optional[str]] = []
        for info in watcher:
            seen.append(None if info is None else info.name)
            if info is None:
                obs.put("d", b"4")
            if seen[-1] == "d":
                break
        assert seen == ["b", "c", None, "d"]

    # updates only: nothing current; the marker at once, then the changes
    with obs.watch(updates_only=True) as watcher:
        assert watcher.updates(5) is None
        obs.put("e", b"5")
        assert watcher.updates(5).name == "e"
        with pytest.raises(swiftnats.TimeoutError):
            watcher.updates(0.2)


def test_empty_object(obs, tmp_path):
    info = obs.put("empty", b"")
    assert (info.size, info.chunks, info.digest) == (0, 0, EMPTY_DIGEST)
    assert obs.get("empty").data == b""
    sink = io.BytesIO()
    assert obs.get("empty", writeinto=sink).data is None and sink.getvalue() == b""
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with open(empty, "rb") as f:
        assert obs.put("empty-file", f).digest == EMPTY_DIGEST


def test_closed_store(js):
    obs = js.create_object_store(bucket="closing")
    obs.put("x", b"y")
    obs.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        obs.get("x")
    with pytest.raises(swiftnats.ConnectionClosedError):
        obs.put("x", b"z")
    obs.close()  # twice is fine
    assert js.object_store("closing").get("x").data == b"y"


def test_threads_share_a_store(obs):
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                data = pattern(3000, n * 100 + i)
                obs.put(f"t{n}-{i}", data, meta={"options": {"max_chunk_size": 1000}})
                assert obs.get(f"t{n}-{i}").data == data
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(obs.list(ignore_deletes=True)) == 40
