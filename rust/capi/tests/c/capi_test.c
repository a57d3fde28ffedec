/*
 * The C API's test suite, in C: every function, bad arguments (NULL pointers, unknown states,
 * wrong kinds, foreign key groups, bad options) and damaged snapshot directories (a flipped
 * byte, a truncated file, a deleted or damaged manifest, a missing file), each giving a clear
 * status while the store keeps everything.
 *
 *   capi_test [NAME...]     runs every test (or those named); one line per test, then
 *                           "N passed, N failed"; exit status 1 when one failed.
 *
 * make c-test builds it twice, plain and with -fsanitize=address,undefined, and runs both.
 */
#define _GNU_SOURCE
#include "ferrostate.h"

#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- assertions: a failed check reports where and returns 1 from the test ---------------- */

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

/* Checks that `call` returns status `expected`; on a mismatch prints both and the message. */
#define EXPECT(expected, call)                                                              \
    do {                                                                                    \
        ferrostate_status got_ = (call);                                                    \
        if (got_ != (expected)) {                                                           \
            char *msg_ = ferrostate_last_error_message();                                   \
            fprintf(stderr, "    %s:%d: %s returned %s, expected %s (%s)\n", __FILE__,      \
                    __LINE__, #call, ferrostate_status_name(got_),                          \
                    ferrostate_status_name(expected), msg_ ? msg_ : "no message");          \
            ferrostate_string_free(msg_);                                                   \
            return 1;                                                                       \
        }                                                                                   \
    } while (0)

#define OK(call) EXPECT(FERROSTATE_STATUS_OK, call)

/* Checks that the thread's last error message contains `part`. */
#define MESSAGE_HAS(part)                                                                  \
    do {                                                                                   \
        char *m_ = ferrostate_last_error_message();                                        \
        int has_ = m_ != NULL && strstr(m_, (part)) != NULL;                               \
        if (!has_)                                                                         \
            fprintf(stderr, "    %s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
                    m_ ? m_ : "(none)", (part));                                           \
        ferrostate_string_free(m_);                                                        \
        if (!has_) return 1;                                                               \
    } while (0)

/* ---- helpers ------------------------------------------------------------------------------ */

static char path_buf[64][4096];
static int path_next;

/* `dir/name`, in one of 64 rotating buffers: valid for the next 63 calls (copy it to keep it
 * longer). */
static const char *at(const char *dir, const char *name) {
    char *p = path_buf[path_next++ % 64];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* The key [kg][id, 4 bytes big-endian] (max parallelism 128: 1-byte key groups). */
static const uint8_t *key(uint8_t kg, uint32_t id) {
    static uint8_t k[8][5];
    static int next;
    uint8_t *p = k[next++ % 8];
    p[0] = kg;
    p[1] = (uint8_t)(id >> 24);
    p[2] = (uint8_t)(id >> 16);
    p[3] = (uint8_t)(id >> 8);
    p[4] = (uint8_t)id;
    return p;
}
#define KEY_LEN 5
#define B(s) ((const uint8_t *)(s))

static ferrostate_options options(const char *path, uint32_t start, uint32_t end) {
    ferrostate_options o = ferrostate_options_default();
    o.path = path;
    o.memory_budget = 16u << 20;
    o.key_group_start = start;
    o.key_group_end = end;
    return o;
}

static ferrostate_store *open_store(const char *path) {
    ferrostate_options o = options(path, 0, 127);
    ferrostate_store *s = NULL;
    return ferrostate_store_open(&o, &s) == FERROSTATE_STATUS_OK ? s : NULL;
}

/* Number of entries of `state` whose keys start with `prefix`; -1 on an error. */
static long count_entries(ferrostate_store *s, uint32_t state, const uint8_t *prefix, size_t n) {
    ferrostate_iter *it = NULL;
    if (ferrostate_scan(s, state, prefix, n, &it) != FERROSTATE_STATUS_OK) return -1;
    long count = 0;
    for (;;) {
        const uint8_t *k, *v;
        size_t kl, vl;
        bool has;
        if (ferrostate_iter_next(it, &k, &kl, &v, &vl, &has) != FERROSTATE_STATUS_OK) {
            count = -1;
            break;
        }
        if (!has) break;
        count++;
    }
    ferrostate_iter_free(it);
    return count;
}

/* Reads a value into `buf` (256 bytes); returns its length, -1 when absent, -2 on error. */
static long read_value(ferrostate_store *s, uint32_t state, const uint8_t *k, uint8_t *buf) {
    size_t len = 0;
    bool found = false;
    if (ferrostate_get(s, state, k, KEY_LEN, buf, 256, &len, &found) != FERROSTATE_STATUS_OK)
        return -2;
    return found ? (long)len : -1;
}

/* A store at dir/db with 64 values in each of key groups 0..3 and one map per key group. */
static ferrostate_store *filled(const char *dir, uint32_t *v, uint32_t *m) {
    ferrostate_store *s = open_store(at(dir, "db"));
    if (s == NULL) return NULL;
    if (ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, v) != FERROSTATE_STATUS_OK ||
        ferrostate_register_state(s, "m", FERROSTATE_KIND_MAP, m) != FERROSTATE_STATUS_OK)
        return NULL;
    for (uint8_t kg = 0; kg < 4; kg++) {
        for (uint32_t i = 0; i < 64; i++) {
            char value[32];
            int n = snprintf(value, sizeof value, "%u/%u", kg, i);
            if (ferrostate_put(s, *v, key(kg, i), KEY_LEN, B(value), (size_t)n) !=
                FERROSTATE_STATUS_OK)
                return NULL;
        }
        if (ferrostate_map_put(s, *m, key(kg, 0), KEY_LEN, B("u"), 1, &kg, 1) !=
            FERROSTATE_STATUS_OK)
            return NULL;
    }
    return s;
}

/* A file whose name ends with `suffix` in `dir`, into `out`; 0 when there is none. */
static int find_file(const char *dir, const char *suffix, char *out, size_t cap) {
    DIR *d = opendir(dir);
    if (d == NULL) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), m = strlen(suffix);
        if (n > m && strcmp(e->d_name + n - m, suffix) == 0) {
            snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* Reads a whole file; *len gets its length. The caller frees the result. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* Replaces `path` by a new file of `len` bytes (snapshot files are hard links of the live
 * store's: writing into one would damage the store too). */
static int replace_file(const char *path, const uint8_t *bytes, size_t len) {
    if (unlink(path) != 0) return -1;
    FILE *f = fopen(path, "wb");
    if (f == NULL) return -1;
    size_t w = fwrite(bytes, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the tests ------------------------------------------------------------------------------ */

#define STATUS_NAME_IS(s) CHECK(strcmp(ferrostate_status_name(s), #s) == 0)

static int test_status_names_and_version(const char *dir) {
    (void)dir;
    /* The names the library gives are the header's constants. */
    STATUS_NAME_IS(FERROSTATE_STATUS_OK);
    STATUS_NAME_IS(FERROSTATE_STATUS_NULL_ARGUMENT);
    STATUS_NAME_IS(FERROSTATE_STATUS_INVALID_ARGUMENT);
    STATUS_NAME_IS(FERROSTATE_STATUS_UNKNOWN_STATE);
    STATUS_NAME_IS(FERROSTATE_STATUS_WRONG_KIND);
    STATUS_NAME_IS(FERROSTATE_STATUS_BUFFER_TOO_SMALL);
    STATUS_NAME_IS(FERROSTATE_STATUS_IO);
    STATUS_NAME_IS(FERROSTATE_STATUS_CORRUPT);
    STATUS_NAME_IS(FERROSTATE_STATUS_CHECKSUM_MISMATCH);
    STATUS_NAME_IS(FERROSTATE_STATUS_ROCKSDB);
    STATUS_NAME_IS(FERROSTATE_STATUS_CLOSED);
    STATUS_NAME_IS(FERROSTATE_STATUS_PANIC);
    CHECK(strcmp(ferrostate_status_name(12), "unknown status") == 0);
    CHECK(strcmp(ferrostate_status_name(UINT32_MAX), "unknown status") == 0);
    CHECK(ferrostate_version() != NULL && strlen(ferrostate_version()) >= 5);
    return 0;
}

static int test_error_messages(const char *dir) {
    (void)dir;
    uint32_t count;
    EXPECT(FERROSTATE_STATUS_NULL_ARGUMENT, ferrostate_state_count(NULL, &count));
    char *m = ferrostate_last_error_message();
    CHECK(m != NULL && strcmp(m, "ferrostate_state_count: store is NULL") == 0);
    ferrostate_string_free(m);
    /* Reading does not clear it; the next call does. */
    MESSAGE_HAS("store is NULL");
    ferrostate_options o = ferrostate_options_default();
    (void)o;
    CHECK(ferrostate_last_error_message() == NULL);
    ferrostate_string_free(NULL);
    return 0;
}

static int test_options_default(const char *dir) {
    (void)dir;
    ferrostate_options o = ferrostate_options_default();
    CHECK(o.path == NULL && o.memory == NULL);
    CHECK(o.memory_budget == 64u << 20);
    CHECK(o.hot_ratio == 0.5 && o.write_buffer_ratio == 0.5);
    CHECK(o.max_hot_value == 65536);
    CHECK(o.max_parallelism == 128 && o.key_group_start == 0 && o.key_group_end == 127);
    return 0;
}

static int test_open_close_and_reopen(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v, again, count;
    OK(ferrostate_register_state(s, "visits", FERROSTATE_KIND_VALUE, &v));
    OK(ferrostate_register_state(s, "visits", FERROSTATE_KIND_VALUE, &again));
    CHECK(v == again);
    for (uint32_t i = 0; i < 100; i++) OK(ferrostate_put(s, v, key(1, i), KEY_LEN, B("kept"), 4));
    OK(ferrostate_store_close(s));
    OK(ferrostate_store_close(NULL));

    s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    OK(ferrostate_state_count(s, &count));
    CHECK(count == 1);
    char *name = NULL;
    OK(ferrostate_state_name(s, 0, &name));
    CHECK(strcmp(name, "visits") == 0);
    ferrostate_string_free(name);
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE, ferrostate_state_name(s, 1, &name));
    /* A state found on disk is refused until it is registered again. */
    uint8_t buf[256];
    size_t len;
    bool found;
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE,
           ferrostate_get(s, 0, key(1, 5), KEY_LEN, buf, sizeof buf, &len, &found));
    MESSAGE_HAS("not registered");
    OK(ferrostate_register_state(s, "visits", FERROSTATE_KIND_VALUE, &v));
    CHECK(read_value(s, v, key(1, 5), buf) == 4 && memcmp(buf, "kept", 4) == 0);
    CHECK(count_entries(s, v, NULL, 0) == 100);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_values(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    OK(ferrostate_put(s, v, key(3, 1), KEY_LEN, B("hello"), 5));
    uint8_t buf[256];
    size_t len = 99;
    bool found = false;
    OK(ferrostate_get(s, v, key(3, 1), KEY_LEN, buf, sizeof buf, &len, &found));
    CHECK(found && len == 5 && memcmp(buf, "hello", 5) == 0);
    OK(ferrostate_get(s, v, key(3, 2), KEY_LEN, buf, sizeof buf, &len, &found));
    CHECK(!found && len == 0);
    /* Too small a buffer: the length needed, nothing copied; NULL/0 asks for the length. */
    memset(buf, 0, sizeof buf);
    EXPECT(FERROSTATE_STATUS_BUFFER_TOO_SMALL,
           ferrostate_get(s, v, key(3, 1), KEY_LEN, buf, 2, &len, &found));
    CHECK(found && len == 5 && buf[0] == 0);
    EXPECT(FERROSTATE_STATUS_BUFFER_TOO_SMALL,
           ferrostate_get(s, v, key(3, 1), KEY_LEN, NULL, 0, &len, &found));
    CHECK(len == 5);
    /* Empty values, and values larger than the hot tier takes (straight to RocksDB). */
    OK(ferrostate_put(s, v, key(3, 3), KEY_LEN, NULL, 0));
    OK(ferrostate_get(s, v, key(3, 3), KEY_LEN, NULL, 0, &len, &found));
    CHECK(found && len == 0);
    size_t big_len = 300000;
    uint8_t *big = malloc(big_len), *back = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 7);
    OK(ferrostate_put(s, v, key(3, 4), KEY_LEN, big, big_len));
    OK(ferrostate_get(s, v, key(3, 4), KEY_LEN, back, big_len, &len, &found));
    int same = found && len == big_len && memcmp(big, back, big_len) == 0;
    free(big);
    free(back);
    CHECK(same);
    OK(ferrostate_contains(s, v, key(3, 1), KEY_LEN, &found));
    CHECK(found);
    OK(ferrostate_delete(s, v, key(3, 1), KEY_LEN));
    OK(ferrostate_delete(s, v, key(3, 1), KEY_LEN));
    OK(ferrostate_contains(s, v, key(3, 1), KEY_LEN, &found));
    CHECK(!found);
    OK(ferrostate_store_flush(s));
    CHECK(count_entries(s, v, NULL, 0) == 2);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_lists(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t l;
    OK(ferrostate_register_state(s, "l", FERROSTATE_KIND_LIST, &l));
    OK(ferrostate_list_append(s, l, key(5, 1), KEY_LEN, B("a"), 1));
    OK(ferrostate_list_append(s, l, key(5, 1), KEY_LEN, NULL, 0));
    OK(ferrostate_list_append(s, l, key(5, 1), KEY_LEN, B("ccc"), 3));
    uint8_t list[256];
    long n = read_value(s, l, key(5, 1), list);
    CHECK(n == 4 + 1 + 4 + 0 + 4 + 3);
    const char *expect[] = {"a", "", "ccc"};
    size_t offset = 0, elen;
    const uint8_t *e;
    bool has;
    for (int i = 0; i < 3; i++) {
        OK(ferrostate_list_next(list, (size_t)n, &offset, &e, &elen, &has));
        CHECK(has && elen == strlen(expect[i]) && memcmp(e, expect[i], elen) == 0);
    }
    OK(ferrostate_list_next(list, (size_t)n, &offset, &e, &elen, &has));
    CHECK(!has && e == NULL && elen == 0);
    /* A whole list can be put back in the list format; a malformed one is refused. */
    OK(ferrostate_put(s, l, key(5, 2), KEY_LEN, list, (size_t)n));
    uint8_t back[256];
    CHECK(read_value(s, l, key(5, 2), back) == n && memcmp(back, list, (size_t)n) == 0);
    const uint8_t bad[] = {0, 0, 0, 9, 'x'};
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT,
           ferrostate_put(s, l, key(5, 3), KEY_LEN, bad, sizeof bad));
    offset = 0;
    EXPECT(FERROSTATE_STATUS_CORRUPT,
           ferrostate_list_next(bad, sizeof bad, &offset, &e, &elen, &has));
    offset = 99;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT,
           ferrostate_list_next(list, (size_t)n, &offset, &e, &elen, &has));
    OK(ferrostate_delete(s, l, key(5, 1), KEY_LEN));
    CHECK(read_value(s, l, key(5, 1), back) == -1);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_maps(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t m;
    OK(ferrostate_register_state(s, "m", FERROSTATE_KIND_MAP, &m));
    const uint8_t *map = key(9, 42);
    uint8_t map_copy[KEY_LEN];
    memcpy(map_copy, map, KEY_LEN);
    OK(ferrostate_map_put(s, m, map_copy, KEY_LEN, B("b"), 1, B("2"), 1));
    OK(ferrostate_map_put(s, m, map_copy, KEY_LEN, B("a"), 1, B("1"), 1));
    OK(ferrostate_map_put(s, m, key(9, 43), KEY_LEN, B("a"), 1, B("other"), 5));
    uint8_t buf[16];
    size_t len;
    bool found;
    OK(ferrostate_map_get(s, m, map_copy, KEY_LEN, B("a"), 1, buf, sizeof buf, &len, &found));
    CHECK(found && len == 1 && buf[0] == '1');
    EXPECT(FERROSTATE_STATUS_BUFFER_TOO_SMALL,
           ferrostate_map_get(s, m, key(9, 43), KEY_LEN, B("a"), 1, buf, 2, &len, &found));
    CHECK(len == 5);
    /* A map scan hands out user keys, in order. */
    ferrostate_iter *it = NULL;
    OK(ferrostate_map_scan(s, m, map_copy, KEY_LEN, &it));
    const char *keys = "ab", *values = "12";
    for (int i = 0; i < 3; i++) {
        const uint8_t *k, *v;
        size_t kl, vl;
        bool has;
        OK(ferrostate_iter_next(it, &k, &kl, &v, &vl, &has));
        if (i == 2) {
            CHECK(!has && k == NULL && v == NULL);
            OK(ferrostate_iter_next(it, &k, &kl, &v, &vl, &has));
            CHECK(!has);
        } else {
            CHECK(has && kl == 1 && k[0] == keys[i] && vl == 1 && v[0] == values[i]);
        }
    }
    ferrostate_iter_free(it);
    OK(ferrostate_map_remove(s, m, map_copy, KEY_LEN, B("a"), 1));
    OK(ferrostate_map_get(s, m, map_copy, KEY_LEN, B("a"), 1, buf, sizeof buf, &len, &found));
    CHECK(!found);
    OK(ferrostate_map_clear(s, m, map_copy, KEY_LEN));
    OK(ferrostate_map_get(s, m, map_copy, KEY_LEN, B("b"), 1, buf, sizeof buf, &len, &found));
    CHECK(!found);
    /* The other map is untouched; a prefix scan sees its whole key. */
    CHECK(count_entries(s, m, NULL, 0) == 1);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_scans_across_batches(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    for (uint32_t i = 0; i < 2000; i++)
        OK(ferrostate_put(s, v, key((uint8_t)(i % 4), i), KEY_LEN, (const uint8_t *)&i, 4));
    const uint8_t two = 2;
    ferrostate_iter *it = NULL;
    OK(ferrostate_scan(s, v, &two, 1, &it));
    uint8_t last[KEY_LEN] = {0};
    long n = 0;
    for (;;) {
        const uint8_t *k, *val;
        size_t kl, vl;
        bool has;
        OK(ferrostate_iter_next(it, &k, &kl, &val, &vl, &has));
        if (!has) break;
        CHECK(kl == KEY_LEN && k[0] == 2 && vl == 4);
        CHECK(n == 0 || memcmp(last, k, KEY_LEN) < 0);
        memcpy(last, k, KEY_LEN);
        n++;
    }
    ferrostate_iter_free(it);
    CHECK(n == 500);
    CHECK(count_entries(s, v, NULL, 0) == 2000);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_iterator_after_close(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    OK(ferrostate_put(s, v, key(0, 1), KEY_LEN, B("x"), 1));
    ferrostate_iter *it = NULL;
    OK(ferrostate_scan(s, v, NULL, 0, &it));
    OK(ferrostate_store_close(s));
    const uint8_t *k, *val;
    size_t kl, vl;
    bool has;
    EXPECT(FERROSTATE_STATUS_CLOSED, ferrostate_iter_next(it, &k, &kl, &val, &vl, &has));
    ferrostate_iter_free(it);
    return 0;
}

static int test_ttl_and_compaction(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* Values start with their last write time, 8 bytes big-endian (Flink's TTL layout). */
    int64_t stamps[2] = {now - 120000, now};
    for (int i = 0; i < 2; i++) {
        uint8_t value[12];
        for (int b = 0; b < 8; b++) value[b] = (uint8_t)((uint64_t)stamps[i] >> (56 - 8 * b));
        memcpy(value + 8, "data", 4);
        OK(ferrostate_put(s, v, key(0, (uint32_t)i), KEY_LEN, value, sizeof value));
    }
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_set_ttl(s, v, -5));
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE, ferrostate_set_ttl(s, 7, 1000));
    OK(ferrostate_set_ttl(s, v, 60000));
    OK(ferrostate_compact(s, v));
    uint8_t buf[256];
    CHECK(read_value(s, v, key(0, 0), buf) == -1);
    CHECK(read_value(s, v, key(0, 1), buf) == 12);
    OK(ferrostate_set_ttl(s, v, 0));
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE, ferrostate_compact(s, 7));
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_stats_memory_and_shared_budgets(const char *dir) {
    ferrostate_memory *mem = NULL;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_memory_new(32u << 20, 1.5, 0.25, &mem));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_memory_new(0, 0.5, 0.25, &mem));
    EXPECT(FERROSTATE_STATUS_NULL_ARGUMENT, ferrostate_memory_new(32u << 20, 0.5, 0.25, NULL));
    OK(ferrostate_memory_new(32u << 20, 0.5, 0.25, &mem));
    ferrostate_store *stores[2];
    for (int i = 0; i < 2; i++) {
        ferrostate_options o = options(at(dir, i ? "b" : "a"), 0, 127);
        o.memory = mem;
        OK(ferrostate_store_open(&o, &stores[i]));
    }
    ferrostate_memory_free(mem); /* the stores keep it */
    for (int i = 0; i < 2; i++) {
        uint32_t v;
        OK(ferrostate_register_state(stores[i], "v", FERROSTATE_KIND_VALUE, &v));
        OK(ferrostate_put(stores[i], v, key(0, 1), KEY_LEN, B("x"), 1));
        uint8_t buf[256];
        CHECK(read_value(stores[i], v, key(0, 1), buf) == 1);
        CHECK(read_value(stores[i], v, key(0, 2), buf) == -1);
        ferrostate_stats st;
        OK(ferrostate_store_stats(stores[i], &st));
        CHECK(st.hot_hits == 1 && st.evictions == 0);
        ferrostate_memory_usage u;
        OK(ferrostate_store_memory_usage(stores[i], &u));
        CHECK(u.budget_bytes == 32u << 20 && u.hot_bytes > 0);
        OK(ferrostate_store_close(stores[i]));
    }
    return 0;
}

static int test_key_group_prefix(const char *dir) {
    (void)dir;
    uint8_t out[2] = {0, 0};
    size_t n = 0;
    OK(ferrostate_key_group_prefix(128, 5, out, sizeof out, &n));
    CHECK(n == 1 && out[0] == 5);
    OK(ferrostate_key_group_prefix(1024, 300, out, sizeof out, &n));
    CHECK(n == 2 && out[0] == 1 && out[1] == 44);
    EXPECT(FERROSTATE_STATUS_BUFFER_TOO_SMALL, ferrostate_key_group_prefix(1024, 3, NULL, 0, &n));
    CHECK(n == 2);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_key_group_prefix(128, 128, out, 2, &n));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT,
           ferrostate_key_group_prefix(FERROSTATE_MAX_PARALLELISM + 1, 0, out, 2, &n));
    EXPECT(FERROSTATE_STATUS_NULL_ARGUMENT, ferrostate_key_group_prefix(128, 1, out, 2, NULL));
    return 0;
}

struct writer {
    ferrostate_store *store;
    uint32_t state;
    uint8_t kg;
    int failures;
};

static void *write_many(void *arg) {
    struct writer *w = arg;
    for (uint32_t i = 0; i < 2000; i++) {
        uint8_t k[KEY_LEN] = {w->kg, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
                              (uint8_t)i};
        if (ferrostate_put(w->store, w->state, k, KEY_LEN, k, KEY_LEN) != FERROSTATE_STATUS_OK)
            w->failures++;
    }
    return NULL;
}

static int test_threads_share_a_store(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    pthread_t threads[4];
    struct writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){s, v, (uint8_t)i, 0};
        CHECK(pthread_create(&threads[i], NULL, write_many, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(w[i].failures == 0);
    }
    CHECK(count_entries(s, v, NULL, 0) == 8000);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_snapshots_are_incremental_and_verified(const char *dir) {
    uint32_t v, m;
    ferrostate_store *s = filled(dir, &v, &m);
    CHECK(s != NULL);
    ferrostate_snapshot_info first, second, checked;
    OK(ferrostate_store_snapshot(s, at(dir, "snap1"), &first));
    CHECK(first.files > 0 && first.bytes > 0);
    CHECK(first.new_files == first.files && first.new_bytes == first.bytes);
    OK(ferrostate_put(s, v, key(0, 1000), KEY_LEN, B("later"), 5));
    OK(ferrostate_store_snapshot(s, at(dir, "snap2"), &second));
    CHECK(second.new_files < second.files && second.new_bytes < second.bytes);
    OK(ferrostate_store_snapshot(s, at(dir, "snap3"), NULL));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT,
           ferrostate_store_snapshot(s, at(dir, "snap1"), NULL));
    MESSAGE_HAS("exists already");
    OK(ferrostate_snapshot_verify(at(dir, "snap2"), &checked));
    CHECK(checked.files == second.files && checked.bytes == second.bytes);
    OK(ferrostate_snapshot_verify(at(dir, "snap1"), NULL));
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_restore_split_and_merge(const char *dir) {
    uint32_t v, m;
    ferrostate_store *s = filled(dir, &v, &m);
    CHECK(s != NULL);
    OK(ferrostate_store_snapshot(s, at(dir, "whole"), NULL));
    OK(ferrostate_store_close(s));
    const char *whole[] = {at(dir, "whole")};
    /* Split: each half keeps only its key groups. */
    uint32_t ranges[2][2] = {{0, 1}, {2, 127}};
    const char *names[2] = {"low", "high"}, *snaps[2] = {"low-snap", "high-snap"};
    for (int i = 0; i < 2; i++) {
        ferrostate_options o = options(at(dir, names[i]), ranges[i][0], ranges[i][1]);
        ferrostate_store *half = NULL;
        OK(ferrostate_store_restore(&o, whole, 1, &half));
        uint32_t count;
        OK(ferrostate_state_count(half, &count));
        CHECK(count == 2);
        OK(ferrostate_register_state(half, "v", FERROSTATE_KIND_VALUE, &v));
        CHECK(count_entries(half, v, NULL, 0) == 128);
        uint8_t kg = (uint8_t)ranges[i][0];
        CHECK(count_entries(half, v, &kg, 1) == 64);
        OK(ferrostate_store_snapshot(half, at(dir, snaps[i]), NULL));
        OK(ferrostate_store_close(half));
    }
    /* Merge: both halves into one store. */
    const char *both[] = {at(dir, "high-snap"), at(dir, "low-snap")};
    ferrostate_options o = options(at(dir, "merged"), 0, 127);
    ferrostate_store *merged = NULL;
    OK(ferrostate_store_restore(&o, both, 2, &merged));
    OK(ferrostate_register_state(merged, "v", FERROSTATE_KIND_VALUE, &v));
    OK(ferrostate_register_state(merged, "m", FERROSTATE_KIND_MAP, &m));
    CHECK(count_entries(merged, v, NULL, 0) == 256);
    uint8_t buf[256];
    CHECK(read_value(merged, v, key(1, 7), buf) == 3 && memcmp(buf, "1/7", 3) == 0);
    size_t len;
    bool found;
    OK(ferrostate_map_get(merged, m, key(3, 0), KEY_LEN, B("u"), 1, buf, sizeof buf, &len,
                          &found));
    CHECK(found && len == 1 && buf[0] == 3);
    OK(ferrostate_store_close(merged));
    /* The snapshot directories were only read. */
    OK(ferrostate_snapshot_verify(at(dir, "whole"), NULL));
    return 0;
}

static int test_null_arguments(const char *dir) {
    ferrostate_store *s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    uint32_t v, id, count;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    const ferrostate_status null_arg = FERROSTATE_STATUS_NULL_ARGUMENT;
    uint8_t buf[8];
    size_t len, offset = 0;
    bool found;
    const uint8_t *p;
    ferrostate_store *out = NULL;
    ferrostate_iter *it = NULL;
    ferrostate_options o = ferrostate_options_default();
    EXPECT(null_arg, ferrostate_store_open(NULL, &out));
    EXPECT(null_arg, ferrostate_store_open(&o, &out)); /* o.path is NULL */
    MESSAGE_HAS("options->path is NULL");
    o.path = at(dir, "other");
    EXPECT(null_arg, ferrostate_store_open(&o, NULL));
    EXPECT(null_arg, ferrostate_register_state(NULL, "x", 0, &id));
    EXPECT(null_arg, ferrostate_register_state(s, NULL, 0, &id));
    EXPECT(null_arg, ferrostate_register_state(s, "x", 0, NULL));
    EXPECT(null_arg, ferrostate_state_count(s, NULL));
    EXPECT(null_arg, ferrostate_state_name(s, 0, NULL));
    EXPECT(null_arg, ferrostate_put(NULL, v, key(0, 1), KEY_LEN, B("x"), 1));
    EXPECT(null_arg, ferrostate_put(s, v, NULL, KEY_LEN, B("x"), 1));
    MESSAGE_HAS("key is NULL");
    EXPECT(null_arg, ferrostate_put(s, v, key(0, 1), KEY_LEN, NULL, 1));
    EXPECT(null_arg, ferrostate_get(s, v, key(0, 1), KEY_LEN, NULL, 8, &len, &found));
    EXPECT(null_arg, ferrostate_get(s, v, key(0, 1), KEY_LEN, buf, 8, NULL, &found));
    EXPECT(null_arg, ferrostate_get(s, v, key(0, 1), KEY_LEN, buf, 8, &len, NULL));
    EXPECT(null_arg, ferrostate_contains(s, v, key(0, 1), KEY_LEN, NULL));
    EXPECT(null_arg, ferrostate_delete(s, v, NULL, 1));
    EXPECT(null_arg, ferrostate_list_append(s, v, key(0, 1), KEY_LEN, NULL, 2));
    EXPECT(null_arg, ferrostate_list_next(NULL, 4, &offset, &p, &len, &found));
    EXPECT(null_arg, ferrostate_list_next(buf, 0, NULL, &p, &len, &found));
    EXPECT(null_arg, ferrostate_map_put(s, v, NULL, 5, B("u"), 1, B("x"), 1));
    EXPECT(null_arg, ferrostate_map_get(s, v, key(0, 1), KEY_LEN, B("u"), 1, buf, 8, &len, NULL));
    EXPECT(null_arg, ferrostate_map_remove(s, v, key(0, 1), KEY_LEN, NULL, 1));
    EXPECT(null_arg, ferrostate_map_clear(NULL, v, key(0, 1), KEY_LEN));
    EXPECT(null_arg, ferrostate_scan(s, v, NULL, 3, &it));
    EXPECT(null_arg, ferrostate_scan(s, v, NULL, 0, NULL));
    EXPECT(null_arg, ferrostate_map_scan(s, v, key(0, 1), KEY_LEN, NULL));
    EXPECT(null_arg, ferrostate_iter_next(NULL, &p, &len, &p, &len, &found));
    EXPECT(null_arg, ferrostate_set_ttl(NULL, v, 1));
    EXPECT(null_arg, ferrostate_compact(NULL, v));
    EXPECT(null_arg, ferrostate_store_flush(NULL));
    EXPECT(null_arg, ferrostate_store_stats(s, NULL));
    EXPECT(null_arg, ferrostate_store_memory_usage(s, NULL));
    EXPECT(null_arg, ferrostate_store_snapshot(s, NULL, NULL));
    EXPECT(null_arg, ferrostate_snapshot_verify(NULL, NULL));
    EXPECT(null_arg, ferrostate_store_restore(NULL, NULL, 0, &out));
    const char *dirs[] = {NULL};
    EXPECT(null_arg, ferrostate_store_restore(&o, dirs, 1, &out));
    MESSAGE_HAS("dirs[0] is NULL");
    EXPECT(null_arg, ferrostate_store_restore(&o, NULL, 2, &out));
    CHECK(out == NULL && it == NULL);
    /* Freeing NULL does nothing. */
    ferrostate_iter_free(NULL);
    ferrostate_memory_free(NULL);
    ferrostate_string_free(NULL);
    OK(ferrostate_store_close(NULL));
    /* Nothing changed. */
    OK(ferrostate_state_count(s, &count));
    CHECK(count == 1 && count_entries(s, v, NULL, 0) == 0);
    CHECK(!exists(at(dir, "other")));
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_unknown_state_wrong_kind_and_foreign_keys(const char *dir) {
    ferrostate_options o = options(at(dir, "db"), 0, 63);
    ferrostate_store *s = NULL;
    OK(ferrostate_store_open(&o, &s));
    uint32_t v, l, m, id;
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    OK(ferrostate_register_state(s, "l", FERROSTATE_KIND_LIST, &l));
    OK(ferrostate_register_state(s, "m", FERROSTATE_KIND_MAP, &m));
    OK(ferrostate_put(s, v, key(1, 1), KEY_LEN, B("kept"), 4));
    uint8_t buf[256];
    size_t len;
    bool found;
    ferrostate_iter *it = NULL;
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE, ferrostate_put(s, 99, key(1, 1), KEY_LEN, B("x"), 1));
    MESSAGE_HAS("unknown state id 99");
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE,
           ferrostate_get(s, 99, key(1, 1), KEY_LEN, buf, sizeof buf, &len, &found));
    EXPECT(FERROSTATE_STATUS_UNKNOWN_STATE, ferrostate_scan(s, 99, NULL, 0, &it));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND, ferrostate_put(s, m, key(1, 1), KEY_LEN, B("x"), 1));
    MESSAGE_HAS("is a Map state");
    EXPECT(FERROSTATE_STATUS_WRONG_KIND,
           ferrostate_get(s, m, key(1, 1), KEY_LEN, buf, sizeof buf, &len, &found));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND,
           ferrostate_list_append(s, v, key(1, 1), KEY_LEN, B("x"), 1));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND,
           ferrostate_map_put(s, l, key(1, 1), KEY_LEN, B("u"), 1, B("x"), 1));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND, ferrostate_map_scan(s, v, key(1, 1), KEY_LEN, &it));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND, ferrostate_map_clear(s, v, key(1, 1), KEY_LEN));
    EXPECT(FERROSTATE_STATUS_WRONG_KIND,
           ferrostate_register_state(s, "v", FERROSTATE_KIND_LIST, &id));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_register_state(s, "w", 3, &id));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_register_state(s, "", 0, &id));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_register_state(s, "default", 0, &id));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_register_state(s, "\xff\xfe", 0, &id));
    /* Key group 64 is not this store's; an empty key has no key group. */
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT,
           ferrostate_put(s, v, key(64, 1), KEY_LEN, B("x"), 1));
    MESSAGE_HAS("outside the store's key groups [0, 63]");
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_put(s, v, NULL, 0, B("x"), 1));
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_map_scan(s, m, key(99, 1), KEY_LEN, &it));
    CHECK(it == NULL);
    /* Nothing changed. */
    CHECK(read_value(s, v, key(1, 1), buf) == 4 && memcmp(buf, "kept", 4) == 0);
    CHECK(count_entries(s, v, NULL, 0) == 1 && count_entries(s, m, NULL, 0) == 0);
    uint32_t count;
    OK(ferrostate_state_count(s, &count));
    CHECK(count == 3);
    OK(ferrostate_store_close(s));
    return 0;
}

static int test_bad_options(const char *dir) {
    ferrostate_store *s = NULL;
    ferrostate_options o = options(at(dir, "db"), 0, 127);
    o.hot_ratio = -0.5;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    o = options(at(dir, "db"), 0, 128);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    o = options(at(dir, "db"), 9, 8);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    o = options(at(dir, "db"), 0, 127);
    o.max_parallelism = 0;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    o = options(at(dir, "db"), 0, 127);
    o.memory_budget = 0;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    o = options("", 0, 127);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&o, &s));
    CHECK(s == NULL && !exists(at(dir, "db")));
    /* A working directory that cannot be created. */
    FILE *f = fopen(at(dir, "file"), "w");
    CHECK(f != NULL);
    fclose(f);
    o = options(at(dir, "file/db"), 0, 127);
    EXPECT(FERROSTATE_STATUS_IO, ferrostate_store_open(&o, &s));
    return 0;
}

/* ---- damaged snapshots --------------------------------------------------------------------- */

typedef int (*damage_fn)(const char *snap);

static int flip_a_byte(const char *snap) {
    char f[4096];
    size_t len;
    if (!find_file(snap, ".sst", f, sizeof f)) return -1;
    uint8_t *b = read_file(f, &len);
    if (b == NULL) return -1;
    b[len / 2] ^= 0x10;
    int r = replace_file(f, b, len);
    free(b);
    return r;
}

static int truncate_a_file(const char *snap) {
    char f[4096];
    size_t len;
    if (!find_file(snap, ".sst", f, sizeof f)) return -1;
    uint8_t *b = read_file(f, &len);
    if (b == NULL) return -1;
    int r = replace_file(f, b, len / 3);
    free(b);
    return r;
}

static int delete_the_manifest(const char *snap) {
    return unlink(at(snap, "FERROSTATE-MANIFEST"));
}

static int damage_the_manifest(const char *snap) {
    size_t len;
    const char *f = at(snap, "FERROSTATE-MANIFEST");
    uint8_t *b = read_file(f, &len);
    if (b == NULL || len < 30) return -1;
    b[20] ^= 1;
    int r = replace_file(f, b, len);
    free(b);
    return r;
}

static int delete_a_file(const char *snap) {
    char f[4096];
    if (!find_file(snap, ".sst", f, sizeof f)) return -1;
    return unlink(f);
}

/* Damages a snapshot; checks verify and restore fail with `expected` and a message holding
 * `says`, leave the target absent, and that the store and an intact snapshot keep it all. */
static int damaged(const char *dir, damage_fn damage, ferrostate_status expected,
                   const char *says) {
    uint32_t v, m;
    ferrostate_store *s = filled(dir, &v, &m);
    CHECK(s != NULL);
    OK(ferrostate_store_snapshot(s, at(dir, "snap"), NULL));
    OK(ferrostate_store_snapshot(s, at(dir, "good"), NULL));
    CHECK(damage(at(dir, "snap")) == 0);
    EXPECT(expected, ferrostate_snapshot_verify(at(dir, "snap"), NULL));
    MESSAGE_HAS(says);
    ferrostate_options o = options(at(dir, "restored"), 0, 127);
    const char *bad[] = {at(dir, "snap")};
    ferrostate_store *r = NULL;
    EXPECT(expected, ferrostate_store_restore(&o, bad, 1, &r));
    MESSAGE_HAS("ferrostate_store_restore: ");
    CHECK(r == NULL && !exists(at(dir, "restored")));
    /* One damaged snapshot among several fails the whole restore. */
    const char *mixed[] = {at(dir, "good"), at(dir, "snap")};
    o = options(at(dir, "restored"), 0, 127);
    EXPECT(expected, ferrostate_store_restore(&o, mixed, 2, &r));
    CHECK(!exists(at(dir, "restored")));
    /* Nothing lost: the store holds everything, and the intact snapshot restores. */
    CHECK(count_entries(s, v, NULL, 0) == 256);
    OK(ferrostate_put(s, v, key(0, 999), KEY_LEN, B("still writable"), 14));
    OK(ferrostate_store_close(s));
    const char *good[] = {at(dir, "good")};
    o = options(at(dir, "restored"), 0, 127);
    OK(ferrostate_store_restore(&o, good, 1, &r));
    OK(ferrostate_register_state(r, "v", FERROSTATE_KIND_VALUE, &v));
    CHECK(count_entries(r, v, NULL, 0) == 256);
    OK(ferrostate_store_close(r));
    return 0;
}

static int test_damaged_flipped_byte(const char *dir) {
    return damaged(dir, flip_a_byte, FERROSTATE_STATUS_CHECKSUM_MISMATCH, ".sst");
}

static int test_damaged_truncated_file(const char *dir) {
    return damaged(dir, truncate_a_file, FERROSTATE_STATUS_CHECKSUM_MISMATCH,
                   "checksum mismatch");
}

static int test_damaged_manifest_deleted(const char *dir) {
    return damaged(dir, delete_the_manifest, FERROSTATE_STATUS_CORRUPT,
                   "holds no FERROSTATE-MANIFEST");
}

static int test_damaged_manifest_bytes(const char *dir) {
    return damaged(dir, damage_the_manifest, FERROSTATE_STATUS_CORRUPT, "FERROSTATE-MANIFEST");
}

static int test_damaged_missing_file(const char *dir) {
    return damaged(dir, delete_a_file, FERROSTATE_STATUS_CORRUPT, "missing");
}

static int test_restore_refusals(const char *dir) {
    EXPECT(FERROSTATE_STATUS_IO, ferrostate_snapshot_verify(at(dir, "nothing"), NULL));
    uint32_t v, m;
    ferrostate_store *s = filled(dir, &v, &m);
    CHECK(s != NULL);
    OK(ferrostate_store_snapshot(s, at(dir, "snap"), NULL));
    OK(ferrostate_store_close(s));
    char snap_dir[4096];
    snprintf(snap_dir, sizeof snap_dir, "%s", at(dir, "snap"));
    const char *snap[] = {snap_dir};
    ferrostate_store *r = NULL;
    /* A snapshot is never opened as a store: that would change it. */
    ferrostate_options as_store = options(at(dir, "snap"), 0, 127);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_open(&as_store, &r));
    MESSAGE_HAS("is a snapshot directory");
    OK(ferrostate_snapshot_verify(at(dir, "snap"), NULL));
    /* Never into a directory that holds something (here: the live store). */
    ferrostate_options o = options(at(dir, "db"), 0, 127);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_restore(&o, snap, 1, &r));
    MESSAGE_HAS("is not empty");
    o = options(at(dir, "r"), 0, 127);
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_restore(&o, snap, 0, &r));
    /* The snapshot records its key-group layout: another max parallelism is refused. */
    o = options(at(dir, "r"), 0, 1023);
    o.max_parallelism = 1024;
    EXPECT(FERROSTATE_STATUS_INVALID_ARGUMENT, ferrostate_store_restore(&o, snap, 1, &r));
    MESSAGE_HAS("max_parallelism 128, the options say 1024");
    CHECK(!exists(at(dir, "r")));
    /* An empty directory is a fine target. */
    CHECK(mkdir(at(dir, "empty"), 0755) == 0);
    o = options(at(dir, "empty"), 0, 127);
    OK(ferrostate_store_restore(&o, snap, 1, &r));
    OK(ferrostate_store_close(r));
    /* The store is intact. */
    s = open_store(at(dir, "db"));
    CHECK(s != NULL);
    OK(ferrostate_register_state(s, "v", FERROSTATE_KIND_VALUE, &v));
    CHECK(count_entries(s, v, NULL, 0) == 256);
    OK(ferrostate_store_close(s));
    return 0;
}

/* ---- the runner ------------------------------------------------------------------------------ */

#define TEST(name) {#name, test_##name}

static const struct {
    const char *name;
    int (*run)(const char *dir);
} TESTS[] = {
    TEST(status_names_and_version),
    TEST(error_messages),
    TEST(options_default),
    TEST(open_close_and_reopen),
    TEST(values),
    TEST(lists),
    TEST(maps),
    TEST(scans_across_batches),
    TEST(iterator_after_close),
    TEST(ttl_and_compaction),
    TEST(stats_memory_and_shared_budgets),
    TEST(key_group_prefix),
    TEST(threads_share_a_store),
    TEST(snapshots_are_incremental_and_verified),
    TEST(restore_split_and_merge),
    TEST(null_arguments),
    TEST(unknown_state_wrong_kind_and_foreign_keys),
    TEST(bad_options),
    TEST(damaged_flipped_byte),
    TEST(damaged_truncated_file),
    TEST(damaged_manifest_deleted),
    TEST(damaged_manifest_bytes),
    TEST(damaged_missing_file),
    TEST(restore_refusals),
};

static int selected(const char *name, int argc, char **argv) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    char base[] = "/tmp/ferrostate-capi-test-XXXXXX";
    const char *tmp = getenv("FERROSTATE_TEST_TMPDIR");
    char custom[4096];
    if (tmp != NULL) {
        snprintf(custom, sizeof custom, "%s/capi-test-XXXXXX", tmp);
    }
    char *root = mkdtemp(tmp != NULL ? custom : base);
    if (root == NULL) {
        perror("mkdtemp");
        return 2;
    }
    int passed = 0, failed = 0;
    size_t n = sizeof TESTS / sizeof TESTS[0];
    for (size_t i = 0; i < n; i++) {
        if (!selected(TESTS[i].name, argc, argv)) continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, TESTS[i].name);
        if (mkdir(dir, 0755) != 0) {
            perror(dir);
            return 2;
        }
        int r = TESTS[i].run(dir);
        printf("test %s ... %s\n", TESTS[i].name, r == 0 ? "ok" : "FAILED");
        fflush(stdout);
        if (r == 0) {
            passed++;
            remove_tree(dir);
        } else {
            failed++;
            fprintf(stderr, "    (files kept in %s)\n", dir);
        }
    }
    if (failed == 0) remove_tree(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
