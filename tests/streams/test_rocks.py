"""RocksDB databases of one worker share one memory budget (streams.worker.rocks), on real RocksDB."""

from __future__ import annotations

from streams.worker.rocks import SharedOptions, shared

MIB = 1024 * 1024


def test_databases_share_one_cache_that_memtables_are_charged_to(tmp_path):
    options = SharedOptions(block_cache_size=16 * MIB, write_buffer_size=4 * MIB, use_rocksdict=True)
    cache, buffers = shared(16 * MIB)
    assert shared(16 * MIB) == (cache, buffers)  # made once per budget
    assert buffers.get_buffer_size() == 8 * MIB
    before = cache.get_usage()
    dbs = [options.open(tmp_path / f"db{i}") for i in range(2)]
    try:
        for i, db in enumerate(dbs):
            for k in range(2000):
                db[f"k{k}".encode()] = bytes([i]) * 512
        charged = cache.get_usage()
        assert charged > before  # both databases' memtables are counted in the one cache
        assert buffers.get_usage() > 0
        for db in dbs:
            db.flush()
        assert [db[b"k1999"][:1] for db in dbs] == [b"\x00", b"\x01"]  # reads through the shared cache
        assert cache.get_usage() <= 16 * MIB + MIB  # the budget holds (LRU, not strict, by a block or two)
    finally:
        for db in dbs:
            db.close()
