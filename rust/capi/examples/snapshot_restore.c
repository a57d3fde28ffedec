/*
 * ferrostate from C: count clicks per user in a value state, keep each user's pages in a list
 * state and per-page counts in a map state; take a snapshot; then, in a new process, restore
 * the snapshot and read everything back.
 *
 *   snapshot_restore [WORKDIR]          write, snapshot, then run "restore WORKDIR" as a child
 *   snapshot_restore restore WORKDIR    restore WORKDIR/snap into WORKDIR/restored and check it
 *
 * Build (make c-test does): cc -I rust/capi/include snapshot_restore.c -lferrostate_capi
 */
#define _GNU_SOURCE
#include "ferrostate.h"

#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define USERS 1000u
#define CLICKS_PER_USER 7u
#define MAX_PARALLELISM 128u

static const char *PAGES[] = {"home", "search", "cart", "checkout"};

/* Stops the program with the status, its name and the library's message. */
static void check(ferrostate_status status, const char *what) {
    if (status == FERROSTATE_STATUS_OK) return;
    char *msg = ferrostate_last_error_message();
    fprintf(stderr, "%s failed: %s: %s\n", what, ferrostate_status_name(status),
            msg ? msg : "(no message)");
    ferrostate_string_free(msg);
    exit(1);
}

/* The key of a user: its key group (1 byte with max parallelism 128), then the id. */
static size_t user_key(uint32_t user, uint8_t key[5]) {
    size_t n = 0;
    check(ferrostate_key_group_prefix(MAX_PARALLELISM, user % MAX_PARALLELISM, key, 5, &n),
          "key group prefix");
    key[n] = (uint8_t)(user >> 24);
    key[n + 1] = (uint8_t)(user >> 16);
    key[n + 2] = (uint8_t)(user >> 8);
    key[n + 3] = (uint8_t)user;
    return n + 4;
}

static ferrostate_options options_at(const char *path) {
    ferrostate_options o = ferrostate_options_default();
    o.path = path;
    o.memory_budget = 32u << 20;
    o.max_parallelism = MAX_PARALLELISM;
    o.key_group_start = 0;
    o.key_group_end = MAX_PARALLELISM - 1;
    return o;
}

static void register_states(ferrostate_store *s, uint32_t *clicks, uint32_t *pages,
                            uint32_t *per_page) {
    check(ferrostate_register_state(s, "clicks", FERROSTATE_KIND_VALUE, clicks), "register");
    check(ferrostate_register_state(s, "pages", FERROSTATE_KIND_LIST, pages), "register");
    check(ferrostate_register_state(s, "per-page", FERROSTATE_KIND_MAP, per_page), "register");
}

static int write_and_snapshot(const char *workdir) {
    char db[4096], snap[4096];
    snprintf(db, sizeof db, "%s/db", workdir);
    snprintf(snap, sizeof snap, "%s/snap", workdir);
    ferrostate_options o = options_at(db);
    ferrostate_store *s = NULL;
    check(ferrostate_store_open(&o, &s), "open");
    uint32_t clicks, pages, per_page;
    register_states(s, &clicks, &pages, &per_page);

    for (uint32_t click = 0; click < CLICKS_PER_USER; click++) {
        for (uint32_t user = 0; user < USERS; user++) {
            uint8_t key[5];
            size_t klen = user_key(user, key);
            const char *page = PAGES[(user + click) % 4];
            /* Value state: read, add one, write back. */
            uint64_t count = 0;
            uint8_t buf[8];
            size_t len = 0;
            bool found = false;
            check(ferrostate_get(s, clicks, key, klen, buf, sizeof buf, &len, &found), "get");
            if (found) memcpy(&count, buf, sizeof count);
            count++;
            check(ferrostate_put(s, clicks, key, klen, (const uint8_t *)&count, sizeof count),
                  "put");
            /* List state: append without reading. */
            check(ferrostate_list_append(s, pages, key, klen, (const uint8_t *)page,
                                         strlen(page)),
                  "append");
            /* Map state: one map per user, one entry per page. */
            uint64_t n = 0;
            check(ferrostate_map_get(s, per_page, key, klen, (const uint8_t *)page, strlen(page),
                                     buf, sizeof buf, &len, &found),
                  "map get");
            if (found) memcpy(&n, buf, sizeof n);
            n++;
            check(ferrostate_map_put(s, per_page, key, klen, (const uint8_t *)page, strlen(page),
                                     (const uint8_t *)&n, sizeof n),
                  "map put");
        }
    }
    ferrostate_snapshot_info info;
    check(ferrostate_store_snapshot(s, snap, &info), "snapshot");
    printf("writer (pid %d): %u users x %u clicks; snapshot %s: %" PRIu64 " files, %" PRIu64
           " bytes\n",
           (int)getpid(), USERS, CLICKS_PER_USER, snap, info.files, info.bytes);
    check(ferrostate_store_close(s), "close");
    return 0;
}

static int restore_and_read(const char *workdir) {
    char restored[4096], snap[4096];
    snprintf(restored, sizeof restored, "%s/restored", workdir);
    snprintf(snap, sizeof snap, "%s/snap", workdir);
    check(ferrostate_snapshot_verify(snap, NULL), "verify");
    ferrostate_options o = options_at(restored);
    const char *dirs[] = {snap};
    ferrostate_store *s = NULL;
    check(ferrostate_store_restore(&o, dirs, 1, &s), "restore");
    uint32_t clicks, pages, per_page;
    register_states(s, &clicks, &pages, &per_page);

    uint64_t total = 0, elements = 0;
    for (uint32_t user = 0; user < USERS; user++) {
        uint8_t key[5], buf[256];
        size_t klen = user_key(user, key), len = 0;
        bool found = false;
        uint64_t count = 0;
        check(ferrostate_get(s, clicks, key, klen, buf, sizeof buf, &len, &found), "get");
        if (!found || len != sizeof count) {
            fprintf(stderr, "user %u: no click count after restore\n", user);
            return 1;
        }
        memcpy(&count, buf, sizeof count);
        total += count;
        check(ferrostate_get(s, pages, key, klen, buf, sizeof buf, &len, &found), "get list");
        size_t offset = 0;
        const uint8_t *element;
        size_t element_len;
        bool more = true;
        while (more) {
            check(ferrostate_list_next(buf, len, &offset, &element, &element_len, &more), "list");
            elements += more;
        }
    }
    /* One user's map, through an iterator. */
    uint8_t key[5];
    size_t klen = user_key(42, key);
    ferrostate_iter *it = NULL;
    check(ferrostate_map_scan(s, per_page, key, klen, &it), "map scan");
    printf("reader (pid %d): restored %" PRIu64 " clicks and %" PRIu64
           " list elements; user 42 per page:",
           (int)getpid(), total, elements);
    for (;;) {
        const uint8_t *k, *v;
        size_t kl, vl;
        bool has = false;
        check(ferrostate_iter_next(it, &k, &kl, &v, &vl, &has), "iterate");
        if (!has) break;
        uint64_t n;
        memcpy(&n, v, sizeof n);
        printf(" %.*s=%" PRIu64, (int)kl, (const char *)k, n);
    }
    printf("\n");
    ferrostate_iter_free(it);
    check(ferrostate_store_close(s), "close");
    uint64_t expected = (uint64_t)USERS * CLICKS_PER_USER;
    if (total != expected || elements != expected) {
        fprintf(stderr, "expected %" PRIu64 " clicks and list elements\n", expected);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    printf("ferrostate %s\n", ferrostate_version());
    if (argc == 3 && strcmp(argv[1], "restore") == 0) return restore_and_read(argv[2]);
    char tmp[] = "/tmp/ferrostate-example-XXXXXX";
    const char *workdir = argc > 1 ? argv[1] : mkdtemp(tmp);
    if (workdir == NULL || (mkdir(workdir, 0755) != 0 && access(workdir, W_OK) != 0)) {
        perror("work directory");
        return 1;
    }
    if (write_and_snapshot(workdir) != 0) return 1;
    /* Restore in a new process: nothing of the writer's memory is left to lean on. */
    fflush(stdout);
    char *child[] = {argv[0], "restore", (char *)workdir, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child, environ) != 0) {
        perror("posix_spawn");
        return 1;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the restoring process failed\n");
        return 1;
    }
    printf("ok: state written in one process was restored and read back in another\n");
    return 0;
}
