/* diagram_mermaid.c — a sequence chart as a Mermaid `sequenceDiagram`.
 *
 * Invariant: like the text chart, the output depends only on the rows
 * given (sorted, the entries drawn) and the summary lines; participant ids
 * are derived from the names alone.
 */
#include <string.h>

#include "diagram_priv.h"

/* Words Mermaid's sequence-diagram grammar reserves: such a name, or one
 * with characters beyond [A-Za-z0-9_], gets an alias. */
static bool mermaid_safe_id(const char *s)
{
    static const char *const reserved[] = {
        "participant", "actor", "as", "loop", "alt", "else", "opt", "par",
        "and", "rect", "end", "note", "over", "left", "right", "of",
        "activate", "deactivate", "autonumber", "title", "critical",
        "break", "box", "create", "destroy", "link", "links", NULL,
    };
    if (!g_ascii_isalpha(*s))
        return false;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return false;
    for (size_t i = 0; reserved[i]; i++)
        if (g_ascii_strcasecmp(s, reserved[i]) == 0)
            return false;
    return true;
}

/* Mermaid reads "#...;" as an entity and ";" "<" ">" as syntax: written
 * as numeric entities they show as themselves. */
static void mermaid_text(GString *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case ';': g_string_append(out, "#59;"); break;
        case '#': g_string_append(out, "#35;"); break;
        case '<': g_string_append(out, "#60;"); break;
        case '>': g_string_append(out, "#62;"); break;
        default:  g_string_append_c(out, *p);   break;
        }
    }
}

/* Participant ids: the name itself when Mermaid accepts it, else "P<n>"
 * (with "_" appended until it clashes with no other id). */
static GPtrArray *mermaid_ids(const ns_diagram *d)
{
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < d->names->len; i++) {
        const char *name = g_ptr_array_index(d->names, i);
        if (mermaid_safe_id(name)) {
            g_ptr_array_add(ids, g_strdup(name));
            continue;
        }
        GString *id = g_string_new(NULL);
        g_string_printf(id, "P%u", i + 1);
        for (bool clash = true; clash;) {
            clash = false;
            for (guint j = 0; j < d->names->len && !clash; j++)
                clash = strcmp(g_ptr_array_index(d->names, j), id->str) == 0;
            for (guint j = 0; j < ids->len && !clash; j++)
                clash = strcmp(g_ptr_array_index(ids, j), id->str) == 0;
            if (clash)
                g_string_append_c(id, '_');
        }
        g_ptr_array_add(ids, g_string_free(id, FALSE));
    }
    return ids;
}

void ns__diagram_mermaid(const ns_diagram *d, const GPtrArray *rows, GString *out)
{
    int digits = ns__diagram_time_digits(rows);
    GPtrArray *ids = mermaid_ids(d);
    g_string_append(out, "sequenceDiagram\n");
    for (guint i = 0; i < d->names->len; i++) {
        const char *name = g_ptr_array_index(d->names, i);
        const char *id = g_ptr_array_index(ids, i);
        g_string_append_printf(out, "    participant %s", id);
        if (strcmp(id, name) != 0) {
            char *clean = ns__diagram_clean(name);
            g_string_append(out, " as ");
            mermaid_text(out, clean);
            g_free(clean);
        }
        g_string_append_c(out, '\n');
    }
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        const char *from = g_ptr_array_index(ids, e->from);
        if (e->kind == ENTRY_NOTE) {
            g_string_append_printf(out, "    Note over %s: ", from);
            mermaid_text(out, e->text);
            g_string_append_c(out, '\n');
            continue;
        }
        static const char *const arrows[] = {
            [FATE_IN_FLIGHT] = "-->>", [FATE_DELIVERED] = "->>",
            [FATE_LOST] = "--x",
        };
        g_string_append_printf(out, "    %s%s%s: ", from, arrows[e->fate],
                               (const char *)g_ptr_array_index(ids, e->to));
        char *sent = ns__diagram_fmt_time(e->t, digits);
        char *end = e->fate == FATE_IN_FLIGHT ? NULL : ns__diagram_fmt_time(e->end, digits);
        GString *tail = g_string_new(NULL);
        if (e->fate == FATE_DELIVERED)
            g_string_printf(tail, " (t=%s s, arrives %s s)", sent, end);
        else if (e->fate == FATE_LOST)
            g_string_printf(tail, " (t=%s s, lost at %s s%s%s)", sent, end,
                            e->cause ? ": " : "", e->cause ? e->cause : "");
        else
            g_string_printf(tail, " (t=%s s, %s)", sent, ns__diagram_unfinished(e));
        mermaid_text(out, e->text);
        mermaid_text(out, tail->str);
        g_string_append_c(out, '\n');
        g_string_free(tail, TRUE);
        g_free(sent);
        g_free(end);
    }
    /* Mermaid has no footer: the summary lines are notes across the chart. */
    for (guint i = 0; i < d->summary->len; i++) {
        g_string_append_printf(out, "    Note over %s", (const char *)g_ptr_array_index(ids, 0));
        if (ids->len > 1)
            g_string_append_printf(out, ",%s",
                                   (const char *)g_ptr_array_index(ids, ids->len - 1));
        g_string_append(out, ": ");
        mermaid_text(out, g_ptr_array_index(d->summary, i));
        g_string_append_c(out, '\n');
    }
    g_ptr_array_free(ids, TRUE);
}
