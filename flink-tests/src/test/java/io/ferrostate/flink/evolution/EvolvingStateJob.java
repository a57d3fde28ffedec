package io.ferrostate.flink.evolution;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;
import org.apache.flink.streaming.api.functions.source.SourceFunction;
import org.apache.flink.util.Collector;

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;

import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The job whose state evolves. Its code is the test's (loaded by the parent class loader); the
 * types it keeps in state, the POJO {@code evo.Account} and the Avro record {@code evo.Event}, come
 * only from the version's job jar, loaded by the job's user-code class loader, as in a real job
 * upgrade. Each run reads every entry of six states (value, map and list state of each type) for
 * every key, reports what it read, then changes the entries the version's {@link Mutation} names.
 */
final class EvolvingStateJob {
    private EvolvingStateJob() {}

    static final String POJO_CLASS = "evo.Account";
    static final String AVRO_CLASS = "evo.Event";

    static final String POJO_VALUE = "pojo-value";
    static final String POJO_MAP = "pojo-map";
    static final String POJO_LIST = "pojo-list";
    static final String AVRO_VALUE = "avro-value";
    static final String AVRO_MAP = "avro-map";
    static final String AVRO_LIST = "avro-list";
    static final List<String> STATES =
            Arrays.asList(POJO_VALUE, POJO_MAP, POJO_LIST, AVRO_VALUE, AVRO_MAP, AVRO_LIST);

    /** Slots of each state: the value, the map's user keys, the list's indexes. */
    static List<String> slots(String state) {
        if (state.endsWith("-value")) {
            return Collections.singletonList("v");
        }
        return state.endsWith("-map") ? Arrays.asList("0", "1", "2") : Arrays.asList("0", "1");
    }

    /** What each key's state looked like when the run read it (state -> slot -> field -> value). */
    static final Map<Long, Map<String, Map<String, Map<String, String>>>> SEEN =
            new ConcurrentHashMap<>();

    /** Classes of the state objects and of the types read: proves what ran. */
    static final Set<String> CLASSES = ConcurrentHashMap.newKeySet();

    static void reset() {
        SEEN.clear();
        CLASSES.clear();
    }

    /** The fields a version writes into one slot of one state of one key; empty: leave it. */
    interface Mutation extends Serializable {
        Map<String, Object> fields(long key, String state, String slot);
    }

    static JobGraph jobGraph(
            int keys, int parallelism, Mutation mutation, SavepointRestoreSettings restore) {
        return jobGraph(keys, parallelism, mutation, restore, new Configuration());
    }

    /** The job; {@code jobConf} may name a state backend for this job only. */
    static JobGraph jobGraph(
            int keys,
            int parallelism,
            Mutation mutation,
            SavepointRestoreSettings restore,
            Configuration jobConf) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        env.setParallelism(parallelism);
        env.setMaxParallelism(128);
        env.getConfig().disableGenericTypes();
        env.addSource(new KeysThenIdle(keys), Types.LONG)
                .setParallelism(1)
                .uid("keys")
                .keyBy(k -> k, Types.LONG)
                .process(new EvolvingStateFunction(mutation), Types.LONG)
                .uid("evolving-state")
                .addSink(new DiscardingSink<>())
                .uid("sink");
        JobGraph graph = env.getStreamGraph().getJobGraph();
        graph.setSavepointRestoreSettings(restore);
        return graph;
    }

    /** Emits each key once, then stays up until the test takes its savepoint and cancels. */
    static final class KeysThenIdle implements SourceFunction<Long> {
        private final int keys;
        private volatile boolean running = true;

        KeysThenIdle(int keys) {
            this.keys = keys;
        }

        @Override
        public void run(SourceContext<Long> ctx) throws Exception {
            for (long k = 0; k < keys && running; k++) {
                synchronized (ctx.getCheckpointLock()) {
                    ctx.collect(k);
                }
            }
            while (running) {
                Thread.sleep(20);
            }
        }

        @Override
        public void cancel() {
            running = false;
        }
    }

    /** Reads and rewrites the six states through reflection on the version's classes. */
    static final class EvolvingStateFunction extends KeyedProcessFunction<Long, Long, Long> {
        private final Mutation mutation;
        private transient Class<?> pojoClass;
        private transient Class<?> avroClass;
        private transient ValueState<Object> pojoValue;
        private transient MapState<Integer, Object> pojoMap;
        private transient ListState<Object> pojoList;
        private transient ValueState<Object> avroValue;
        private transient MapState<String, Object> avroMap;
        private transient ListState<Object> avroList;

        EvolvingStateFunction(Mutation mutation) {
            this.mutation = mutation;
        }

        @Override
        @SuppressWarnings({"unchecked", "rawtypes"})
        public void open(OpenContext openContext) throws Exception {
            ClassLoader cl = getRuntimeContext().getUserCodeClassLoader();
            pojoClass = Class.forName(POJO_CLASS, true, cl);
            avroClass = Class.forName(AVRO_CLASS, true, cl);
            TypeInformation<Object> pojoType =
                    (TypeInformation<Object>) TypeInformation.of(pojoClass);
            if (!(pojoType instanceof PojoTypeInfo)) {
                throw new IllegalStateException(POJO_CLASS + " is not a Flink POJO: " + pojoType);
            }
            TypeInformation<Object> avroType = new AvroTypeInfo(avroClass);
            // Registration order decides which state reports an incompatibility first.
            pojoValue =
                    getRuntimeContext().getState(new ValueStateDescriptor<>(POJO_VALUE, pojoType));
            pojoMap =
                    getRuntimeContext()
                            .getMapState(new MapStateDescriptor<>(POJO_MAP, Types.INT, pojoType));
            pojoList =
                    getRuntimeContext()
                            .getListState(new ListStateDescriptor<>(POJO_LIST, pojoType));
            avroValue =
                    getRuntimeContext().getState(new ValueStateDescriptor<>(AVRO_VALUE, avroType));
            avroMap =
                    getRuntimeContext()
                            .getMapState(
                                    new MapStateDescriptor<>(AVRO_MAP, Types.STRING, avroType));
            avroList =
                    getRuntimeContext()
                            .getListState(new ListStateDescriptor<>(AVRO_LIST, avroType));
            CLASSES.add("state:" + pojoValue.getClass().getName());
        }

        @Override
        public void processElement(Long key, Context ctx, Collector<Long> out) throws Exception {
            Map<String, Map<String, Map<String, String>>> seen = new TreeMap<>();
            seen.put(POJO_VALUE, value(key, POJO_VALUE, pojoValue));
            seen.put(POJO_MAP, map(key, POJO_MAP, pojoMap, Integer::valueOf));
            seen.put(POJO_LIST, list(key, POJO_LIST, pojoList));
            seen.put(AVRO_VALUE, value(key, AVRO_VALUE, avroValue));
            seen.put(AVRO_MAP, map(key, AVRO_MAP, avroMap, slot -> "k" + slot));
            seen.put(AVRO_LIST, list(key, AVRO_LIST, avroList));
            if (SEEN.putIfAbsent(key, seen) != null) {
                throw new IllegalStateException("Key " + key + " seen twice in one run");
            }
            out.collect(key);
        }

        private Map<String, Map<String, String>> value(long key, String state, ValueState<Object> s)
                throws Exception {
            Map<String, Map<String, String>> seen = new TreeMap<>();
            Object v = s.value();
            if (v != null) {
                seen.put("v", fieldsOf(v));
            }
            Map<String, Object> change = mutation.fields(key, state, "v");
            if (!change.isEmpty()) {
                s.update(apply(v == null ? newInstance(state) : v, change));
            }
            return seen;
        }

        private <UK> Map<String, Map<String, String>> map(
                long key,
                String state,
                MapState<UK, Object> s,
                java.util.function.Function<String, UK> userKey)
                throws Exception {
            Map<String, Map<String, String>> seen = new TreeMap<>();
            for (Map.Entry<UK, Object> e : s.entries()) {
                String slot = String.valueOf(e.getKey());
                seen.put(slot.startsWith("k") ? slot.substring(1) : slot, fieldsOf(e.getValue()));
            }
            for (String slot : slots(state)) {
                Map<String, Object> change = mutation.fields(key, state, slot);
                if (!change.isEmpty()) {
                    UK uk = userKey.apply(slot);
                    Object v = s.get(uk);
                    s.put(uk, apply(v == null ? newInstance(state) : v, change));
                }
            }
            return seen;
        }

        private Map<String, Map<String, String>> list(long key, String state, ListState<Object> s)
                throws Exception {
            Map<String, Map<String, String>> seen = new TreeMap<>();
            List<Object> elements = new ArrayList<>();
            for (Object e : s.get()) {
                seen.put(String.valueOf(elements.size()), fieldsOf(e));
                elements.add(e);
            }
            boolean changed = false;
            List<String> slots = slots(state);
            for (int i = 0; i < slots.size(); i++) {
                Map<String, Object> change = mutation.fields(key, state, slots.get(i));
                if (!change.isEmpty()) {
                    if (i == elements.size()) {
                        elements.add(newInstance(state));
                    }
                    apply(elements.get(i), change);
                    changed = true;
                }
            }
            if (changed) {
                s.update(elements);
            }
            return seen;
        }

        private Object newInstance(String state) throws Exception {
            return (state.startsWith("pojo") ? pojoClass : avroClass)
                    .getConstructor()
                    .newInstance();
        }

        private Object apply(Object target, Map<String, Object> change) throws Exception {
            for (Map.Entry<String, Object> f : change.entrySet()) {
                if (target instanceof SpecificRecord) {
                    SpecificRecord r = (SpecificRecord) target;
                    Schema.Field field = r.getSchema().getField(f.getKey());
                    if (field == null) {
                        throw new IllegalArgumentException("No Avro field " + f.getKey());
                    }
                    r.put(field.pos(), f.getValue());
                } else {
                    target.getClass().getField(f.getKey()).set(target, f.getValue());
                }
            }
            return target;
        }

        /** Every field of the object by name, as text; null stays "null". */
        private static Map<String, String> fieldsOf(Object o) throws IllegalAccessException {
            CLASSES.add(
                    o.getClass().getName()
                            + "@"
                            + o.getClass().getClassLoader().getClass().getName());
            Map<String, String> fields = new TreeMap<>();
            if (o instanceof SpecificRecord) {
                SpecificRecord r = (SpecificRecord) o;
                for (Schema.Field f : r.getSchema().getFields()) {
                    fields.put(f.name(), String.valueOf(r.get(f.pos())));
                }
            } else {
                for (Field f : o.getClass().getFields()) {
                    if (!Modifier.isStatic(f.getModifiers())) {
                        fields.put(f.getName(), String.valueOf(f.get(o)));
                    }
                }
            }
            return fields;
        }
    }
}
