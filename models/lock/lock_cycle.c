/* lock_cycle.c — which wait-for cycle to name: the one rule the oracle
 * (lock_oracle.c, "cycle: ..." lines and the highlighted graph) and the
 * detectors (lock_detector.c, `cycle=` of a judged round) share, so that
 * the cycle a report prints and the one a detector broke agree.
 *
 * A deadlocked component (a strongly connected set of blocked clients)
 * often holds many cycles: in the staged three-way race every client
 * waits for both others, so a -> b -> a, b -> c -> b, a -> b -> c -> a
 * all exist.  Naming the shortest one hides members (c, the victim,
 * would be on no printed cycle), so the rule is: a cycle through every
 * member of start's component when one exists and the component has at
 * most NS__LOCK_CYCLE_FULL members (a backtracking search, at most 7!
 * paths); otherwise the shortest cycle through start (breadth first).
 * Successors are tried in index order, so the result is deterministic.
 *
 * Invariant: the returned path starts at `start`, follows edges of adj,
 * repeats no node, and its last node has an edge back to `start`. */
#include "lock_priv.h"

/* Nodes of start's strongly connected component: reached from start and
 * reaching it. */
static guint component(const bool *adj, guint n, guint start, bool *in)
{
    bool *fwd = g_new0(bool, n), *back = g_new0(bool, n);
    guint *queue = g_new(guint, n);
    for (int dir = 0; dir < 2; dir++) {
        bool *seen = dir ? back : fwd;
        guint head = 0, tail = 0;
        seen[start] = true;
        queue[tail++] = start;
        while (head < tail) {
            guint a = queue[head++];
            for (guint b = 0; b < n; b++)
                if (!seen[b] && (dir ? adj[b * n + a] : adj[a * n + b])) {
                    seen[b] = true;
                    queue[tail++] = b;
                }
        }
    }
    guint size = 0;
    for (guint i = 0; i < n; i++)
        size += in[i] = fwd[i] && back[i];
    g_free(fwd);
    g_free(back);
    g_free(queue);
    return size;
}

/* Extends path[0..len) to a cycle through all `want` nodes of `in`. */
static bool full_cycle(const bool *adj, guint n, const bool *in, guint want, guint *path,
                       guint len, bool *used)
{
    guint last = path[len - 1];
    if (len == want)
        return adj[last * n + path[0]];
    for (guint b = 0; b < n; b++) {
        if (!in[b] || used[b] || !adj[last * n + b])
            continue;
        used[b] = true;
        path[len] = b;
        if (full_cycle(adj, n, in, want, path, len + 1, used))
            return true;
        used[b] = false;
    }
    return false;
}

/* The shortest cycle through start, breadth first; 0 if none. */
static guint shortest_cycle(const bool *adj, guint n, guint start, guint *path)
{
    int *parent = g_new(int, n);
    guint *queue = g_new(guint, n);
    for (guint i = 0; i < n; i++)
        parent[i] = -1;
    guint head = 0, tail = 0, len = 0;
    int last = -1;
    queue[tail++] = start;
    parent[start] = (int)start;
    while (head < tail && last < 0) {
        guint a = queue[head++];
        if (adj[a * n + start]) {
            last = (int)a;
            break;
        }
        for (guint b = 0; b < n; b++)
            if (parent[b] < 0 && adj[a * n + b]) {
                parent[b] = (int)a;
                queue[tail++] = b;
            }
    }
    if (last >= 0) {
        for (int x = last; x != (int)start; x = parent[x])
            len++;
        len++;
        guint k = len;
        for (int x = last; k > 0; x = parent[x])
            path[--k] = (guint)x;
    }
    g_free(parent);
    g_free(queue);
    return len;
}

guint ns__lock_cycle_through(const bool *adj, guint n, guint start, guint *path)
{
    bool *in = g_new0(bool, n);
    guint size = component(adj, n, start, in), len = 0;
    if (size >= 2 && size <= NS__LOCK_CYCLE_FULL) {
        bool *used = g_new0(bool, n);
        used[start] = true;
        path[0] = start;
        if (full_cycle(adj, n, in, size, path, 1, used))
            len = size;
        g_free(used);
    }
    if (len == 0 && size >= 2)
        len = shortest_cycle(adj, n, start, path);
    g_free(in);
    return len;
}
