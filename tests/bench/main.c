/* main.c — the benchmark driver and its measuring helpers.
 *
 *   build/bench [--events N] [--reps R] [--sizes N,N,...] [--list] [NAME...]
 *
 * Runs every benchmark, or those named, in registration order.  Results go
 * to stdout as JSON Lines (see bench.h); the exit status is non-zero only if
 * a benchmark failed or the command line was wrong — a missed performance
 * target is reported in the output ("target_met"), not as a failure, because
 * wall-clock figures on a shared machine are noisy.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const struct bench *const benches[] = {
    &bench_hold,
    &bench_udp_chain,
    &bench_queue_mem,
    &bench_tcp_single,
    &bench_tcp_dumbbell,
    &bench_tcp_idle,
    &bench_sweep_scaling,
    &bench_tls_handshakes,
    &bench_locks_contention,
    &bench_locks_unsaturated,
    &bench_dhcp_campus,
};

/* --- measuring ------------------------------------------------------- */

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The "Key:   123 kB" line of /proc/self/status, in kB. */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t klen = strlen(key);
    long kb = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

long bench_rss_kb(void) { return status_kb("VmRSS"); }
long bench_peak_rss_kb(void) { return status_kb("VmHWM"); }

bool bench_in_child(void (*fn)(void *arg, void *out), void *arg, void *out, size_t size)
{
    int fd[2];
    if (pipe(fd) != 0)
        return false;
    fflush(stdout);             /* the child must not repeat buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return false;
    }
    if (pid == 0) {
        close(fd[0]);
        void *buf = g_malloc0(size);
        fn(arg, buf);
        ssize_t w = write(fd[1], buf, size);
        _exit(w == (ssize_t)size ? 0 : 1);     /* the heap goes with the child */
    }
    close(fd[1]);
    void *buf = g_malloc0(size);
    bool ok = read(fd[0], buf, size) == (ssize_t)size;
    close(fd[0]);
    int st;
    ok = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ok;
    if (ok)
        memcpy(out, buf, size);
    g_free(buf);
    return ok;
}

GArray *bench_sizes(const struct bench_opts *opts, const uint64_t *defaults,
                    size_t n)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(guint64));
    if (!opts->sizes) {
        for (size_t i = 0; i < n; i++) {
            guint64 v = defaults[i];
            g_array_append_val(a, v);
        }
        return a;
    }
    gchar **parts = g_strsplit(opts->sizes, ",", -1);
    for (gchar **p = parts; *p; p++) {
        guint64 v;
        if (!g_ascii_string_to_unsigned(*p, 10, 1, G_MAXUINT32, &v, NULL)) {
            g_strfreev(parts);
            g_array_free(a, TRUE);
            return NULL;
        }
        g_array_append_val(a, v);
    }
    g_strfreev(parts);
    return a;
}

/* --- JSON Lines ------------------------------------------------------ */

struct bench_json {
    GString *s;
};

static void put_string(GString *s, const char *v)
{
    g_string_append_c(s, '"');
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            g_string_append_printf(s, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf(s, "\\u%04x", c);
        else
            g_string_append_c(s, (char)c);
    }
    g_string_append_c(s, '"');
}

static void put_key(bench_json *j, const char *key)
{
    g_string_append_c(j->s, ',');
    put_string(j->s, key);
    g_string_append_c(j->s, ':');
}

bench_json *bench_json_begin(const char *bench)
{
    bench_json *j = g_new(bench_json, 1);
    j->s = g_string_new("{\"bench\":");
    put_string(j->s, bench);
    return j;
}

void bench_json_int(bench_json *j, const char *key, int64_t v)
{
    put_key(j, key);
    g_string_append_printf(j->s, "%" G_GINT64_FORMAT, (gint64)v);
}

void bench_json_num(bench_json *j, const char *key, double v)
{
    put_key(j, key);
    if (!isfinite(v)) {
        g_string_append(j->s, "null");       /* JSON has no NaN or inf */
        return;
    }
    /* g_ascii_formatd ignores the locale: a decimal comma would break JSON. */
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(j->s, g_ascii_formatd(buf, sizeof buf, "%.6g", v));
}

void bench_json_bool(bench_json *j, const char *key, bool v)
{
    put_key(j, key);
    g_string_append(j->s, v ? "true" : "false");
}

void bench_json_str(bench_json *j, const char *key, const char *v)
{
    put_key(j, key);
    put_string(j->s, v);
}

void bench_json_end(bench_json *j)
{
    g_string_append(j->s, "}\n");
    fputs(j->s->str, stdout);
    fflush(stdout);               /* a killed run keeps its finished lines */
    g_string_free(j->s, TRUE);
    g_free(j);
}

/* --- driver ---------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: bench [--events N] [--reps R] [--sizes N,N,...] [--list] [NAME...]\n");
}

static bool parse_u64(const char *opt, const char *text, uint64_t *out)
{
    guint64 v;
    if (!text || !g_ascii_string_to_unsigned(text, 10, 1, G_MAXUINT64, &v, NULL)) {
        fprintf(stderr, "bench: %s needs a positive integer, got '%s'\n",
                opt, text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

static const struct bench *find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(benches); i++)
        if (strcmp(benches[i]->name, name) == 0)
            return benches[i];
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_opts opts = { 0 };
    GPtrArray *chosen = g_ptr_array_new();
    int status = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "--events") == 0) {
            if (!parse_u64(a, i + 1 < argc ? argv[++i] : NULL, &v))
                goto usage_error;
            opts.events = v;
        } else if (strcmp(a, "--reps") == 0) {
            if (!parse_u64(a, i + 1 < argc ? argv[++i] : NULL, &v) || v > 1000)
                goto usage_error;
            opts.reps = (unsigned)v;
        } else if (strcmp(a, "--sizes") == 0) {
            if (i + 1 >= argc)
                goto usage_error;
            opts.sizes = argv[++i];
        } else if (strcmp(a, "--list") == 0) {
            for (size_t k = 0; k < G_N_ELEMENTS(benches); k++)
                printf("%-12s %s\n", benches[k]->name, benches[k]->what);
            goto out;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            goto out;
        } else if (a[0] == '-') {
            fprintf(stderr, "bench: unknown option '%s'\n", a);
            goto usage_error;
        } else {
            const struct bench *b = find(a);
            if (!b) {
                fprintf(stderr, "bench: no benchmark '%s' (try --list)\n", a);
                goto usage_error;
            }
            g_ptr_array_add(chosen, (gpointer)b);
        }
    }
    if (chosen->len == 0)
        for (size_t k = 0; k < G_N_ELEMENTS(benches); k++)
            g_ptr_array_add(chosen, (gpointer)benches[k]);
    for (guint k = 0; k < chosen->len; k++) {
        const struct bench *b = g_ptr_array_index(chosen, k);
        if (!b->run(&opts)) {
            fprintf(stderr, "bench: %s failed\n", b->name);
            status = 1;
        }
    }
    goto out;

usage_error:
    usage(stderr);
    status = 2;
out:
    g_ptr_array_free(chosen, TRUE);
    return status;
}
