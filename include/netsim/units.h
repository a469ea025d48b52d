/* units.h — quantities with units, as scenarios and the CLI write them.
 *
 * A quantity is a decimal number immediately followed by an optional unit:
 * "20ms", "1.5s", "10Mbps", "64KiB", "0.02", "1e-3".  The value comes back
 * in the SI base unit of its kind (seconds, bit/s, bytes), so callers never
 * see a unit again.  Parsing is locale independent and case-sensitive;
 * whitespace anywhere is rejected.
 *
 * Units, exactly as spelt:
 *   time  ns us µs μs ms s min h     (µ is U+00B5 MICRO SIGN or U+03BC mu)
 *   rate  bps kbps Kbps Mbps Gbps Tbps Kibps Mibps Gibps
 *         bit/s kbit/s Mbit/s Gbit/s Tbit/s
 *   size  B kB MB GB TB KiB MiB GiB TiB
 * k, M, G, T are powers of 1000; Ki, Mi, Gi, Ti powers of 1024.  "Kbps" is
 * accepted as 1000 bit/s because network tools (ns-3, vendors' datasheets)
 * write it that way and a rate is never binary-prefixed by accident; no
 * other capital-K form is ("KB" is an error: say kB or KiB).  "mb", "Mb",
 * "MBps" and other spellings are errors rather than guesses.
 *
 * Rejected: NaN, infinities, overflow, hexadecimal, an empty number, and a
 * negative value with any unit (a plain negative number is a valid
 * NS_UNIT_NUMBER but not a valid time, rate or size).
 */
#ifndef NETSIM_UNITS_H
#define NETSIM_UNITS_H

#include <stdbool.h>
#include <glib.h>

#define NS_UNIT_KINDS(X)                                                     \
    X(NS_UNIT_NUMBER, "number")   /* no unit */                             \
    X(NS_UNIT_TIME,   "time")     /* seconds */                             \
    X(NS_UNIT_RATE,   "rate")     /* bit/s */                               \
    X(NS_UNIT_SIZE,   "size")     /* bytes */
#define NS_X_ENUM(name, str) name,
enum ns_unit_kind { NS_UNIT_KINDS(NS_X_ENUM) };
#undef NS_X_ENUM

/* "number", "time", "rate" or "size". */
const char *ns_unit_kind_name(enum ns_unit_kind k);

/* Parses `text` into its kind and its value in base units.  On error
 * (NS_ERROR_INVALID) returns false and leaves *kind and *value alone; the
 * message names the text, e.g. "malformed quantity '20xs' (unknown unit
 * 'xs')", and callers prefix the argument or option name. */
bool ns_units_parse(const char *text, enum ns_unit_kind *kind, double *value,
                    GError **error);

/* As ns_units_parse, but the quantity must be of kind `want`; a plain
 * number is taken in that kind's base unit ("0.02" as a time is 20 ms).
 * Another kind is an error: "'10Mbps' is a rate, expected a time". */
bool ns_units_parse_as(const char *text, enum ns_unit_kind want, double *value,
                       GError **error);

#endif
