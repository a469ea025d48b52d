/* output.c — the output folder and its atomic files.
 *
 * Invariant: a file appears under its final name only once it was written
 * completely.  Until ns_output_commit_all it exists only as "<name>.part";
 * commit closes every file first (so every write error is known before
 * anything is renamed), then renames them in opening order.  Abort, a failed
 * commit and ns_sim_free without a commit unlink the .part files.
 *
 * An ns_output stays allocated until the sim is freed, even once committed
 * or aborted (its FILE is then NULL): the trace keeps pointers to its files
 * and must be able to see that they are closed rather than dangle.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "sim_priv.h"
#include "netsim/output.h"

/* Trace files are written in many small pieces: a large buffer turns them
 * into few large writes.  Per open file, so kept moderate. */
#define OUTPUT_BUFSIZE (256 * 1024)

enum output_state {
    OUTPUT_OPEN,            /* writing to part_path */
    OUTPUT_COMMITTED,       /* renamed to path, closed */
    OUTPUT_ABORTED,         /* closed, part_path unlinked */
};

struct ns_output {
    char              *name;        /* relative to the folder, as given */
    char              *path;        /* final path: dir/name */
    char              *part_path;   /* path + ".part", written while open */
    FILE              *fp;          /* NULL unless OUTPUT_OPEN */
    char              *buf;         /* stdio buffer of fp, freed after fclose */
    enum output_state  state;
};

struct finalizer {
    ns_output_finalize_fn fn;
    void                 *ud;
};

struct ns_outputs {
    GArray    *finalizers;          /* struct finalizer, run before commit */
    char      *dir;                 /* output folder, default "." */
    GPtrArray *files;               /* ns_output*, owned, in opening order */
    GPtrArray *committed;           /* char* names, owned, in commit order */
};

static struct ns_outputs *outputs_get(ns_sim *sim)
{
    if (!sim->outputs) {
        struct ns_outputs *os = g_new0(struct ns_outputs, 1);
        os->dir = g_strdup(".");
        os->finalizers = g_array_new(FALSE, FALSE, sizeof(struct finalizer));
        os->files = g_ptr_array_new();
        os->committed = g_ptr_array_new_with_free_func(g_free);
        sim->outputs = os;
    }
    return sim->outputs;
}

static void output_free(ns_output *o)
{
    g_free(o->name);
    g_free(o->path);
    g_free(o->part_path);
    g_free(o->buf);
    g_free(o);
}

bool ns_output_set_dir(ns_sim *sim, const char *dir, GError **error)
{
    g_return_val_if_fail(sim != NULL && dir != NULL, false);
    struct ns_outputs *os = outputs_get(sim);
    if (os->files->len > 0) {
        /* Files already opened live in the old folder: moving the folder
         * now would split one run's output over two places. */
        g_set_error(error, NS_ERROR, NS_ERROR_STATE,
                    "cannot set the output folder to '%s': output '%s' is "
                    "already open in '%s'", dir,
                    ((ns_output *)g_ptr_array_index(os->files, 0))->name,
                    os->dir);
        return false;
    }
    if (*dir == '\0') {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "the output folder name is empty");
        return false;
    }
    g_free(os->dir);
    os->dir = g_strdup(dir);
    return true;
}

const char *ns_output_dir(const ns_sim *sim)
{
    g_return_val_if_fail(sim != NULL, NULL);
    return sim->outputs ? sim->outputs->dir : ".";
}

/* A name must stay inside the output folder: relative, without ".."; empty
 * and "." components are refused too, as they only hide mistakes. */
static bool name_is_valid(const char *name)
{
    if (*name == '\0' || g_path_is_absolute(name))
        return false;
    bool ok = true;
    char **parts = g_strsplit(name, "/", -1);
    for (char **p = parts; *p; p++)
        if (**p == '\0' || strcmp(*p, ".") == 0 || strcmp(*p, "..") == 0)
            ok = false;
    g_strfreev(parts);
    return ok;
}

ns_output *ns_output_open(ns_sim *sim, const char *name, GError **error)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    if (!name_is_valid(name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "output name '%s' must be a relative path without "
                    "'..', '.' or empty components", name);
        return NULL;
    }
    struct ns_outputs *os = outputs_get(sim);
    for (guint i = 0; i < os->files->len; i++) {
        ns_output *o = g_ptr_array_index(os->files, i);
        if (o->state == OUTPUT_ABORTED || strcmp(o->name, name) != 0)
            continue;
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    o->state == OUTPUT_OPEN ? "output '%s' is already open"
                                            : "output '%s' was already committed",
                    name);
        return NULL;
    }

    char *path = g_build_filename(os->dir, name, NULL);
    char *folder = g_path_get_dirname(path);
    if (g_mkdir_with_parents(folder, 0777) != 0) {
        int e = errno;
        g_set_error(error, NS_ERROR, NS_ERROR_IO,
                    "cannot create output folder '%s': %s", folder, g_strerror(e));
        g_free(folder);
        g_free(path);
        return NULL;
    }
    g_free(folder);

    char *part = g_strconcat(path, ".part", NULL);
    FILE *fp = fopen(part, "w");
    if (!fp) {
        int e = errno;
        g_set_error(error, NS_ERROR, NS_ERROR_IO,
                    "cannot open output file '%s': %s", part, g_strerror(e));
        g_free(part);
        g_free(path);
        return NULL;
    }
    ns_output *o = g_new0(ns_output, 1);
    o->name = g_strdup(name);
    o->path = path;
    o->part_path = part;
    o->fp = fp;
    o->buf = g_malloc(OUTPUT_BUFSIZE);
    setvbuf(fp, o->buf, _IOFBF, OUTPUT_BUFSIZE);
    o->state = OUTPUT_OPEN;
    g_ptr_array_add(os->files, o);
    return o;
}

FILE *ns_output_file(ns_output *o)
{
    g_return_val_if_fail(o != NULL, NULL);
    return o->fp;
}

const char *ns_output_name(const ns_output *o)
{
    g_return_val_if_fail(o != NULL, NULL);
    return o->name;
}

/* Closes o's stream; returns errno of the first failure, 0 on success.  A
 * stream error flag set by an earlier write has lost its errno, so EIO
 * stands for it unless the final flush reports something better. */
static int output_close(ns_output *o)
{
    int err = 0;
    bool had_error = ferror(o->fp) != 0;
    if (fflush(o->fp) != 0)
        err = errno;
    else if (had_error)
        err = EIO;
    if (fclose(o->fp) != 0 && err == 0)
        err = errno;
    o->fp = NULL;
    g_free(o->buf);
    o->buf = NULL;
    return err;
}

/* Unlinks every file still waiting under its .part name. */
static void discard_pending(struct ns_outputs *os)
{
    for (guint i = 0; i < os->files->len; i++) {
        ns_output *o = g_ptr_array_index(os->files, i);
        if (o->state != OUTPUT_OPEN)
            continue;
        if (o->fp)
            output_close(o);
        g_unlink(o->part_path);
        o->state = OUTPUT_ABORTED;
    }
}

bool ns_output_commit_all(ns_sim *sim, GError **error)
{
    g_return_val_if_fail(sim != NULL, false);
    struct ns_outputs *os = outputs_get(sim);

    /* Writers that produce their file at the end (diagrams, summaries) do
     * it now, in registration order; each runs once. */
    GArray *fins = os->finalizers;
    os->finalizers = g_array_new(FALSE, FALSE, sizeof(struct finalizer));
    for (guint i = 0; i < fins->len; i++) {
        struct finalizer *f = &g_array_index(fins, struct finalizer, i);
        if (!f->fn(sim, f->ud, error)) {
            g_array_free(fins, TRUE);
            discard_pending(os);
            return false;
        }
    }
    g_array_free(fins, TRUE);

    /* Close everything before renaming anything: a write error in the last
     * file must not leave the first ones committed. */
    for (guint i = 0; i < os->files->len; i++) {
        ns_output *o = g_ptr_array_index(os->files, i);
        if (o->state != OUTPUT_OPEN)
            continue;
        int err = output_close(o);
        if (err) {
            g_set_error(error, NS_ERROR, NS_ERROR_IO,
                        "cannot write output file '%s': %s",
                        o->part_path, g_strerror(err));
            discard_pending(os);
            return false;
        }
    }
    for (guint i = 0; i < os->files->len; i++) {
        ns_output *o = g_ptr_array_index(os->files, i);
        if (o->state != OUTPUT_OPEN)
            continue;
        if (g_rename(o->part_path, o->path) != 0) {
            int e = errno;
            g_set_error(error, NS_ERROR, NS_ERROR_IO,
                        "cannot rename '%s' to '%s': %s",
                        o->part_path, o->path, g_strerror(e));
            discard_pending(os);
            return false;
        }
        o->state = OUTPUT_COMMITTED;
        g_ptr_array_add(os->committed, g_strdup(o->name));
    }
    return true;
}

void ns_output_abort_all(ns_sim *sim)
{
    g_return_if_fail(sim != NULL);
    if (sim->outputs)
        discard_pending(sim->outputs);
}

void ns_output_on_commit(ns_sim *sim, ns_output_finalize_fn fn, void *ud)
{
    g_return_if_fail(sim != NULL && fn != NULL);
    struct finalizer f = { fn, ud };
    g_array_append_val(outputs_get(sim)->finalizers, f);
}

const GPtrArray *ns_output_committed(const ns_sim *sim)
{
    g_return_val_if_fail(sim != NULL, NULL);
    /* Creating the empty state is invisible to callers: the sim is
     * logically unchanged, so a const query may do it. */
    return outputs_get((ns_sim *)sim)->committed;
}

void ns__output_free(ns_sim *sim)
{
    struct ns_outputs *os = sim->outputs;
    if (!os)
        return;
    discard_pending(os);
    for (guint i = 0; i < os->files->len; i++)
        output_free(g_ptr_array_index(os->files, i));
    g_ptr_array_free(os->files, TRUE);
    g_ptr_array_free(os->committed, TRUE);
    g_array_free(os->finalizers, TRUE);
    g_free(os->dir);
    g_free(os);
    sim->outputs = NULL;
}
