"""RocksDB tables under one memory budget per worker (``store = "rocksdb"``).

Faust's RocksDB store opens one database per table partition, each with its own block cache and its
own memtables, so a worker's memory grows with the partitions it holds: 2 tables x 2 partitions at
64 MiB of cache and two 8 MiB memtables each could reach 320 MiB before staying flat, and did not
fill before ~30,000 events (docs/benchmarks.md, "Worker memory"). Here every database of the worker
shares **one** LRU block cache of ``rocksdb_cache_mib``, index and filter blocks live in it too, and
memtables are charged to it through one write-buffer manager (half of the budget): RocksDB's memory
for all tables together stays under the one number, whatever the partitions and the data on disk.

The store registers as ``uno-rocksdb://`` (`streams.worker.app` chooses it for ``store = "rocksdb"``);
everything else is faust-streaming's RocksDB store.
"""

from __future__ import annotations

import logging

import rocksdict
from faust.stores import STORES
from faust.stores import rocksdb as faust_rocksdb

log = logging.getLogger(__name__)
SCHEME = "uno-rocksdb"
_SHARED: dict[int, tuple[rocksdict.Cache, rocksdict.WriteBufferManager]] = {}


def shared(budget: int) -> tuple[rocksdict.Cache, rocksdict.WriteBufferManager]:
    """The process's block cache and write-buffer manager for a budget in bytes (made once)."""
    if budget not in _SHARED:
        cache = rocksdict.Cache(budget)
        _SHARED[budget] = (
            cache,
            rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(budget // 2, False, cache),
        )
    return _SHARED[budget]


class SharedOptions(faust_rocksdb.RocksDBOptions):
    """Faust's options, with the block-based table factory and memtables on the shared budget."""

    def as_options(self) -> rocksdict.Options:
        options = super().as_options()
        cache, buffers = shared(self.block_cache_size)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(cache)
        table.set_cache_index_and_filter_blocks(True)
        table.set_pin_l0_filter_and_index_blocks_in_cache(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        options.set_write_buffer_manager(buffers)
        return options


class Store(faust_rocksdb.Store):
    """faust-streaming's RocksDB store on `SharedOptions` (rocksdict driver only)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rocksdb_options = SharedOptions(**self.options, use_rocksdict=True)  # as Faust builds its own
        self._offset_failing = False

    def set_persisted_offset(self, tp, offset: int) -> None:
        """Faust calls this from the producer's callback for every changelog record; on a full disk the
        write fails there (an error and a traceback per record, nothing to retry). An offset left older
        only makes the next recovery re-read more of the changelog, which rewrites the same values: a
        warning, once per failing spell."""
        try:
            super().set_persisted_offset(tp, offset)
            self._offset_failing = False
        except Exception as err:
            if not self._offset_failing:
                log.warning(
                    "%s: the changelog offset %s was not persisted (%r); retried with the next", tp, offset, err
                )
            self._offset_failing = True


STORES.aliases[SCHEME] = f"{__name__}:Store"
