/* test_output.c — the output folder and its atomic files.
 *
 * The oracle is the folder itself: after every operation the test lists
 * what is on disk, so a stray .part file or a file that appeared too early
 * is caught, and error texts are compared whole. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "netsim/output.h"
#include "tests.h"

/* A fresh scratch folder per test (not created: output.c must do it). */
static char *scratch(const char *test)
{
    char *d = g_build_filename(ns_test_tmpdir(), "output", test, NULL);
    CU_ASSERT_FALSE(g_file_test(d, G_FILE_TEST_EXISTS));
    return d;
}

static void assert_listing(const char *root, const char *want)
{
    char *got = ns_test_listing(root);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\nlisting of %s: got '%s', want '%s'\n", root, got, want);
    g_free(got);
}

static void assert_file(const char *dir, const char *name, const char *want)
{
    char *p = g_build_filename(dir, name, NULL);
    char *got = NULL;
    CU_ASSERT_TRUE_FATAL(g_file_get_contents(p, &got, NULL, NULL));
    CU_ASSERT_STRING_EQUAL(got, want);
    g_free(got);
    g_free(p);
}

static void assert_error(GError *err, int code, const char *msg)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, code));
    CU_ASSERT_STRING_EQUAL(err->message, msg);
    if (strcmp(err->message, msg) != 0)
        fprintf(stderr, "\nerror: got '%s', want '%s'\n", err->message, msg);
}

static void test_commit_renames_parts(void)
{
    char *dir = scratch("commit");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_STRING_EQUAL(ns_output_dir(sim), ".");
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    CU_ASSERT_STRING_EQUAL(ns_output_dir(sim), dir);
    CU_ASSERT_EQUAL(ns_output_committed(sim)->len, 0);

    ns_output *b = ns_output_open(sim, "b.tsv", NULL);
    ns_output *a = ns_output_open(sim, "sub/deep/a.tsv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(ns_output_name(a), "sub/deep/a.tsv");
    fputs("hello\n", ns_output_file(a));
    fputs("world\n", ns_output_file(b));
    /* Nothing under a final name before the commit. */
    assert_listing(dir, "b.tsv.part sub/deep/a.tsv.part");

    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_commit_all(sim, &err));
    CU_ASSERT_PTR_NULL(err);
    assert_listing(dir, "b.tsv sub/deep/a.tsv");
    assert_file(dir, "sub/deep/a.tsv", "hello\n");
    assert_file(dir, "b.tsv", "world\n");
    const GPtrArray *c = ns_output_committed(sim);
    CU_ASSERT_EQUAL_FATAL(c->len, 2);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 0), "b.tsv");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 1), "sub/deep/a.tsv");
    /* The handles outlive the commit but no longer write. */
    CU_ASSERT_PTR_NULL(ns_output_file(a));

    /* A second commit has nothing to do; a committed name stays taken. */
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    CU_ASSERT_EQUAL(ns_output_committed(sim)->len, 2);
    CU_ASSERT_PTR_NULL(ns_output_open(sim, "b.tsv", &err));
    assert_error(err, NS_ERROR_EXISTS, "output 'b.tsv' was already committed");
    g_clear_error(&err);

    ns_sim_free(sim);
    assert_listing(dir, "b.tsv sub/deep/a.tsv");
    g_free(dir);
}

static void test_abort_leaves_nothing(void)
{
    char *dir = scratch("abort");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    ns_output *a = ns_output_open(sim, "a.tsv", NULL);
    ns_output *b = ns_output_open(sim, "x/b.tsv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    fputs("data\n", ns_output_file(a));
    assert_listing(dir, "a.tsv.part x/b.tsv.part");
    ns_output_abort_all(sim);
    assert_listing(dir, "");
    CU_ASSERT_PTR_NULL(ns_output_file(a));
    /* Nothing is committed by a later commit either. */
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    CU_ASSERT_EQUAL(ns_output_committed(sim)->len, 0);
    assert_listing(dir, "");
    /* An aborted name may be opened again. */
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "a.tsv", NULL));
    ns_sim_free(sim);
    assert_listing(dir, "");
    g_free(dir);
}

static void test_free_without_commit(void)
{
    char *dir = scratch("free");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    ns_output *a = ns_output_open(sim, "a.tsv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    fputs("data\n", ns_output_file(a));
    assert_listing(dir, "a.tsv.part");
    ns_sim_free(sim);
    assert_listing(dir, "");
    g_free(dir);
}

static void test_unwritable_folder(void)
{
    ns_sim *sim = ns_sim_new(1);
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_output_set_dir(sim, "/proc/netsim-no-such-dir", NULL));
    CU_ASSERT_PTR_NULL(ns_output_open(sim, "events.tsv", &err));
    assert_error(err, NS_ERROR_IO, "cannot create output folder "
                 "'/proc/netsim-no-such-dir': No such file or directory");
    g_clear_error(&err);
    ns_sim_free(sim);

    /* A regular file where the folder should be (works even as root). */
    char *dir = scratch("notdir");
    CU_ASSERT_EQUAL(g_mkdir_with_parents(dir, 0777), 0);
    char *file = g_build_filename(dir, "plain", NULL);
    CU_ASSERT_TRUE(g_file_set_contents(file, "x", 1, NULL));
    sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, file, NULL));
    CU_ASSERT_PTR_NULL(ns_output_open(sim, "sub/a.tsv", &err));
    char *want = g_strdup_printf("cannot create output folder '%s/sub': Not a directory", file);
    assert_error(err, NS_ERROR_IO, want);
    g_clear_error(&err);
    /* The failed open took no name: the folder may still be changed. */
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "sub/a.tsv", NULL));
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_listing(dir, "plain sub/a.tsv");
    ns_sim_free(sim);
    g_free(want);
    g_free(file);
    g_free(dir);
}

static void test_duplicate_name(void)
{
    char *dir = scratch("dup");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    ns_output *a = ns_output_open(sim, "events.tsv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    fputs("first\n", ns_output_file(a));
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_output_open(sim, "events.tsv", &err));
    assert_error(err, NS_ERROR_EXISTS, "output 'events.tsv' is already open");
    g_clear_error(&err);
    /* The refused open did not truncate the first. */
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    assert_file(dir, "events.tsv", "first\n");
    ns_sim_free(sim);
    g_free(dir);
}

static void test_bad_names(void)
{
    static const char *const bad[] = {
        "../x", "/abs", "a/../b", "..", "", "a//b", "./a", "a/", NULL
    };
    char *dir = scratch("names");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    for (const char *const *n = bad; *n; n++) {
        GError *err = NULL;
        CU_ASSERT_PTR_NULL(ns_output_open(sim, *n, &err));
        CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
        g_clear_error(&err);
    }
    GError *err = NULL;
    CU_ASSERT_PTR_NULL(ns_output_open(sim, "../x", &err));
    assert_error(err, NS_ERROR_INVALID, "output name '../x' must be a relative "
                 "path without '..', '.' or empty components");
    g_clear_error(&err);
    /* Nothing was created, not even the folder. */
    CU_ASSERT_FALSE(g_file_test(dir, G_FILE_TEST_EXISTS));
    /* Names with dots that are not ".." components are fine. */
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "a..b/..c.tsv", NULL));
    ns_sim_free(sim);
    g_free(dir);
}

static void test_set_dir_after_open(void)
{
    char *dir = scratch("setdir");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "a.tsv", NULL));
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_output_set_dir(sim, "elsewhere", &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_STATE));
    g_clear_error(&err);
    CU_ASSERT_STRING_EQUAL(ns_output_dir(sim), dir);
    CU_ASSERT_FALSE(ns_output_set_dir(sim, "", &err));
    g_clear_error(&err);
    ns_sim_free(sim);
    g_free(dir);
}

/* /dev/full behind the .part name: every flush fails with ENOSPC, so the
 * commit must fail, name the file, and leave nothing committed. */
static void test_write_error(void)
{
    if (!g_file_test("/dev/full", G_FILE_TEST_EXISTS))
        return;
    char *dir = scratch("full");
    CU_ASSERT_EQUAL(g_mkdir_with_parents(dir, 0777), 0);
    char *part = g_build_filename(dir, "full.tsv.part", NULL);
    CU_ASSERT_EQUAL_FATAL(symlink("/dev/full", part), 0);

    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    ns_output *a = ns_output_open(sim, "a.tsv", NULL);
    ns_output *f = ns_output_open(sim, "full.tsv", NULL);
    ns_output *z = ns_output_open(sim, "z.tsv", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    fputs("a\n", ns_output_file(a));
    fputs("lost\n", ns_output_file(f));
    fputs("z\n", ns_output_file(z));
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_output_commit_all(sim, &err));
    char *want = g_strdup_printf("cannot write output file '%s': No space left on device", part);
    assert_error(err, NS_ERROR_IO, want);
    g_clear_error(&err);
    /* Closing comes before renaming: not even a.tsv was committed. */
    assert_listing(dir, "");
    CU_ASSERT_EQUAL(ns_output_committed(sim)->len, 0);
    ns_sim_free(sim);
    g_free(want);
    g_free(part);
    g_free(dir);
}

/* A folder in the way of the final name: the rename fails; files renamed
 * before it stay, the ones after it are removed. */
static void test_rename_error(void)
{
    char *dir = scratch("rename");
    char *block = g_build_filename(dir, "r.tsv", "inside", NULL);
    CU_ASSERT_EQUAL(g_mkdir_with_parents(block, 0777), 0);
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "a.tsv", NULL));
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "r.tsv", NULL));
    CU_ASSERT_PTR_NOT_NULL(ns_output_open(sim, "z.tsv", NULL));
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_output_commit_all(sim, &err));
    CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_IO));
    CU_ASSERT_PTR_NOT_NULL(err ? strstr(err->message, "cannot rename '") : NULL);
    g_clear_error(&err);
    g_rmdir(block);
    assert_listing(dir, "a.tsv");
    const GPtrArray *c = ns_output_committed(sim);
    CU_ASSERT_EQUAL_FATAL(c->len, 1);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(c, 0), "a.tsv");
    ns_sim_free(sim);
    assert_listing(dir, "a.tsv");
    g_free(block);
    g_free(dir);
}

/* A finalizer writes its file at commit time, once; a failing one fails
 * the commit and nothing is committed. */
static bool write_summary(ns_sim *sim, void *ud, GError **error)
{
    int *calls = ud;
    (*calls)++;
    ns_output *o = ns_output_open(sim, "summary.txt", error);
    if (!o)
        return false;
    fputs("done\n", ns_output_file(o));
    return true;
}

static bool refuse(ns_sim *sim, void *ud, GError **error)
{
    g_set_error(error, NS_ERROR, NS_ERROR_IO, "refused");
    return false;
}

static void test_finalizers(void)
{
    char *dir = scratch("finalizers");
    ns_sim *sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    ns_output *o = ns_output_open(sim, "a.txt", NULL);
    fputs("a\n", ns_output_file(o));
    int calls = 0;
    ns_output_on_commit(sim, write_summary, &calls);
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));
    CU_ASSERT_EQUAL(calls, 1);
    assert_listing(dir, "a.txt summary.txt");
    assert_file(dir, "summary.txt", "done\n");
    CU_ASSERT_TRUE(ns_output_commit_all(sim, NULL));   /* runs once only */
    CU_ASSERT_EQUAL(calls, 1);
    ns_sim_free(sim);
    g_free(dir);

    dir = scratch("finalizer-fails");
    sim = ns_sim_new(1);
    CU_ASSERT_TRUE(ns_output_set_dir(sim, dir, NULL));
    o = ns_output_open(sim, "a.txt", NULL);
    fputs("a\n", ns_output_file(o));
    ns_output_on_commit(sim, refuse, NULL);
    GError *err = NULL;
    CU_ASSERT_FALSE(ns_output_commit_all(sim, &err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err->message, "refused");
    g_error_free(err);
    assert_listing(dir, "");
    ns_sim_free(sim);
    g_free(dir);
}

void test_output_register(void)
{
    CU_pSuite s = ns_test_suite("output", NULL, NULL);
    ns_test_add(s, "commit renames .part files in opening order", test_commit_renames_parts);
    ns_test_add(s, "abort leaves nothing", test_abort_leaves_nothing);
    ns_test_add(s, "freeing the sim without commit leaves nothing", test_free_without_commit);
    ns_test_add(s, "unwritable folder is an error naming it", test_unwritable_folder);
    ns_test_add(s, "opening a name twice is an error", test_duplicate_name);
    ns_test_add(s, "names escaping the folder are refused", test_bad_names);
    ns_test_add(s, "the folder is fixed once a file is open", test_set_dir_after_open);
    ns_test_add(s, "a write error fails the commit and commits nothing", test_write_error);
    ns_test_add(s, "a rename error removes what is left", test_rename_error);
    ns_test_add(s, "finalizers write at commit, once; a failing one fails it", test_finalizers);
}
