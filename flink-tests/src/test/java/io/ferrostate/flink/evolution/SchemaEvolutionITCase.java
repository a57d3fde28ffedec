package io.ferrostate.flink.evolution;

import io.ferrostate.flink.FerroKeyedStateBackend;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.core.execution.RestoreMode;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.testutils.logging.LoggerAuditingExtension;
import org.apache.flink.util.ExceptionUtils;
import org.apache.flink.util.StateMigrationException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.event.Level;

import java.io.File;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static io.ferrostate.flink.evolution.EvolvingStateJob.SEEN;
import static io.ferrostate.flink.evolution.EvolvingStateJob.STATES;
import static io.ferrostate.flink.evolution.EvolvingStateJob.slots;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Schema evolution end to end on a MiniCluster that runs ferrostate, chosen by {@code
 * state.backend.type} only. A job keeps a POJO and an Avro record in value, map and list state
 * (v1), takes a savepoint, and is upgraded to v2 (a field added to each type) and then to v3 (POJO:
 * a field removed, one renamed, a nullable one added; Avro: a field renamed with an alias, one
 * removed, a nullable one added). Each version's classes come only from its own job jar. After each
 * step every entry of every key is compared field by field with what Flink's evolution rules say it
 * must be, and the backend must have rewritten every state (the serializers report "compatible
 * after migration"). Two incompatible upgrades (a POJO field's type changed; an Avro field added
 * without a default) must fail at restore with Flink's {@link StateMigrationException}, and the
 * savepoint must still restore afterwards. Runs with canonical and with native savepoints.
 *
 * <p>{@link #incompatibleUpgradesFailAsOnFlinksOwnBackends()} runs the two incompatible upgrades on
 * Flink's HashMap and RocksDB backends too (chosen per job) and compares how each fails.
 */
class SchemaEvolutionITCase {
    private static final int KEYS = 300;
    private static final int PARALLELISM = 2;
    private static final long TIMEOUT_MS = 60_000;

    private static MiniCluster cluster;
    private static File v1Jar;
    private static File v2Jar;
    private static File v3Jar;
    private static File pojoTypeChangedJar;
    private static File avroFieldWithoutDefaultJar;

    @TempDir static java.nio.file.Path jars;
    @TempDir java.nio.file.Path savepoints;

    @RegisterExtension
    final LoggerAuditingExtension backendLog =
            new LoggerAuditingExtension(FerroKeyedStateBackend.class, Level.INFO);

    @BeforeAll
    static void startClusterAndBuildJars() throws Exception {
        v1Jar = VersionJars.build(jars, "v1", "Account-v1.java", "Event-v1.avsc");
        v2Jar = VersionJars.build(jars, "v2", "Account-v2.java", "Event-v2.avsc");
        v3Jar = VersionJars.build(jars, "v3", "Account-v3.java", "Event-v3.avsc");
        pojoTypeChangedJar =
                VersionJars.build(
                        jars,
                        "pojo-type-changed",
                        "Account-balance-as-string.java",
                        "Event-v1.avsc");
        avroFieldWithoutDefaultJar =
                VersionJars.build(
                        jars,
                        "avro-no-default",
                        "Account-v1.java",
                        "Event-required-field-added.avsc");

        Configuration conf = new Configuration();
        conf.setString(
                StateBackendOptions.STATE_BACKEND.key(),
                "io.ferrostate.flink.FerroStateBackendFactory");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(128));
        // Other tests may run on this machine at the same time: no fixed ports.
        conf.set(RestOptions.BIND_PORT, "0");
        cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(conf)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(PARALLELISM)
                                .build());
        cluster.start();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @ParameterizedTest(name = "{0} savepoints")
    @EnumSource(SavepointFormatType.class)
    void everyEntrySurvivesTwoUpgradesAndIncompatibleOnesFailClearly(SavepointFormatType format)
            throws Exception {
        // v1: fresh state, every slot written.
        String sp1 = runAndSavepoint(v1Jar, null, format, new WriteV1(), 0);
        assertAllKeysSaw(k -> Collections.emptyMap());
        assertThat(EvolvingStateJob.CLASSES)
                .containsExactly("state:io.ferrostate.flink.FerroValueState");
        assertThat(migratedStates()).as("a fresh job migrates nothing").isEmpty();

        // Incompatible upgrades fail at restore, clearly, and leave the savepoint usable.
        expectIncompatible(pojoTypeChangedJar, sp1, "PojoSerializer");
        expectIncompatible(avroFieldWithoutDefaultJar, sp1, "AvroSerializer");

        // v2: a field added to each type. Every entry migrates; even keys then fill the new field.
        String sp2 = runAndSavepoint(v2Jar, sp1, format, new WriteV2(), 1);
        assertAllKeysSaw(k -> expectedState(1, k));
        assertThat(EvolvingStateJob.CLASSES)
                .as("state types from the job jar's own class loader")
                .contains(
                        "state:io.ferrostate.flink.FerroValueState",
                        "evo.Account@org.apache.flink.util.ChildFirstClassLoader",
                        "evo.Event@org.apache.flink.util.ChildFirstClassLoader");
        assertThat(migratedStates())
                .as("states rewritten by the v2 restore")
                .isEqualTo(new TreeSet<>(STATES));
        assertThat(migrationCount()).isEqualTo(STATES.size() * PARALLELISM);

        // v3: removed, renamed and nullable fields. Every entry migrates again.
        String sp3 = runAndSavepoint(v3Jar, sp2, format, new WriteV3(), 2);
        assertAllKeysSaw(k -> expectedState(2, k));
        assertThat(migratedStates())
                .as("states rewritten by the v3 restore")
                .isEqualTo(new TreeSet<>(STATES));
        assertThat(migrationCount()).isEqualTo(STATES.size() * PARALLELISM);

        // v3 again: what v3 wrote is there, and nothing needs migrating.
        runAndSavepoint(v3Jar, sp3, format, new Untouched(), 3);
        assertAllKeysSaw(k -> expectedState(3, k));
        assertThat(migratedStates()).as("same classes: compatible as is").isEmpty();

        // The v1 savepoint still restores with a compatible version after everything above.
        runAndSavepoint(v2Jar, sp1, format, new Untouched(), -1);
        assertAllKeysSaw(k -> expectedState(1, k));
    }

    // ------------------------------------------------------------------------
    //  Runs
    // ------------------------------------------------------------------------

    private int logMark;

    private String runAndSavepoint(
            File jar,
            String restoreFrom,
            SavepointFormatType format,
            EvolvingStateJob.Mutation m,
            int stage)
            throws Exception {
        return runAndSavepoint(jar, restoreFrom, format, m, stage, new Configuration());
    }

    private String runAndSavepoint(
            File jar,
            String restoreFrom,
            SavepointFormatType format,
            EvolvingStateJob.Mutation m,
            int stage,
            Configuration jobConf)
            throws Exception {
        EvolvingStateJob.reset();
        logMark = backendLog.getMessages().size();
        JobGraph graph =
                EvolvingStateJob.jobGraph(KEYS, PARALLELISM, m, restore(restoreFrom), jobConf);
        graph.addJar(new Path(jar.toURI()));
        JobID id = cluster.submitJob(graph).get().getJobID();
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (SEEN.size() < KEYS) {
            JobStatus status = cluster.getJobStatus(id).get();
            if (status.isGloballyTerminalState()) {
                Throwable cause =
                        cluster.requestJobResult(id)
                                .get()
                                .getSerializedThrowable()
                                .map(t -> t.deserializeError(getClass().getClassLoader()))
                                .orElse(null);
                throw new AssertionError("Job of stage " + stage + " ended " + status, cause);
            }
            assertThat(System.currentTimeMillis())
                    .as("all keys processed in time")
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
        String path =
                cluster.triggerSavepoint(id, savepoints.toUri().toString(), true, format).get();
        JobResult result = cluster.requestJobResult(id).get();
        assertThat(result.getApplicationStatus().name()).isEqualTo("CANCELED");
        return path;
    }

    private static SavepointRestoreSettings restore(String path) {
        return path == null
                ? SavepointRestoreSettings.none()
                : SavepointRestoreSettings.forPath(path, false, RestoreMode.NO_CLAIM);
    }

    /** Runs a job that must fail, and returns why. */
    private Throwable failure(File jar, String savepoint, Configuration jobConf) throws Exception {
        EvolvingStateJob.reset();
        JobGraph graph =
                EvolvingStateJob.jobGraph(
                        KEYS, PARALLELISM, new Untouched(), restore(savepoint), jobConf);
        graph.addJar(new Path(jar.toURI()));
        JobID id = cluster.submitJob(graph).get().getJobID();
        JobResult result = cluster.requestJobResult(id).get();
        assertThat(result.getApplicationStatus().name()).isEqualTo("FAILED");
        assertThat(SEEN).as("nothing processed by an incompatible job").isEmpty();
        return result.getSerializedThrowable().get().deserializeError(getClass().getClassLoader());
    }

    private void expectIncompatible(File jar, String savepoint, String serializer)
            throws Exception {
        Throwable failure = failure(jar, savepoint, new Configuration());
        Optional<StateMigrationException> migration =
                ExceptionUtils.findThrowableSerializedAware(
                        failure, StateMigrationException.class, getClass().getClassLoader());
        assertThat(migration)
                .as("StateMigrationException in %s", ExceptionUtils.stringifyException(failure))
                .isPresent();
        assertThat(migration.get().getMessage())
                .contains("must not be incompatible with the old state serializer")
                .contains(serializer);
    }

    /**
     * The same incompatible upgrades on Flink's HashMap and RocksDB backends (chosen per job by
     * {@code state.backend.type}) and on ferrostate, from canonical savepoints: how each fails.
     */
    @Test
    void incompatibleUpgradesFailAsOnFlinksOwnBackends() throws Exception {
        Map<String, Map<String, String>> kinds = new TreeMap<>();
        for (String backend :
                new String[] {
                    "hashmap", "rocksdb", "io.ferrostate.flink.FerroStateBackendFactory"
                }) {
            Configuration jobConf = new Configuration();
            jobConf.setString(StateBackendOptions.STATE_BACKEND.key(), backend);
            String sp1 =
                    runAndSavepoint(
                            v1Jar, null, SavepointFormatType.CANONICAL, new WriteV1(), 0, jobConf);
            assertThat(EvolvingStateJob.CLASSES)
                    .as("the job ran on %s", backend)
                    .containsExactly(
                            "state:"
                                    + (backend.equals("hashmap")
                                            ? "org.apache.flink.runtime.state.heap.HeapValueState"
                                            : backend.equals("rocksdb")
                                                    ? "org.apache.flink.contrib.streaming.state.RocksDBValueState"
                                                    : "io.ferrostate.flink.FerroValueState"));
            Map<String, String> byChange = new TreeMap<>();
            byChange.put(
                    "pojo field type changed", kind(failure(pojoTypeChangedJar, sp1, jobConf)));
            byChange.put(
                    "avro field without default",
                    kind(failure(avroFieldWithoutDefaultJar, sp1, jobConf)));
            kinds.put(backend, byChange);
        }
        System.out.println("Incompatible upgrades, side by side: " + kinds);
        // ferrostate fails as RocksDB does: Flink's StateMigrationException when the state is
        // registered. (HashMap reads every value at restore and fails there, with the reader's
        // own error: printed above.)
        assertThat(kinds.get("io.ferrostate.flink.FerroStateBackendFactory"))
                .isEqualTo(kinds.get("rocksdb"))
                .allSatisfy((change, kind) -> assertThat(kind).contains("StateMigrationException"));
    }

    /** The exception classes in a failure's chain, outermost first, with the innermost message. */
    private static String kind(Throwable failure) {
        List<String> chain = new java.util.ArrayList<>();
        Throwable t = failure;
        Throwable last = failure;
        while (t != null) {
            String name =
                    t instanceof org.apache.flink.util.SerializedThrowable
                            ? ((org.apache.flink.util.SerializedThrowable) t)
                                    .getOriginalErrorClassName()
                            : t.getClass().getName();
            chain.add(name.substring(name.lastIndexOf('.') + 1));
            last = t;
            t = t.getCause();
        }
        // Identity hashes (PojoSerializer@1a2b3c) differ between runs.
        return chain + ": " + String.valueOf(last.getMessage()).replaceAll("@[0-9a-f]+", "@…");
    }

    // ------------------------------------------------------------------------
    //  What each version writes
    // ------------------------------------------------------------------------

    private static String tag(long key, String state, String slot) {
        return state + "/" + key + "/" + slot;
    }

    private static int slotNumber(String slot) {
        return "v".equals(slot) ? 9 : Integer.parseInt(slot);
    }

    private static boolean pojo(String state) {
        return state.startsWith("pojo");
    }

    /** v1 writes every field of every slot. */
    static final class WriteV1 implements EvolvingStateJob.Mutation {
        @Override
        public Map<String, Object> fields(long key, String state, String slot) {
            String tag = tag(key, state, slot);
            Map<String, Object> f = new HashMap<>();
            f.put("id", key * 100 + slotNumber(slot));
            f.put("owner", "owner:" + tag);
            f.put(pojo(state) ? "balance" : "amount", (int) key * 10 + slotNumber(slot));
            f.put(pojo(state) ? "note" : "legacy", "old:" + tag);
            return f;
        }
    }

    static boolean v2Writes(long key) {
        return key % 2 == 0;
    }

    static boolean v3Writes(long key) {
        return key % 3 == 0;
    }

    /** v2 fills the new field of even keys only: odd keys stay as the migration left them. */
    static final class WriteV2 implements EvolvingStateJob.Mutation {
        @Override
        public Map<String, Object> fields(long key, String state, String slot) {
            if (!v2Writes(key)) {
                return Collections.emptyMap();
            }
            String tag = tag(key, state, slot);
            return Collections.singletonMap(pojo(state) ? "email" : "category", "v2:" + tag);
        }
    }

    /** v3 writes its new and renamed fields for every third key. */
    static final class WriteV3 implements EvolvingStateJob.Mutation {
        @Override
        public Map<String, Object> fields(long key, String state, String slot) {
            if (!v3Writes(key)) {
                return Collections.emptyMap();
            }
            String tag = tag(key, state, slot);
            Map<String, Object> f = new HashMap<>();
            if (pojo(state)) {
                f.put("holder", "v3:" + tag);
                f.put("score", (int) key + slotNumber(slot));
            } else {
                f.put("comment", "v3:" + tag);
            }
            return f;
        }
    }

    static final class Untouched implements EvolvingStateJob.Mutation {
        @Override
        public Map<String, Object> fields(long key, String state, String slot) {
            return Collections.emptyMap();
        }
    }

    // ------------------------------------------------------------------------
    //  What each version must read, by Flink's rules
    // ------------------------------------------------------------------------

    /**
     * The fields of one entry as the reading version sees it. Stage 1: v2 reads v1's entries; 2: v3
     * reads v2's; 3: v3 reads v3's.
     */
    static Map<String, String> expectedEntry(int stage, long key, String state, String slot) {
        String tag = tag(key, state, slot);
        Map<String, String> f = new TreeMap<>();
        f.put("id", String.valueOf(key * 100 + slotNumber(slot)));
        String number = String.valueOf((int) key * 10 + slotNumber(slot));
        String owner = "owner:" + tag;
        String old = "old:" + tag;
        String v2 = v2Writes(key) ? "v2:" + tag : null;
        String v3 = stage >= 3 && v3Writes(key) ? "v3:" + tag : null;
        if (pojo(state)) {
            f.put("balance", number);
            f.put("email", String.valueOf(stage >= 2 ? v2 : null));
            if (stage == 1) {
                f.put("owner", owner);
                f.put("note", old);
            } else {
                // owner -> holder is a removal plus an addition: the old values are gone.
                f.put("holder", String.valueOf(v3));
                f.put("score", v3 == null ? "null" : String.valueOf((int) key + slotNumber(slot)));
            }
        } else {
            f.put("amount", number);
            f.put("category", stage >= 2 && v2 != null ? v2 : "none");
            if (stage == 1) {
                f.put("owner", owner);
                f.put("legacy", old);
            } else {
                // owner -> holder with an alias: Avro's schema resolution keeps the values.
                f.put("holder", owner);
                f.put("comment", String.valueOf(v3));
            }
        }
        return f;
    }

    static Map<String, Map<String, Map<String, String>>> expectedState(int stage, long key) {
        Map<String, Map<String, Map<String, String>>> expected = new TreeMap<>();
        for (String state : STATES) {
            Map<String, Map<String, String>> entries = new TreeMap<>();
            for (String slot : slots(state)) {
                entries.put(slot, expectedEntry(stage, key, state, slot));
            }
            expected.put(state, entries);
        }
        return expected;
    }

    private static void assertAllKeysSaw(
            java.util.function.LongFunction<Map<String, Map<String, Map<String, String>>>>
                    expected) {
        assertThat(SEEN).hasSize(KEYS);
        for (long k = 0; k < KEYS; k++) {
            Map<String, Map<String, Map<String, String>>> want = expected.apply(k);
            if (want.isEmpty()) {
                assertThat(SEEN.get(k).values()).as("key %d", k).allMatch(Map::isEmpty);
            } else {
                assertThat(SEEN.get(k)).as("state of key %d", k).isEqualTo(want);
            }
        }
    }

    // ------------------------------------------------------------------------
    //  The backend's migration log
    // ------------------------------------------------------------------------

    private static final Pattern MIGRATED =
            Pattern.compile("Performing state migration for state \\w+\\{name=([a-z-]+),");

    private List<String> migrationsSinceMark() {
        List<String> messages = backendLog.getMessages();
        return messages.subList(logMark, messages.size()).stream()
                .map(MIGRATED::matcher)
                .filter(Matcher::find)
                .map(m -> m.group(1))
                .collect(Collectors.toList());
    }

    private Set<String> migratedStates() {
        return new TreeSet<>(migrationsSinceMark());
    }

    private int migrationCount() {
        return migrationsSinceMark().size();
    }
}
