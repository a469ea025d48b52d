/* diagram.c — message sequence charts: recording, and the text chart (the
 * Mermaid one is in diagram_mermaid.c).
 *
 * Invariant: recording only appends to `entries` (messages and notes, in
 * recording order) and updates a message's fate in place; the charts are
 * computed at commit from that array alone, rows sorted by (time, recording
 * order), so the bytes depend only on what was recorded.
 *
 * The text chart is laid out on a grid of characters (code points, so a
 * host named "hôte" stays aligned): a time column on the left, then one
 * column per participant with its lifeline '|' in the middle.  Columns are
 * as wide as the widest label needs (at least DIAG_COL_MIN, at most
 * DIAG_COL_MAX; longer labels are shortened with "..."), so a chart of short
 * labels stays narrow and a long label never overwrites a lifeline.
 *
 * Times are shown in milliseconds unless that would print two different
 * instants of the chart alike; then in microseconds, then nanoseconds.  The
 * rule depends only on the recorded times, so it is deterministic, and a
 * reader can always tell which of two rows happened first.
 */
#include <string.h>

#include "diagram_priv.h"

#define DIAG_REGISTRY  "netsim.diagram"
#define DIAG_COL_MIN   24               /* characters per participant */
#define DIAG_COL_MAX   60
#define DIAG_LOST_GAP  3                /* blanks between a lost arrow's X and its target */

struct diagram_registry {
    GPtrArray *diagrams;                /* ns_diagram*, owned, opening order */
};

/* --- life cycle --- */

static void diagram_free(gpointer p)
{
    ns_diagram *d = p;
    for (guint i = 0; i < d->entries->len; i++) {
        struct entry *e = &g_array_index(d->entries, struct entry, i);
        g_free(e->text);
        g_free(e->cause);
    }
    g_array_free(d->entries, TRUE);
    if (d->streams)
        g_hash_table_destroy(d->streams);
    g_ptr_array_free(d->summary, TRUE);
    g_hash_table_destroy(d->index);
    g_ptr_array_free(d->names, TRUE);
    g_free(d->name);
    g_free(d);
}

static void registry_free(gpointer p)
{
    struct diagram_registry *r = p;
    g_ptr_array_free(r->diagrams, TRUE);
    g_free(r);
}

static struct diagram_registry *registry_get(ns_sim *sim)
{
    struct diagram_registry *r = ns_sim_attached(sim, DIAG_REGISTRY);
    if (!r) {
        r = g_new0(struct diagram_registry, 1);
        r->diagrams = g_ptr_array_new_with_free_func(diagram_free);
        ns_sim_attach(sim, DIAG_REGISTRY, r, registry_free);
    }
    return r;
}

ns_diagram *ns_diagram_find(ns_sim *sim, const char *name)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    struct diagram_registry *r = ns_sim_attached(sim, DIAG_REGISTRY);
    for (guint i = 0; r && i < r->diagrams->len; i++) {
        ns_diagram *d = g_ptr_array_index(r->diagrams, i);
        if (strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static bool render(ns_sim *sim, void *ud, GError **error);

static bool check_participants(const char *name, const char *const *participants,
                               GError **error)
{
    if (!participants || !participants[0]) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "diagram '%s': no participants", name);
        return false;
    }
    for (size_t i = 0; participants[i]; i++) {
        if (*participants[i] == '\0') {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "diagram '%s': participant %zu has an empty name",
                        name, i + 1);
            return false;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(participants[i], participants[j]) == 0) {
                g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                            "diagram '%s': participant '%s' is listed twice",
                            name, participants[i]);
                return false;
            }
    }
    return true;
}

ns_diagram *ns_diagram_open(ns_sim *sim, const char *name,
                            const char *const *participants, GError **error)
{
    g_return_val_if_fail(sim != NULL && name != NULL, NULL);
    if (*name == '\0') {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                    "the diagram name is empty");
        return NULL;
    }
    if (ns_diagram_find(sim, name)) {
        g_set_error(error, NS_ERROR, NS_ERROR_EXISTS,
                    "diagram '%s' is already open", name);
        return NULL;
    }
    if (!check_participants(name, participants, error))
        return NULL;

    char *txt_name = g_strconcat(name, ".txt", NULL);
    char *mmd_name = g_strconcat(name, ".mmd", NULL);
    ns_output *txt = ns_output_open(sim, txt_name, error);
    ns_output *mmd = txt ? ns_output_open(sim, mmd_name, error) : NULL;
    g_free(txt_name);
    g_free(mmd_name);
    if (!mmd) {
        /* An output cannot be withdrawn once opened: the text file will be
         * committed, so let it say why it holds no chart. */
        if (txt)
            fprintf(ns_output_file(txt), "diagram '%s' not rendered: %s\n",
                    name, error && *error ? (*error)->message : "cannot open");
        return NULL;
    }

    ns_diagram *d = g_new0(ns_diagram, 1);
    d->name = g_strdup(name);
    d->names = g_ptr_array_new_with_free_func(g_free);
    d->index = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; participants[i]; i++) {
        char *p = g_strdup(participants[i]);
        g_ptr_array_add(d->names, p);
        g_hash_table_insert(d->index, p, GUINT_TO_POINTER((guint)i + 1));
    }
    d->entries = g_array_new(FALSE, TRUE, sizeof(struct entry));
    d->summary = g_ptr_array_new_with_free_func(g_free);
    d->txt = txt;
    d->mmd = mmd;
    g_ptr_array_add(registry_get(sim)->diagrams, d);
    ns_output_on_commit(sim, render, d);
    return d;
}

/* --- recording --- */

/* Column of `who`, or -1 when it is not a participant. */
static int column_of(const ns_diagram *d, const char *who)
{
    if (!who)
        return -1;
    gpointer v = g_hash_table_lookup(d->index, who);
    return v ? (int)GPOINTER_TO_UINT(v) - 1 : -1;
}

bool ns_diagram_has(const ns_diagram *d, const char *who)
{
    g_return_val_if_fail(d != NULL, false);
    return column_of(d, who) >= 0;
}

/* Text that keeps the chart on its grid: valid UTF-8, and control
 * characters (newline, tab...) turned into spaces so a row stays a row. */
char *ns__diagram_clean(const char *s)
{
    char *v = g_utf8_make_valid(s ? s : "", -1);
    for (char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return v;
}

static struct entry *append(ns_diagram *d, enum entry_kind kind, ns_time_t t)
{
    struct entry e = { .kind = kind, .t = t, .seq = d->entries->len };
    g_array_append_val(d->entries, e);
    return &g_array_index(d->entries, struct entry, d->entries->len - 1);
}

uint64_t ns_diagram_send_layer(ns_diagram *d, enum ns_diagram_layer layer,
                               ns_time_t t, const char *from, const char *to,
                               const char *label)
{
    g_return_val_if_fail(d != NULL && t >= 0, 0);
    int a = column_of(d, from), b = column_of(d, to);
    if (a < 0 || b < 0 || d->rendered)
        return 0;
    struct entry *e = append(d, ENTRY_MSG, t);
    e->fate = FATE_IN_FLIGHT;
    e->layer = layer;
    e->from = (guint)a;
    e->to = (guint)b;
    e->text = ns__diagram_clean(label);
    if (layer == NS_DIAGRAM_APP)
        d->has_app = true;
    return d->entries->len;
}

uint64_t ns_diagram_send(ns_diagram *d, ns_time_t t, const char *from,
                         const char *to, const char *label)
{
    return ns_diagram_send_layer(d, NS_DIAGRAM_PACKET, t, from, to, label);
}

void ns_diagram_show_packets(ns_diagram *d, enum ns_diagram_packets show)
{
    g_return_if_fail(d != NULL);
    d->show = show;
}

/* The in-flight message `id`, or NULL after reporting a programming error. */
static struct entry *in_flight(ns_diagram *d, uint64_t id, ns_time_t t)
{
    g_return_val_if_fail(id <= d->entries->len, NULL);
    struct entry *e = &g_array_index(d->entries, struct entry, id - 1);
    g_return_val_if_fail(e->kind == ENTRY_MSG, NULL);
    g_return_val_if_fail(e->fate == FATE_IN_FLIGHT, NULL);
    g_return_val_if_fail(t >= e->t, NULL);
    return e;
}

void ns_diagram_recv(ns_diagram *d, uint64_t id, ns_time_t t)
{
    g_return_if_fail(d != NULL);
    if (id == 0 || d->rendered)
        return;
    struct entry *e = in_flight(d, id, t);
    if (!e)
        return;
    e->fate = FATE_DELIVERED;
    e->end = t;
}

void ns_diagram_drop(ns_diagram *d, uint64_t id, ns_time_t t, const char *cause)
{
    g_return_if_fail(d != NULL);
    if (id == 0 || d->rendered)
        return;
    struct entry *e = in_flight(d, id, t);
    if (!e)
        return;
    e->fate = FATE_LOST;
    e->end = t;
    e->cause = cause && *cause ? ns__diagram_clean(cause) : NULL;
}

void ns_diagram_note(ns_diagram *d, ns_time_t t, const char *who, const char *text)
{
    g_return_if_fail(d != NULL && t >= 0);
    int a = column_of(d, who);
    if (a < 0 || d->rendered)
        return;
    struct entry *e = append(d, ENTRY_NOTE, t);
    e->from = (guint)a;
    e->text = ns__diagram_clean(text);
}

/* --- messages carried by byte streams --- */

struct stream_msg {
    uint64_t end;                       /* stream position just past its last byte */
    uint64_t id;                        /* the diagram message */
};

void ns_diagram_stream_send(ns_diagram *d, ns_time_t t, const char *key,
                            uint64_t end, const char *from, const char *to,
                            const char *label)
{
    g_return_if_fail(d != NULL && key != NULL);
    uint64_t id = ns_diagram_send_layer(d, NS_DIAGRAM_APP, t, from, to, label);
    if (id == 0)
        return;
    if (!d->streams)
        d->streams = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)g_array_unref);
    GArray *q = g_hash_table_lookup(d->streams, key);
    if (!q) {
        q = g_array_new(FALSE, FALSE, sizeof(struct stream_msg));
        g_hash_table_insert(d->streams, g_strdup(key), q);
    }
    struct stream_msg m = { end, id };
    g_array_append_val(q, m);
}

/* Streams deliver in order, so the messages that arrive are a prefix of
 * the queue. */
void ns_diagram_stream_recv(ns_diagram *d, ns_time_t t, const char *key, uint64_t upto)
{
    g_return_if_fail(d != NULL && key != NULL);
    GArray *q = d->streams ? g_hash_table_lookup(d->streams, key) : NULL;
    if (!q)
        return;
    guint n = 0;
    while (n < q->len && g_array_index(q, struct stream_msg, n).end <= upto)
        ns_diagram_recv(d, g_array_index(q, struct stream_msg, n++).id, t);
    g_array_remove_range(q, 0, n);
}

void ns_diagram_summary(ns_diagram *d, const char *text)
{
    g_return_if_fail(d != NULL && text != NULL);
    if (!d->rendered)
        g_ptr_array_add(d->summary, ns__diagram_clean(text));
}

/* --- time formatting --- */

static int cmp_time(gconstpointer a, gconstpointer b)
{
    ns_time_t x = *(const ns_time_t *)a, y = *(const ns_time_t *)b;
    return x < y ? -1 : x > y;
}

static ns_time_t round_to(ns_time_t t, ns_time_t unit)
{
    return (t + unit / 2) / unit;       /* t >= 0: half rounds up */
}

/* The fewest fractional digits (3, 6 or 9) that keep every two distinct
 * instants of the chart distinct. */
int ns__diagram_time_digits(const GPtrArray *rows)
{
    GArray *ts = g_array_new(FALSE, FALSE, sizeof(ns_time_t));
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        g_array_append_val(ts, e->t);
        if (e->kind == ENTRY_MSG && e->fate != FATE_IN_FLIGHT)
            g_array_append_val(ts, e->end);
    }
    g_array_sort(ts, cmp_time);
    int digits = 3;
    for (ns_time_t unit = NS_MSEC; unit > 1; unit /= 1000, digits += 3) {
        bool distinct = true;
        for (guint i = 1; i < ts->len && distinct; i++) {
            ns_time_t x = g_array_index(ts, ns_time_t, i - 1);
            ns_time_t y = g_array_index(ts, ns_time_t, i);
            if (x != y && round_to(x, unit) == round_to(y, unit))
                distinct = false;
        }
        if (distinct)
            break;
    }
    g_array_free(ts, TRUE);
    return digits;
}

/* Seconds with `digits` fractional digits, rounded half up. */
char *ns__diagram_fmt_time(ns_time_t t, int digits)
{
    ns_time_t unit = 1, scale = 1;
    for (int i = 0; i < 9 - digits; i++)
        unit *= 10;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    ns_time_t r = round_to(t, unit);
    return g_strdup_printf("%" G_GINT64_FORMAT ".%0*" G_GINT64_FORMAT,
                           r / scale, digits, r % scale);
}

/* --- the text chart --- */

/* What an arrow without an end says: a packet was still on its way; an
 * application message may have arrived in pieces its reader never took
 * (a peer that closed first), so it says what is known. */
const char *ns__diagram_unfinished(const struct entry *e)
{
    return e->layer == NS_DIAGRAM_APP ? "not all read by the receiver at the end"
                                      : "still in flight at the end";
}

/* Packets are left out of a chart that tells the application messages'
 * story, unless the chart was asked to draw both. */
static bool is_hidden(const ns_diagram *d, const struct entry *e)
{
    if (e->kind != ENTRY_MSG || e->layer != NS_DIAGRAM_PACKET)
        return false;
    return d->show == NS_DIAGRAM_PACKETS_HIDE ||
           (d->show == NS_DIAGRAM_PACKETS_AUTO && d->has_app);
}

struct layout {
    int n;                              /* participants */
    int first;                          /* cell of the first lifeline */
    int col;                            /* cells between two lifelines */
    int width;                          /* cells in a row */
    int digits;                         /* fractional digits of times */
};

static int centre(const struct layout *l, guint i)
{
    return l->first + (int)i * l->col;
}

static int text_len(const char *s)
{
    return (int)g_utf8_strlen(s, -1);
}

/* s cut to at most max characters, "..." marking the cut.  A trailing
 * " (...)" (a message's size: "ServerHello+...+Finished (2768 B)") is kept
 * when there is room for it and some of the head: the size is what tells
 * flights apart when their names are cut. */
static char *fit(const char *s, int max)
{
    if (max < 0)
        max = 0;
    if (text_len(s) <= max)
        return g_strdup(s);
    if (max < 4)
        return g_utf8_substring(s, 0, max);
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')           /* arrow labels come padded */
        n--;
    const char *tail = n && s[n - 1] == ')' ? g_strrstr_len(s, (gssize)n, "(") : NULL;
    int keep = tail && tail > s && tail[-1] == ' ' ? text_len(tail - 1) : 0;
    if (keep == 0 || max - 3 - keep < 8)
        keep = 0;
    char *head = g_utf8_substring(s, 0, max - 3 - keep);
    char *r = g_strconcat(head, "...", keep ? tail - 1 : "", NULL);
    g_free(head);
    return r;
}

/* A row of the chart under construction: one code point per cell. */
struct row {
    gunichar *cells;
    int       width;
};

static void row_init(struct row *r, const struct layout *l, bool lifelines)
{
    r->width = l->width;
    r->cells = g_new(gunichar, r->width);
    for (int i = 0; i < r->width; i++)
        r->cells[i] = ' ';
    if (lifelines)
        for (int i = 0; i < l->n; i++)
            r->cells[centre(l, (guint)i)] = '|';
}

static void row_put(struct row *r, int pos, const char *s)
{
    for (const char *p = s; *p; p = g_utf8_next_char(p), pos++)
        if (pos >= 0 && pos < r->width)
            r->cells[pos] = g_utf8_get_char(p);
}

static void row_fill(struct row *r, int from, int to, gunichar c)
{
    for (int i = from; i <= to; i++)
        if (i >= 0 && i < r->width)
            r->cells[i] = c;
}

/* Writes s centred on cell c, shortened to at most max cells. */
static void row_centre_at(struct row *r, int c, int max, const char *s)
{
    char *t = fit(s, max);
    row_put(r, c - text_len(t) / 2, t);
    g_free(t);
}

/* Writes s centred on [from, to] (whole cells), shortened to fit. */
static void row_centre(struct row *r, int from, int to, const char *s)
{
    char *t = fit(s, to - from + 1);
    row_put(r, from + (to - from + 1 - text_len(t)) / 2, t);
    g_free(t);
}

/* Appends the row without trailing blanks, then the remark (if any) a few
 * cells right of the last lifeline or of whatever the row drew there. */
static void row_emit(struct row *r, const struct layout *l, GString *out,
                     const char *remark)
{
    int end = r->width;
    while (end > 0 && r->cells[end - 1] == ' ')
        end--;
    for (int i = 0; i < end; i++)
        g_string_append_unichar(out, r->cells[i]);
    if (remark) {
        int at = centre(l, (guint)l->n - 1) + 4;
        if (at < end + 2)
            at = end + 2;
        for (int i = end; i < at; i++)
            g_string_append_c(out, ' ');
        g_string_append(out, remark);
    }
    g_string_append_c(out, '\n');
    g_free(r->cells);
}

/* Column width: wide enough for every name, note and label (a label needs
 * room for two spaces, a head, two dashes on each side and, when lost, the
 * X and its gap), spread over the columns its arrow spans. */
static int column_width(const ns_diagram *d, const GPtrArray *rows)
{
    int col = DIAG_COL_MIN;
    for (guint i = 0; i < d->names->len; i++)
        col = MAX(col, text_len(g_ptr_array_index(d->names, i)) + 2);
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        int need;
        if (e->kind == ENTRY_NOTE) {
            need = text_len(e->text) + 4;
        } else if (e->from == e->to) {
            need = text_len(e->text) + 8;
        } else {
            int span = (int)(e->from > e->to ? e->from - e->to : e->to - e->from);
            need = (text_len(e->text) + 2 + 1 + 4 + 1 + DIAG_LOST_GAP + 1 + span - 1) / span;
        }
        col = MAX(col, need);
    }
    return MIN(col, DIAG_COL_MAX);
}

static void draw_message(struct row *r, const struct layout *l, const struct entry *e)
{
    int a = centre(l, e->from), b = centre(l, e->to);
    char *label = g_strconcat(" ", e->text, " ", NULL);

    if (a == b) {
        /* A message to oneself (loopback): a hook and the label beside it. */
        row_put(r, a + 1, "<-'");
        char *t = fit(e->text, l->col - 6);
        row_put(r, a + 5, t);
        g_free(t);
        g_free(label);
        return;
    }
    bool rightwards = a < b;
    int lo = MIN(a, b), hi = MAX(a, b);
    gunichar line = e->fate == FATE_IN_FLIGHT ? '.' : '-';
    /* [s, t]: the shaft, between the sender's lifeline and the head. */
    int s = lo + 1, t = hi - 1;
    if (e->fate == FATE_LOST) {
        /* The arrow stops short of its target, ending in an X. */
        if (rightwards) {
            t = hi - 1 - DIAG_LOST_GAP;
            r->cells[t] = 'X';
            t--;
        } else {
            s = lo + 1 + DIAG_LOST_GAP;
            r->cells[s] = 'X';
            s++;
        }
    } else if (rightwards) {
        r->cells[t--] = '>';
    } else {
        r->cells[s++] = '<';
    }
    row_fill(r, s, t, line);
    row_centre(r, s + 2, t - 2, label);
    g_free(label);
}

static void render_text(const ns_diagram *d, const GPtrArray *rows, GString *out)
{
    struct layout l = { .n = (int)d->names->len, .digits = ns__diagram_time_digits(rows) };
    l.col = column_width(d, rows);

    /* The time column: "sent -> arrives" per message, the time per note. */
    GPtrArray *times = g_ptr_array_new_with_free_func(g_free);
    int tw = 0;
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        char *sent = ns__diagram_fmt_time(e->t, l.digits);
        tw = MAX(tw, text_len(sent));
        g_ptr_array_add(times, sent);
        char *end = NULL;
        if (e->kind == ENTRY_MSG)
            end = e->fate == FATE_DELIVERED ? ns__diagram_fmt_time(e->end, l.digits)
                : g_strdup(e->fate == FATE_LOST ? "lost" : "...");
        g_ptr_array_add(times, end);
    }
    /* Widest left text: " <sent> -> <arrival>" or the header below.  The
     * first lifeline sits right of it, leaving room for what is centred on
     * it: its name and its notes. */
    char *head = g_strdup_printf(" %*s -> arrives", tw, "sent");
    int left = MAX(text_len(head), 1 + 2 * tw + 4) + 2;
    int half = text_len(g_ptr_array_index(d->names, 0));
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        if (e->kind == ENTRY_NOTE && e->from == 0)
            half = MAX(half, text_len(e->text) + 2);
    }
    l.first = left + (MIN(half, l.col - 2) + 1) / 2 + 1;
    l.width = centre(&l, (guint)l.n - 1) + l.col / 2 + 1;

    g_string_append_printf(out, "Sequence diagram '%s'\n", d->name);
    g_string_append(out, "Time runs down; each arrow is drawn when its "
                    "message is sent; times in seconds.\n\n");

    struct row r;
    row_init(&r, &l, false);
    row_put(&r, 0, head);
    g_free(head);
    for (int i = 0; i < l.n; i++) {
        char *name = ns__diagram_clean(g_ptr_array_index(d->names, i));
        row_centre_at(&r, centre(&l, (guint)i), l.col - 2, name);
        g_free(name);
    }
    row_emit(&r, &l, out, NULL);
    row_init(&r, &l, true);
    row_emit(&r, &l, out, NULL);

    unsigned delivered = 0, lost = 0, flying = 0, unread = 0;
    for (guint i = 0; i < rows->len; i++) {
        const struct entry *e = g_ptr_array_index(rows, i);
        const char *sent = g_ptr_array_index(times, 2 * i);
        const char *end = g_ptr_array_index(times, 2 * i + 1);
        char *remark = NULL;
        row_init(&r, &l, true);
        if (e->kind == ENTRY_NOTE) {
            char *lhs = g_strdup_printf(" %*s", tw, sent);
            row_put(&r, 0, lhs);
            g_free(lhs);
            char *t = fit(e->text, l.col - 4);     /* the brackets stay */
            char *note = g_strconcat("[", t, "]", NULL);
            g_free(t);
            row_centre_at(&r, centre(&l, e->from), l.col - 2, note);
            g_free(note);
        } else {
            char *lhs = g_strdup_printf(" %*s -> %s", tw, sent, end);
            row_put(&r, 0, lhs);
            g_free(lhs);
            draw_message(&r, &l, e);
            if (e->fate == FATE_DELIVERED) {
                delivered++;
            } else if (e->fate == FATE_LOST) {
                lost++;
                char *at = ns__diagram_fmt_time(e->end, l.digits);
                remark = g_strdup_printf("lost at %s s%s%s", at,
                                         e->cause ? ": " : "",
                                         e->cause ? e->cause : "");
                g_free(at);
            } else {
                if (e->layer == NS_DIAGRAM_APP)
                    unread++;
                else
                    flying++;
                remark = g_strdup(ns__diagram_unfinished(e));
            }
        }
        row_emit(&r, &l, out, remark);
        g_free(remark);
    }
    row_init(&r, &l, true);
    row_emit(&r, &l, out, NULL);
    g_ptr_array_free(times, TRUE);

    unsigned all = delivered + lost + flying + unread;
    g_string_append_printf(out, "\n%u message%s: %u delivered, %u lost, %u still in flight",
                           all, all == 1 ? "" : "s", delivered, lost, flying);
    /* An application message whose bytes arrived but were never read is
     * not in flight: say which it is. */
    if (unread)
        g_string_append_printf(out, ", %u not all read by the receiver", unread);
    g_string_append_printf(out, ".\nArrows: ---> delivered, ---X lost on the way, "
                           "...> still in flight%s when the run ended.\n",
                           unread ? " (or not all read)" : "");
    guint hidden = d->entries->len;
    for (guint i = 0; i < d->entries->len; i++)
        if (!is_hidden(d, &g_array_index(d->entries, struct entry, i)))
            hidden--;
    if (hidden)
        g_string_append_printf(out, "%u packet%s under these messages %s not drawn.\n",
                               hidden, hidden == 1 ? "" : "s", hidden == 1 ? "is" : "are");
    for (guint i = 0; i < d->summary->len; i++)
        g_string_append_printf(out, "%s\n", (const char *)g_ptr_array_index(d->summary, i));
}

/* --- commit --- */

static int cmp_rows(gconstpointer a, gconstpointer b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void write_string(ns_output *o, const GString *s)
{
    FILE *fp = ns_output_file(o);
    if (fp)
        fwrite(s->str, 1, s->len, fp);   /* errors surface at commit */
}

/* The finalizer: renders both charts once the run is over. */
static bool render(ns_sim *sim, void *ud, GError **error)
{
    ns_diagram *d = ud;
    GPtrArray *rows = g_ptr_array_new();
    for (guint i = 0; i < d->entries->len; i++) {
        struct entry *e = &g_array_index(d->entries, struct entry, i);
        if (!is_hidden(d, e))
            g_ptr_array_add(rows, e);
    }
    g_ptr_array_sort(rows, cmp_rows);

    GString *s = g_string_new(NULL);
    render_text(d, rows, s);
    write_string(d->txt, s);
    g_string_truncate(s, 0);
    ns__diagram_mermaid(d, rows, s);
    write_string(d->mmd, s);
    g_string_free(s, TRUE);
    g_ptr_array_free(rows, TRUE);
    d->rendered = true;
    return true;
}
