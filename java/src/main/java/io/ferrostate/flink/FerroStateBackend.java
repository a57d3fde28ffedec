package io.ferrostate.flink;

import io.ferrostate.flink.compat.StateBackendBase;
import io.ferrostate.flink.compat.StateTracking;
import io.ferrostate.flink.nativ.NativeLibraryLoader;
import io.ferrostate.flink.nativ.NativeMemory;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.IllegalConfigurationException;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.execution.Environment;
import org.apache.flink.runtime.memory.MemoryManager;
import org.apache.flink.runtime.memory.OpaqueMemoryResource;
import org.apache.flink.runtime.state.AbstractKeyedStateBackend;
import org.apache.flink.runtime.state.ConfigurableStateBackend;
import org.apache.flink.runtime.state.DefaultOperatorStateBackendBuilder;
import org.apache.flink.runtime.state.OperatorStateBackend;
import org.apache.flink.runtime.state.StreamCompressionDecorator;
import org.apache.flink.util.TernaryBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.annotation.Nullable;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * ferrostate: keyed state in a native store written in Rust (a hot tier in front of RocksDB),
 * reached through JNI.
 *
 * <p>Select it with {@code state.backend.type: io.ferrostate.flink.FerroStateBackendFactory} in the
 * Flink configuration, or in code with {@code env.setStateBackend(new FerroStateBackend())}.
 * Checkpoint storage is configured as usual; the stores share the slot's managed memory.
 */
@PublicEvolving
public class FerroStateBackend extends StateBackendBase implements ConfigurableStateBackend {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(FerroStateBackend.class);

    /** Id of the shared managed-memory resource of a slot. */
    static final String MANAGED_MEMORY_RESOURCE_ID = "ferrostate-managed-memory";

    static final String FIXED_MEMORY_RESOURCE_ID = "ferrostate-fixed-memory";

    private static final long MIN_BUDGET = 16L << 20;

    /** Latency (and on Flink 2, size) tracking of state accesses, as Flink's backends offer. */
    private final StateTracking tracking;

    private final TernaryBoolean incremental;
    @Nullable private final String[] localDirectories;
    private final TernaryBoolean useManagedMemory;
    @Nullable private final MemorySize fixedMemoryPerSlot;
    @Nullable private final MemorySize fallbackMemory;
    private final double hotRatio;
    private final double writeBufferRatio;
    @Nullable private final MemorySize maxHotValue;

    /** {@link FerroStateOptions#CHECKPOINT_TRANSFER_THREAD_NUM}; -1 when unset. */
    private final int transferThreads;

    /** {@link FerroStateOptions#DEBUG_FAIL_WRITES_FILE}; null when unset. */
    @Nullable private final String failWritesFile;

    /** {@link FerroStateOptions#TIMER_SERVICE_FACTORY}; null when unset. */
    @Nullable private final FerroStateOptions.TimerServiceFactory timerService;

    /** {@link FerroStateOptions#TIMER_HEAP_BUFFER}; -1 when unset. */
    private final int timerHeapBuffer;

    /** {@link FerroStateOptions#ASYNC_INLINE_EXECUTION}. */
    private final TernaryBoolean inlineStateRequests;

    /** Which metrics each keyed backend registers ({@code state.backend.ferrostate.metrics.*}). */
    private final FerroMetrics.Groups metrics;

    /** A backend configured from the cluster and job configuration. */
    public FerroStateBackend() {
        this(TernaryBoolean.UNDEFINED);
    }

    /** A backend with incremental checkpoints on or off, whatever the configuration says. */
    public FerroStateBackend(boolean incrementalCheckpoints) {
        this(TernaryBoolean.fromBoolean(incrementalCheckpoints));
    }

    public FerroStateBackend(TernaryBoolean incrementalCheckpoints) {
        this.tracking = new StateTracking();
        this.incremental = incrementalCheckpoints;
        this.localDirectories = null;
        this.useManagedMemory = TernaryBoolean.UNDEFINED;
        this.fixedMemoryPerSlot = null;
        this.fallbackMemory = null;
        this.hotRatio = -1;
        this.writeBufferRatio = -1;
        this.maxHotValue = null;
        this.transferThreads = -1;
        this.failWritesFile = null;
        this.timerService = null;
        this.timerHeapBuffer = -1;
        this.inlineStateRequests = TernaryBoolean.UNDEFINED;
        this.metrics = FerroMetrics.Groups.all();
    }

    private FerroStateBackend(FerroStateBackend original, ReadableConfig config) {
        this.tracking = original.tracking.configure(config);
        this.incremental =
                original.incremental.resolveUndefined(
                        config.get(CheckpointingOptions.INCREMENTAL_CHECKPOINTS));
        this.localDirectories =
                original.localDirectories != null
                        ? original.localDirectories
                        : config.getOptional(FerroStateOptions.LOCAL_DIRECTORIES)
                                .map(s -> s.split(",|" + File.pathSeparator))
                                .orElse(null);
        this.useManagedMemory =
                original.useManagedMemory.resolveUndefined(
                        config.get(FerroStateOptions.USE_MANAGED_MEMORY));
        this.fixedMemoryPerSlot =
                original.fixedMemoryPerSlot != null
                        ? original.fixedMemoryPerSlot
                        : config.getOptional(FerroStateOptions.FIX_PER_SLOT_MEMORY_SIZE)
                                .orElse(null);
        this.fallbackMemory =
                original.fallbackMemory != null
                        ? original.fallbackMemory
                        : config.get(FerroStateOptions.FALLBACK_MEMORY_SIZE);
        this.hotRatio =
                original.hotRatio >= 0
                        ? original.hotRatio
                        : config.get(FerroStateOptions.HOT_TIER_RATIO);
        this.writeBufferRatio =
                original.writeBufferRatio >= 0
                        ? original.writeBufferRatio
                        : config.get(FerroStateOptions.WRITE_BUFFER_RATIO);
        this.maxHotValue =
                original.maxHotValue != null
                        ? original.maxHotValue
                        : config.get(FerroStateOptions.MAX_HOT_VALUE_SIZE);
        this.transferThreads =
                original.transferThreads > 0
                        ? original.transferThreads
                        : config.get(FerroStateOptions.CHECKPOINT_TRANSFER_THREAD_NUM);
        this.failWritesFile =
                original.failWritesFile != null
                        ? original.failWritesFile
                        : config.getOptional(FerroStateOptions.DEBUG_FAIL_WRITES_FILE)
                                .filter(s -> !s.trim().isEmpty())
                                .orElse(null);
        this.timerService =
                original.timerService != null
                        ? original.timerService
                        : config.get(FerroStateOptions.TIMER_SERVICE_FACTORY);
        this.timerHeapBuffer =
                original.timerHeapBuffer > 0
                        ? original.timerHeapBuffer
                        : config.get(FerroStateOptions.TIMER_HEAP_BUFFER);
        this.inlineStateRequests =
                original.inlineStateRequests.resolveUndefined(
                        config.get(FerroStateOptions.ASYNC_INLINE_EXECUTION));
        this.metrics = FerroMetrics.Groups.from(config);
        if (hotRatio < 0 || hotRatio > 0.9) {
            throw new IllegalConfigurationException(
                    FerroStateOptions.HOT_TIER_RATIO.key()
                            + " must be within [0, 0.9], is "
                            + hotRatio);
        }
        if (writeBufferRatio <= 0 || writeBufferRatio >= 1) {
            throw new IllegalConfigurationException(
                    FerroStateOptions.WRITE_BUFFER_RATIO.key()
                            + " must be within (0, 1), is "
                            + writeBufferRatio);
        }
        if (timerHeapBuffer < 1) {
            throw new IllegalConfigurationException(
                    FerroStateOptions.TIMER_HEAP_BUFFER.key()
                            + " must be at least 1, is "
                            + timerHeapBuffer);
        }
        if (transferThreads < 1) {
            throw new IllegalConfigurationException(
                    FerroStateOptions.CHECKPOINT_TRANSFER_THREAD_NUM.key()
                            + " must be at least 1, is "
                            + transferThreads);
        }
    }

    @Override
    public FerroStateBackend configure(ReadableConfig config, ClassLoader classLoader) {
        return new FerroStateBackend(this, config);
    }

    /**
     * Whether the task thread executes asynchronous state requests itself while the state executor
     * is idle ({@link FerroStateOptions#ASYNC_INLINE_EXECUTION}; Flink 2.x).
     */
    public boolean isInlineStateRequests() {
        return inlineStateRequests.getOrDefault(
                FerroStateOptions.ASYNC_INLINE_EXECUTION.defaultValue());
    }

    /** Where timers live ({@link FerroStateOptions#TIMER_SERVICE_FACTORY}). */
    public FerroStateOptions.TimerServiceFactory getTimerServiceFactory() {
        return timerService != null
                ? timerService
                : FerroStateOptions.TIMER_SERVICE_FACTORY.defaultValue();
    }

    public boolean isIncrementalCheckpointsEnabled() {
        return incremental.getOrDefault(
                CheckpointingOptions.INCREMENTAL_CHECKPOINTS.defaultValue());
    }

    @Override
    public String getName() {
        return "ferrostate";
    }

    @Override
    public boolean supportsNoClaimRestoreMode() {
        // Every checkpoint is self-contained: nothing is shared with an earlier one.
        return true;
    }

    @Override
    public boolean supportsSavepointFormat(SavepointFormatType formatType) {
        return formatType == SavepointFormatType.CANONICAL
                || formatType == SavepointFormatType.NATIVE;
    }

    @Override
    public <K> AbstractKeyedStateBackend<K> createKeyedStateBackend(
            KeyedStateBackendParameters<K> parameters) throws IOException {
        NativeLibraryLoader.ensureLoaded();
        FailWritesFile faultSwitch =
                failWritesFile == null ? null : new FailWritesFile(failWritesFile);
        if (faultSwitch != null) {
            faultSwitch.sync();
        }
        Environment env = parameters.getEnv();
        String operator = parameters.getOperatorIdentifier().replaceAll("[^a-zA-Z0-9\\-]", "_");
        File instanceBasePath =
                new File(
                        pickDirectory(env),
                        "ferrostate_job_"
                                + parameters.getJobID()
                                + "_op_"
                                + operator
                                + "_uuid_"
                                + UUID.randomUUID());
        Memory memory = acquireMemory(env, parameters.getManagedMemoryFraction());
        ExecutionConfig executionConfig = env.getExecutionConfig();
        StreamCompressionDecorator compression = getCompressionDecorator(executionConfig);
        FerroKeyedStateBackend<K> backend =
                new FerroKeyedStateBackendBuilder<>(
                                parameters.getKvStateRegistry(),
                                parameters.getKeySerializer(),
                                env.getUserCodeClassLoader().asClassLoader(),
                                parameters.getNumberOfKeyGroups(),
                                parameters.getKeyGroupRange(),
                                executionConfig,
                                parameters.getTtlTimeProvider(),
                                tracking.build(parameters.getMetricGroup()),
                                parameters.getStateHandles(),
                                compression,
                                parameters.getCancelStreamRegistry(),
                                instanceBasePath,
                                memory.memory,
                                memory.lease,
                                maxHotValue == null
                                        ? FerroStateOptions.MAX_HOT_VALUE_SIZE
                                                .defaultValue()
                                                .getBytes()
                                        : maxHotValue.getBytes(),
                                env.getTaskStateManager().createLocalRecoveryConfig())
                        .setIncremental(isIncrementalCheckpointsEnabled())
                        .setNativeTimers(
                                getTimerServiceFactory()
                                        == FerroStateOptions.TimerServiceFactory.NATIVE)
                        .setTimerHeapBuffer(effectiveTimerHeapBuffer())
                        .setTransferThreads(
                                transferThreads > 0
                                        ? transferThreads
                                        : FerroStateOptions.CHECKPOINT_TRANSFER_THREAD_NUM
                                                .defaultValue())
                        .build();
        backend.setFailWritesFile(faultSwitch);
        // One line per keyed backend: what an operator (and the real-cluster tests) can check.
        LOG.info(
                "ferrostate keyed backend of job {}, operator {}, key groups {}: timers {},"
                        + " timer heap buffer {}, incremental checkpoints {}, in {}.",
                parameters.getJobID(),
                parameters.getOperatorIdentifier(),
                parameters.getKeyGroupRange(),
                getTimerServiceFactory(),
                effectiveTimerHeapBuffer(),
                isIncrementalCheckpointsEnabled(),
                instanceBasePath);
        if (metrics.any()) {
            backend.registerMetrics(parameters.getMetricGroup(), metrics);
        }
        return backend;
    }

    /**
     * The timer heap buffer keyed backends get: the configured one, or the option's default for a
     * backend built in code without {@code configure()} (whose field is -1).
     */
    private int effectiveTimerHeapBuffer() {
        return timerHeapBuffer > 0
                ? timerHeapBuffer
                : FerroStateOptions.TIMER_HEAP_BUFFER.defaultValue();
    }

    private File pickDirectory(Environment env) {
        List<File> dirs = new ArrayList<>();
        if (localDirectories != null) {
            for (String d : localDirectories) {
                if (!d.trim().isEmpty()) {
                    dirs.add(new File(d.trim()));
                }
            }
        }
        if (dirs.isEmpty()) {
            return env.getTaskManagerInfo().getTmpWorkingDirectory();
        }
        return dirs.get(ThreadLocalRandom.current().nextInt(dirs.size()));
    }

    /** The budget of a store and what releases it. */
    private static final class Memory {
        final NativeMemory memory;
        final AutoCloseable lease;

        Memory(NativeMemory memory, AutoCloseable lease) {
            this.memory = memory;
            this.lease = lease;
        }
    }

    private Memory acquireMemory(Environment env, double fraction) throws IOException {
        double hot = hotRatio < 0 ? FerroStateOptions.HOT_TIER_RATIO.defaultValue() : hotRatio;
        double wb =
                writeBufferRatio < 0
                        ? FerroStateOptions.WRITE_BUFFER_RATIO.defaultValue()
                        : writeBufferRatio;
        MemoryManager mm = env.getMemoryManager();
        try {
            if (fixedMemoryPerSlot != null) {
                OpaqueMemoryResource<NativeMemory> r =
                        mm.getExternalSharedMemoryResource(
                                FIXED_MEMORY_RESOURCE_ID,
                                size -> new NativeMemory(size, hot, wb),
                                fixedMemoryPerSlot.getBytes());
                return new Memory(r.getResourceHandle(), r);
            }
            boolean managed = useManagedMemory.getOrDefault(true);
            if (managed && mm.computeMemorySize(fraction) >= MIN_BUDGET) {
                OpaqueMemoryResource<NativeMemory> r =
                        mm.getSharedMemoryResourceForManagedMemory(
                                MANAGED_MEMORY_RESOURCE_ID,
                                size -> new NativeMemory(size, hot, wb),
                                fraction);
                LOG.info(
                        "ferrostate uses {} bytes of managed memory shared by the slot.",
                        r.getSize());
                return new Memory(r.getResourceHandle(), r);
            }
        } catch (Exception e) {
            throw new IOException("Could not acquire the memory budget of ferrostate.", e);
        }
        long size =
                fallbackMemory == null
                        ? FerroStateOptions.FALLBACK_MEMORY_SIZE.defaultValue().getBytes()
                        : fallbackMemory.getBytes();
        LOG.warn(
                "ferrostate gets no managed memory (fraction {}); using a private budget of {} bytes.",
                fraction,
                size);
        NativeMemory own = new NativeMemory(size, hot, wb);
        return new Memory(own, own);
    }

    @Override
    public OperatorStateBackend createOperatorStateBackend(
            OperatorStateBackendParameters parameters) throws Exception {
        Environment env = parameters.getEnv();
        return new DefaultOperatorStateBackendBuilder(
                        env.getUserCodeClassLoader().asClassLoader(),
                        env.getExecutionConfig(),
                        true,
                        parameters.getStateHandles(),
                        parameters.getCancelStreamRegistry())
                .build();
    }

    @Override
    public String toString() {
        return "FerroStateBackend{incremental=" + incremental + "}";
    }
}
