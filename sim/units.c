/* units.c — parsing quantities with units ("20ms", "10Mbps", "64KiB").
 *
 * Invariant: a value is the parsed decimal number scaled by one correctly
 * rounded multiplication or division, so "20ms" is exactly the double
 * nearest 0.02 and "0.29s" is exactly 0.29: a scenario that writes the same
 * time two ways gets the same double, and the same trace.
 */
#include <math.h>
#include <string.h>

#include "netsim/sim.h"
#include "netsim/units.h"

#define NS_X_NAME(name, str) [name] = str,
static const char *const kind_names[] = { NS_UNIT_KINDS(NS_X_NAME) };
#undef NS_X_NAME

const char *ns_unit_kind_name(enum ns_unit_kind k)
{
    g_return_val_if_fail((size_t)k < G_N_ELEMENTS(kind_names), "?");
    return kind_names[k];
}

/* A unit scales by `factor`, dividing when `divide` is set: 1/1000 is not
 * a double, so milliseconds divide by 1e3 rather than multiply by 1e-3. */
struct unit {
    const char       *name;
    enum ns_unit_kind kind;
    double            factor;
    bool              divide;
};

#define KI 1024.0
static const struct unit units[] = {
    { "ns",         NS_UNIT_TIME, 1e9, true },
    { "us",         NS_UNIT_TIME, 1e6, true },
    { "\xc2\xb5s",  NS_UNIT_TIME, 1e6, true },   /* U+00B5 MICRO SIGN */
    { "\xce\xbcs",  NS_UNIT_TIME, 1e6, true },   /* U+03BC GREEK SMALL MU */
    { "ms",         NS_UNIT_TIME, 1e3, true },
    { "s",          NS_UNIT_TIME, 1.0, false },
    { "min",        NS_UNIT_TIME, 60.0, false },
    { "h",          NS_UNIT_TIME, 3600.0, false },

    { "bps",        NS_UNIT_RATE, 1.0, false },
    { "kbps",       NS_UNIT_RATE, 1e3, false },
    { "Kbps",       NS_UNIT_RATE, 1e3, false },  /* common spelling, see units.h */
    { "Mbps",       NS_UNIT_RATE, 1e6, false },
    { "Gbps",       NS_UNIT_RATE, 1e9, false },
    { "Tbps",       NS_UNIT_RATE, 1e12, false },
    { "Kibps",      NS_UNIT_RATE, KI, false },
    { "Mibps",      NS_UNIT_RATE, KI * KI, false },
    { "Gibps",      NS_UNIT_RATE, KI * KI * KI, false },
    { "bit/s",      NS_UNIT_RATE, 1.0, false },
    { "kbit/s",     NS_UNIT_RATE, 1e3, false },
    { "Mbit/s",     NS_UNIT_RATE, 1e6, false },
    { "Gbit/s",     NS_UNIT_RATE, 1e9, false },
    { "Tbit/s",     NS_UNIT_RATE, 1e12, false },

    { "B",          NS_UNIT_SIZE, 1.0, false },
    { "kB",         NS_UNIT_SIZE, 1e3, false },
    { "MB",         NS_UNIT_SIZE, 1e6, false },
    { "GB",         NS_UNIT_SIZE, 1e9, false },
    { "TB",         NS_UNIT_SIZE, 1e12, false },
    { "KiB",        NS_UNIT_SIZE, KI, false },
    { "MiB",        NS_UNIT_SIZE, KI * KI, false },
    { "GiB",        NS_UNIT_SIZE, KI * KI * KI, false },
    { "TiB",        NS_UNIT_SIZE, KI * KI * KI * KI, false },
};
#undef KI

static size_t scan_digits(const char *p)
{
    size_t n = 0;
    while (g_ascii_isdigit(p[n]))
        n++;
    return n;
}

/* Length of the decimal number at the start of p, 0 if none:
 * [+-] (digits [. digits] | . digits) [(e|E) [+-] digits].
 * Scanned by hand because g_ascii_strtod also takes hex, "inf", "nan" and
 * leading spaces, none of which a scenario should write.  An 'e' not
 * followed by digits is left to the unit (no unit starts with e). */
static size_t scan_number(const char *p)
{
    size_t i = (p[0] == '+' || p[0] == '-') ? 1 : 0;
    size_t whole = scan_digits(p + i);
    i += whole;
    size_t frac = 0;
    if (p[i] == '.') {
        frac = scan_digits(p + i + 1);
        if (whole == 0 && frac == 0)
            return 0;
        i += 1 + frac;
    }
    if (whole == 0 && frac == 0)
        return 0;
    if (p[i] == 'e' || p[i] == 'E') {
        size_t j = i + 1;
        if (p[j] == '+' || p[j] == '-')
            j++;
        size_t exp = scan_digits(p + j);
        if (exp > 0)
            i = j + exp;
    }
    return i;
}

static bool malformed(GError **error, const char *text, const char *why)
{
    g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "malformed quantity '%s' (%s)",
                text, why);
    return false;
}

static bool is_non_finite_word(const char *p)
{
    if (*p == '+' || *p == '-')
        p++;
    return g_ascii_strncasecmp(p, "inf", 3) == 0 || g_ascii_strncasecmp(p, "nan", 3) == 0;
}

bool ns_units_parse(const char *text, enum ns_unit_kind *kind, double *value,
                    GError **error)
{
    g_return_val_if_fail(text != NULL && kind != NULL && value != NULL, false);
    g_return_val_if_fail(error == NULL || *error == NULL, false);

    if (*text == '\0')
        return malformed(error, text, "empty");
    for (const char *p = text; *p; p++)
        if (g_ascii_isspace(*p))
            return malformed(error, text, "contains whitespace");
    if (is_non_finite_word(text))
        return malformed(error, text, "not a finite number");
    size_t len = scan_number(text);
    if (len == 0)
        return malformed(error, text, "no number");

    /* The scanned prefix is a valid decimal, so strtod stops exactly at its
     * end; copy it so strtod cannot read into the unit ("1e" + "xs"...). */
    char *num = g_strndup(text, len);
    double x = g_ascii_strtod(num, NULL);
    g_free(num);
    if (!isfinite(x))
        return malformed(error, text, "out of range");

    const char *suffix = text + len;
    enum ns_unit_kind k = NS_UNIT_NUMBER;
    if (*suffix) {
        const struct unit *u = NULL;
        for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
            if (strcmp(suffix, units[i].name) == 0) {
                u = &units[i];
                break;
            }
        if (!u) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID,
                        "malformed quantity '%s' (unknown unit '%s')", text, suffix);
            return false;
        }
        if (x < 0) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "'%s' is a negative %s",
                        text, ns_unit_kind_name(u->kind));
            return false;
        }
        k = u->kind;
        x = u->divide ? x / u->factor : x * u->factor;
        if (!isfinite(x))
            return malformed(error, text, "out of range");
        x += 0.0;   /* "-0ms" is +0: a zero never prints as "-0" in a trace */
    }
    *kind = k;
    *value = x;
    return true;
}

bool ns_units_parse_as(const char *text, enum ns_unit_kind want, double *value,
                       GError **error)
{
    g_return_val_if_fail((size_t)want < G_N_ELEMENTS(kind_names), false);
    g_return_val_if_fail(value != NULL, false);

    enum ns_unit_kind got;
    double x;
    if (!ns_units_parse(text, &got, &x, error))
        return false;
    if (got == NS_UNIT_NUMBER && want != NS_UNIT_NUMBER) {
        /* A bare number is in base units; as a unit it must not be negative. */
        if (x < 0) {
            g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "'%s' is a negative %s",
                        text, ns_unit_kind_name(want));
            return false;
        }
        got = want;
        x += 0.0;
    }
    if (got != want) {
        g_set_error(error, NS_ERROR, NS_ERROR_INVALID, "'%s' is a %s, expected a %s",
                    text, ns_unit_kind_name(got), ns_unit_kind_name(want));
        return false;
    }
    *value = x;
    return true;
}
