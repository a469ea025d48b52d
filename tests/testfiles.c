/* testfiles.c — what the suites that work on files and on the netsim
 * command share: scratch files, folder listings, and running the binary
 * under test in a folder. */
#include <string.h>
#include <sys/wait.h>
#include <glib.h>

#include "tests.h"

void ns_test_write_file(const char *dir, const char *name, const char *text)
{
    char *p = g_build_filename(dir, name, NULL);
    CU_ASSERT_TRUE_FATAL(g_file_set_contents(p, text, -1, NULL));
    g_free(p);
}

char *ns_test_read_file(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

static void list_into(GPtrArray *out, const char *root, const char *rel)
{
    char *path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d))) {
            char *r = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
            char *p = g_build_filename(root, r, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) {
                list_into(out, root, r);
                g_free(r);
            } else {
                g_ptr_array_add(out, r);
            }
            g_free(p);
        }
        g_dir_close(d);
    }
    g_free(path);
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *ns_test_listing(const char *root)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    list_into(a, root, NULL);
    g_ptr_array_sort(a, cmp_str);
    g_ptr_array_add(a, NULL);
    char *s = g_strjoinv(" ", (char **)a->pdata);
    g_ptr_array_free(a, TRUE);
    return s;
}

int ns_test_exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status)
         : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

bool ns_test_no_sanitizer_report(const char *who, const char *err)
{
    static const char *const markers[] = {
        "LeakSanitizer", "AddressSanitizer", "runtime error:",   /* the last: UBSan */
    };
    for (size_t i = 0; err && i < G_N_ELEMENTS(markers); i++) {
        if (strstr(err, markers[i])) {
            CU_FAIL("a sanitizer report on the child's stderr");
            fprintf(stderr, "\n%s: sanitizer report (%s):\n%s\n", who, markers[i], err);
            return false;
        }
    }
    return true;
}

struct ns_test_run ns_test_netsim(const char *dir, const char *const *args)
{
    return ns_test_netsim_under(dir, NULL, args);
}

struct ns_test_run ns_test_netsim_under(const char *dir, const char *const *launcher,
                                        const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    char *bin = g_canonicalize_filename(ns_test_netsim_bin(), NULL);
    for (const char *const *a = launcher; a && *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, bin);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (char *)*a);
    g_ptr_array_add(argv, NULL);
    struct ns_test_run r = { 0 };
    int status = 0;
    GError *err = NULL;
    GSpawnFlags flags = launcher ? G_SPAWN_SEARCH_PATH : G_SPAWN_DEFAULT;
    if (!g_spawn_sync(dir, (char **)argv->pdata, NULL, flags, NULL, NULL,
                      &r.out, &r.err, &status, &err)) {
        CU_FAIL("cannot spawn netsim");
        fprintf(stderr, "\nspawn %s: %s\n", (char *)argv->pdata[0], err->message);
        g_error_free(err);
        r.status = -1;
        r.out = g_strdup("");
        r.err = g_strdup("");
    } else {
        r.status = ns_test_exit_code(status);
        char *cmd = g_strjoinv(" ", (char **)argv->pdata);
        ns_test_no_sanitizer_report(cmd, r.err);
        g_free(cmd);
    }
    g_ptr_array_free(argv, TRUE);
    g_free(bin);
    return r;
}

void ns_test_run_clear(struct ns_test_run *r)
{
    g_free(r->out);
    g_free(r->err);
    memset(r, 0, sizeof *r);
}
