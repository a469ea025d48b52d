/* output.h — the files a run writes, all under one output folder.
 *
 * Every file is written under a temporary name ("<name>.part" beside it)
 * and renamed into place only by ns_output_commit_all: a failed or
 * interrupted run leaves no half-written output.  ns_output_abort_all (and
 * ns_sim_free without a commit) removes the temporary files.
 */
#ifndef NETSIM_OUTPUT_H
#define NETSIM_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>

#include "netsim/sim.h"

typedef struct ns_output ns_output;

/* Sets the output folder (created, with parents, on the first open).
 * Default ".". Must be set before the first file is opened. */
bool ns_output_set_dir(ns_sim *sim, const char *dir, GError **error);
const char *ns_output_dir(const ns_sim *sim);

/* Opens `name` (relative to the folder; may contain '/') for writing.
 * Opening a name twice is an error (NS_ERROR_EXISTS). */
ns_output *ns_output_open(ns_sim *sim, const char *name, GError **error);
/* The stream to write to; NULL once the output was committed or aborted
 * (the ns_output itself stays valid until ns_sim_free). */
FILE      *ns_output_file(ns_output *o);
const char *ns_output_name(const ns_output *o);

/* Renames every open output into place, in opening order, and closes it.
 * Returns false (and removes what is left) if a write or rename failed. */
bool ns_output_commit_all(ns_sim *sim, GError **error);
void ns_output_abort_all(ns_sim *sim);
/* Registers fn to run at the start of the next ns_output_commit_all, before
 * any file is closed: for outputs rendered at the end of a run (sequence
 * diagrams, summaries).  Runs once, in registration order; returning false
 * (with error set) fails the commit.  ud must outlive the commit. */
typedef bool (*ns_output_finalize_fn)(ns_sim *sim, void *ud, GError **error);
void ns_output_on_commit(ns_sim *sim, ns_output_finalize_fn fn, void *ud);

/* Names of the files committed so far, in commit order. */
const GPtrArray *ns_output_committed(const ns_sim *sim);

#endif
