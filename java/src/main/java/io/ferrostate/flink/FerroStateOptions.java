package io.ferrostate.flink;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

/** Configuration options of the ferrostate state backend. */
@PublicEvolving
public final class FerroStateOptions {

    private FerroStateOptions() {}

    /** Directories for the working files of the native stores. */
    public static final ConfigOption<String> LOCAL_DIRECTORIES =
            ConfigOptions.key("state.backend.ferrostate.localdir")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Local directories where ferrostate keeps the working files of its stores"
                                    + " (RocksDB files and snapshot links), separated by ',' or the"
                                    + " system's path separator. Several directories spread stores over"
                                    + " disks. Defaults to the TaskManager's temporary working directory.");

    /** Where timers (Flink's keyed priority queues) live. */
    public enum TimerServiceFactory {
        /** In the native store, beside the keyed state: off the JVM heap, within the budget. */
        NATIVE,
        /** In Flink's heap priority queues, copied whole into every snapshot. */
        HEAP
    }

    /** Where timers live, as RocksDB's {@code state.backend.rocksdb.timer-service.factory}. */
    public static final ConfigOption<TimerServiceFactory> TIMER_SERVICE_FACTORY =
            ConfigOptions.key("state.backend.ferrostate.timer-service.factory")
                    .enumType(TimerServiceFactory.class)
                    .defaultValue(TimerServiceFactory.NATIVE)
                    .withDescription(
                            "Where the timers of keyed operators (event-time and processing-time"
                                    + " timers, SQL windows and cleanup timers) live. NATIVE keeps them"
                                    + " in the native store beside the keyed state: off the JVM heap,"
                                    + " within the memory budget, spilling to disk and checkpointed"
                                    + " incrementally; a small per-key-group cache of the earliest"
                                    + " timers stays on the heap. HEAP keeps them in Flink's heap"
                                    + " priority queues, copied whole into every snapshot. Operators"
                                    + " using the asynchronous state API (Flink 2) keep heap timers."
                                    + " Snapshots restore under either setting.");

    /** New native timers one timer queue holds on the JVM heap before writing them to the store. */
    public static final ConfigOption<Integer> TIMER_HEAP_BUFFER =
            ConfigOptions.key("state.backend.ferrostate.timer-service.heap-buffer")
                    .intType()
                    .defaultValue(262_144)
                    .withDescription(
                            "With NATIVE timers: how many new timers one timer queue (of one"
                                    + " operator) holds at most on the JVM heap, as objects like"
                                    + " Flink's heap timers (about 150 bytes each), before it writes"
                                    + " them to the native store. Timers that fire or are deleted"
                                    + " before the next checkpoint while they wait (most window and"
                                    + " session timers) never reach the store; every checkpoint writes"
                                    + " the waiting ones. The number is shared evenly by the queue's"
                                    + " key groups; a key group whose new timers all come after the"
                                    + " ones it has stored, and seldom leave while they wait (timers"
                                    + " registered far ahead), holds fewer, down to 16. A larger"
                                    + " buffer saves store writes in jobs with many timers pending at"
                                    + " once (SQL windows over many keys), a smaller one heap. At least"
                                    + " 1.");

    /** Whether the task thread executes asynchronous state requests itself when it can. */
    public static final ConfigOption<Boolean> ASYNC_INLINE_EXECUTION =
            ConfigOptions.key("state.backend.ferrostate.async.inline-execution")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Flink 2.x asynchronous state API only. When the state executor thread"
                                    + " has no batch in flight, the task thread executes a new batch"
                                    + " of state requests itself, as far as the hot tier answers it"
                                    + " (point reads that hit, point writes), and hands the rest (the"
                                    + " first request that may read RocksDB and every one after it)"
                                    + " to the executor thread. This saves two thread hand-overs per"
                                    + " batch, which dominate when batches are small (records that"
                                    + " share few keys) and state is in memory. When false, every"
                                    + " batch runs on the executor thread.");

    /** Whether the stores take Flink's managed memory. */
    public static final ConfigOption<Boolean> USE_MANAGED_MEMORY =
            ConfigOptions.key("state.backend.ferrostate.memory.managed")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "If true, the stores of a slot share that slot's managed memory (the"
                                    + " fraction Flink assigns to state backends) as one budget for the"
                                    + " hot tier, RocksDB's block cache and its memtables. Ignored when"
                                    + " 'state.backend.ferrostate.memory.fixed-per-slot' is set.");

    /** A fixed memory budget per slot, instead of managed memory. */
    public static final ConfigOption<MemorySize> FIX_PER_SLOT_MEMORY_SIZE =
            ConfigOptions.key("state.backend.ferrostate.memory.fixed-per-slot")
                    .memoryType()
                    .noDefaultValue()
                    .withDescription(
                            "A fixed memory budget shared by the ferrostate stores of a slot, outside"
                                    + " Flink's managed memory. Overrides the managed-memory setting.");

    /** Budget used when no managed memory is available to the task. */
    public static final ConfigOption<MemorySize> FALLBACK_MEMORY_SIZE =
            ConfigOptions.key("state.backend.ferrostate.memory.fallback-size")
                    .memoryType()
                    .defaultValue(MemorySize.parse("64mb"))
                    .withDescription(
                            "Budget of a store whose task gets no (or less than 16 MiB of) managed"
                                    + " memory and no fixed per-slot size is set.");

    /** Share of the budget for the hot tier. */
    public static final ConfigOption<Double> HOT_TIER_RATIO =
            ConfigOptions.key("state.backend.ferrostate.memory.hot-ratio")
                    .doubleType()
                    .defaultValue(0.5)
                    .withDescription(
                            "Share of the memory budget held by the hot tier, the native hash table of"
                                    + " recently used entries in front of RocksDB (0 to 0.9). The tiers"
                                    + " plan for 7/8 of the budget (at most 32 MiB is kept back for"
                                    + " memory neither counts: allocator overhead, RocksDB's allocations"
                                    + " outside its cache); of that, this share is the hot tier's and"
                                    + " the rest goes to RocksDB's block cache and memtables.");

    /** Share of RocksDB's part of the budget for memtables. */
    public static final ConfigOption<Double> WRITE_BUFFER_RATIO =
            ConfigOptions.key("state.backend.ferrostate.memory.write-buffer-ratio")
                    .doubleType()
                    .defaultValue(0.5)
                    .withDescription(
                            "Share of RocksDB's part of the budget that memtables may take; they are"
                                    + " charged to the block cache, so RocksDB stays within its part."
                                    + " The default is that of Flink's RocksDB backend"
                                    + " (state.backend.rocksdb.memory.write-buffer-ratio).");

    /** Values larger than this bypass the hot tier. */
    public static final ConfigOption<MemorySize> MAX_HOT_VALUE_SIZE =
            ConfigOptions.key("state.backend.ferrostate.hot.max-value-size")
                    .memoryType()
                    .defaultValue(MemorySize.parse("64kb"))
                    .withDescription(
                            "Values (and list appends) larger than this are written to RocksDB directly"
                                    + " instead of being kept in the hot tier.");

    /** Files downloaded at once when restoring a native snapshot. */
    public static final ConfigOption<Integer> CHECKPOINT_TRANSFER_THREAD_NUM =
            ConfigOptions.key("state.backend.ferrostate.checkpoint.transfer.thread.num")
                    .intType()
                    .defaultValue(4)
                    .withDescription(
                            "The number of threads (per stateful operator) that download the files of a"
                                    + " native (incremental) snapshot when restoring, as"
                                    + " 'state.backend.rocksdb.checkpoint.transfer.thread.num' does for"
                                    + " RocksDB. Each file's CRC-32C is taken while it is downloaded.");

    /** Metrics of the hot tier. */
    public static final ConfigOption<Boolean> METRICS_HOT_TIER =
            ConfigOptions.key("state.backend.ferrostate.metrics.hot-tier")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Registers the hot tier's metrics per keyed backend (group"
                                    + " 'ferrostate.hot': entries, bytes, dirty-entries, hits, misses,"
                                    + " evictions, write-backs).");

    /** Metrics of the memory budget. */
    public static final ConfigOption<Boolean> METRICS_MEMORY =
            ConfigOptions.key("state.backend.ferrostate.metrics.memory")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Registers the memory metrics per keyed backend (group"
                                    + " 'ferrostate.memory': budget-bytes, used-bytes, hot-bytes).");

    /** RocksDB's metrics. */
    public static final ConfigOption<Boolean> METRICS_ROCKSDB =
            ConfigOptions.key("state.backend.ferrostate.metrics.rocksdb")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Registers RocksDB's metrics per keyed backend, named as RocksDB's"
                                    + " properties and summed over the backend's states (group"
                                    + " 'ferrostate.rocksdb': block-cache-usage, cur-size-all-mem-tables,"
                                    + " estimate-pending-compaction-bytes, live-sst-files-size,"
                                    + " estimate-num-keys, scans).");

    /** Checkpoint metrics. */
    public static final ConfigOption<Boolean> METRICS_CHECKPOINT =
            ConfigOptions.key("state.backend.ferrostate.metrics.checkpoint")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription(
                            "Registers the checkpoint metrics per keyed backend (group"
                                    + " 'ferrostate.checkpoint': last-uploaded-bytes, what the last native"
                                    + " checkpoint or savepoint uploaded).");

    /** Testing only: a file whose existence turns on the store's write-failure switch. */
    public static final ConfigOption<String> DEBUG_FAIL_WRITES_FILE =
            ConfigOptions.key("state.backend.ferrostate.debug.fail-writes-file")
                    .stringType()
                    .noDefaultValue()
                    .withDescription(
                            "Testing only (fault drills). A local file path: while this file exists,"
                                    + " every write of ferrostate's stores in the TaskManager fails as if"
                                    + " the disk were full ('no space left on device (ferrostate fault"
                                    + " injection is on)'), which fails the task; once it is deleted, the"
                                    + " job recovers. Checked when a keyed backend is created or restored"
                                    + " and before each snapshot writes the hot tier back, not on state"
                                    + " accesses. The switch is shared by every store of the TaskManager"
                                    + " whose ferrostate classes come from the same class loader. Unset"
                                    + " (the default), ferrostate never touches the switch.");
}
