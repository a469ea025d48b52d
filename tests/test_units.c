/* test_units.c — quantities with units: every unit, exact values, and the
 * error messages, which scenario authors read and so are behaviour. */
#include <math.h>
#include <string.h>

#include "tests.h"
#include "netsim/sim.h"
#include "netsim/units.h"

struct ok_case {
    const char       *text;
    enum ns_unit_kind kind;
    double            value;
};

/* Every unit once, plus number forms.  Values are compared with ==: the
 * parser promises the correctly rounded scaling, so 20ms is exactly 0.02. */
static const struct ok_case ok_cases[] = {
    { "1ns", NS_UNIT_TIME, 1e-9 },
    { "250us", NS_UNIT_TIME, 250e-6 },
    { "250\xc2\xb5s", NS_UNIT_TIME, 250e-6 },
    { "250\xce\xbcs", NS_UNIT_TIME, 250e-6 },
    { "20ms", NS_UNIT_TIME, 0.02 },
    { "1.5ms", NS_UNIT_TIME, 0.0015 },
    { "1.5s", NS_UNIT_TIME, 1.5 },
    { "0.29s", NS_UNIT_TIME, 0.29 },
    { "2min", NS_UNIT_TIME, 120.0 },
    { "1.5h", NS_UNIT_TIME, 5400.0 },
    { "0s", NS_UNIT_TIME, 0.0 },
    { "+5ms", NS_UNIT_TIME, 0.005 },
    { ".5s", NS_UNIT_TIME, 0.5 },
    { "5.s", NS_UNIT_TIME, 5.0 },
    { "1e-3s", NS_UNIT_TIME, 1e-3 },
    { "2E3ms", NS_UNIT_TIME, 2.0 },

    { "9600bps", NS_UNIT_RATE, 9600.0 },
    { "56kbps", NS_UNIT_RATE, 56e3 },
    { "56Kbps", NS_UNIT_RATE, 56e3 },
    { "10Mbps", NS_UNIT_RATE, 1e7 },
    { "2.5Gbps", NS_UNIT_RATE, 2.5e9 },
    { "1Tbps", NS_UNIT_RATE, 1e12 },
    { "1Kibps", NS_UNIT_RATE, 1024.0 },
    { "2Mibps", NS_UNIT_RATE, 2097152.0 },
    { "1Gibps", NS_UNIT_RATE, 1073741824.0 },
    { "100bit/s", NS_UNIT_RATE, 100.0 },
    { "3kbit/s", NS_UNIT_RATE, 3e3 },
    { "3Mbit/s", NS_UNIT_RATE, 3e6 },
    { "3Gbit/s", NS_UNIT_RATE, 3e9 },
    { "3Tbit/s", NS_UNIT_RATE, 3e12 },

    { "1500B", NS_UNIT_SIZE, 1500.0 },
    { "64kB", NS_UNIT_SIZE, 64e3 },
    { "1.5MB", NS_UNIT_SIZE, 1.5e6 },
    { "2GB", NS_UNIT_SIZE, 2e9 },
    { "1TB", NS_UNIT_SIZE, 1e12 },
    { "64KiB", NS_UNIT_SIZE, 65536.0 },
    { "1MiB", NS_UNIT_SIZE, 1048576.0 },
    { "1GiB", NS_UNIT_SIZE, 1073741824.0 },
    { "1TiB", NS_UNIT_SIZE, 1099511627776.0 },

    { "0.02", NS_UNIT_NUMBER, 0.02 },
    { "1e-3", NS_UNIT_NUMBER, 1e-3 },
    { "42", NS_UNIT_NUMBER, 42.0 },
    { "-3.5", NS_UNIT_NUMBER, -3.5 },
    { "1e-999", NS_UNIT_NUMBER, 0.0 },   /* underflow is a tiny number, not an error */
};

static void test_every_unit(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ok_cases); i++) {
        const struct ok_case *c = &ok_cases[i];
        enum ns_unit_kind kind = 99;
        double v = NAN;
        GError *err = NULL;
        bool ok = ns_units_parse(c->text, &kind, &v, &err);
        if (!ok || kind != c->kind || v != c->value)
            fprintf(stderr, "\n  '%s': ok=%d kind=%d value=%.17g (%s)\n", c->text, ok,
                    (int)kind, v, err ? err->message : "");
        CU_ASSERT_TRUE(ok);
        CU_ASSERT_PTR_NULL(err);
        CU_ASSERT_EQUAL(kind, c->kind);
        CU_ASSERT_EQUAL(v, c->value);
        g_clear_error(&err);
    }
}

static void test_point_29(void)
{
    enum ns_unit_kind kind;
    double v;
    CU_ASSERT_TRUE(ns_units_parse("0.29s", &kind, &v, NULL));
    CU_ASSERT_EQUAL(v, 0.29);
    /* The same time written in another unit is the same double. */
    CU_ASSERT_TRUE(ns_units_parse_as("290ms", NS_UNIT_TIME, &v, NULL));
    CU_ASSERT_EQUAL(v, 0.29);
    CU_ASSERT_TRUE(ns_units_parse_as("0.29", NS_UNIT_TIME, &v, NULL));
    CU_ASSERT_EQUAL(v, 0.29);
}

static void test_negative_zero(void)
{
    enum ns_unit_kind kind;
    double v = 1.0;
    CU_ASSERT_TRUE(ns_units_parse("-0ms", &kind, &v, NULL));
    CU_ASSERT_EQUAL(v, 0.0);
    CU_ASSERT_FALSE(signbit(v));
    v = 1.0;
    CU_ASSERT_TRUE(ns_units_parse_as("-0", NS_UNIT_SIZE, &v, NULL));
    CU_ASSERT_FALSE(signbit(v));
}

struct err_case {
    const char *text;
    const char *message;
};

static const struct err_case err_cases[] = {
    { "20xs", "malformed quantity '20xs' (unknown unit 'xs')" },
    { "ms", "malformed quantity 'ms' (no number)" },
    { "", "malformed quantity '' (empty)" },
    { " 20ms", "malformed quantity ' 20ms' (contains whitespace)" },
    { "20ms ", "malformed quantity '20ms ' (contains whitespace)" },
    { "20 ms", "malformed quantity '20 ms' (contains whitespace)" },
    { "20\tms", "malformed quantity '20\tms' (contains whitespace)" },
    { "nan", "malformed quantity 'nan' (not a finite number)" },
    { "NaNms", "malformed quantity 'NaNms' (not a finite number)" },
    { "inf", "malformed quantity 'inf' (not a finite number)" },
    { "-infinity", "malformed quantity '-infinity' (not a finite number)" },
    { "1e999", "malformed quantity '1e999' (out of range)" },
    { "1e300TB", "malformed quantity '1e300TB' (out of range)" },
    { "10mb", "malformed quantity '10mb' (unknown unit 'mb')" },
    { "10Mb", "malformed quantity '10Mb' (unknown unit 'Mb')" },
    { "10KB", "malformed quantity '10KB' (unknown unit 'KB')" },
    { "10MS", "malformed quantity '10MS' (unknown unit 'MS')" },
    { "10mbps", "malformed quantity '10mbps' (unknown unit 'mbps')" },
    { "0x10", "malformed quantity '0x10' (unknown unit 'x10')" },
    { "1e", "malformed quantity '1e' (unknown unit 'e')" },
    { "1.2.3", "malformed quantity '1.2.3' (unknown unit '.3')" },
    { "20ms5", "malformed quantity '20ms5' (unknown unit 'ms5')" },
    { ".", "malformed quantity '.' (no number)" },
    { "-", "malformed quantity '-' (no number)" },
    { "e5", "malformed quantity 'e5' (no number)" },
    { "--5", "malformed quantity '--5' (no number)" },
    { "-5ms", "'-5ms' is a negative time" },
    { "-1Mbps", "'-1Mbps' is a negative rate" },
    { "-1e-9B", "'-1e-9B' is a negative size" },
};

static void test_error_messages(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(err_cases); i++) {
        const struct err_case *c = &err_cases[i];
        enum ns_unit_kind kind = 99;
        double v = 7.0;
        GError *err = NULL;
        CU_ASSERT_FALSE(ns_units_parse(c->text, &kind, &v, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
        if (strcmp(err->message, c->message) != 0)
            fprintf(stderr, "\n  got  %s\n  want %s\n", err->message, c->message);
        CU_ASSERT_STRING_EQUAL(err->message, c->message);
        /* Outputs are untouched on failure. */
        CU_ASSERT_EQUAL(kind, 99);
        CU_ASSERT_EQUAL(v, 7.0);
        g_clear_error(&err);
    }
}

static void test_parse_as(void)
{
    double v = 0;
    GError *err = NULL;

    CU_ASSERT_TRUE(ns_units_parse_as("0.02", NS_UNIT_TIME, &v, &err));
    CU_ASSERT_EQUAL(v, 0.02);
    CU_ASSERT_TRUE(ns_units_parse_as("1000", NS_UNIT_RATE, &v, &err));
    CU_ASSERT_EQUAL(v, 1000.0);
    CU_ASSERT_TRUE(ns_units_parse_as("1500", NS_UNIT_SIZE, &v, &err));
    CU_ASSERT_EQUAL(v, 1500.0);
    CU_ASSERT_TRUE(ns_units_parse_as("10Mbps", NS_UNIT_RATE, &v, &err));
    CU_ASSERT_EQUAL(v, 1e7);
    CU_ASSERT_TRUE(ns_units_parse_as("-1", NS_UNIT_NUMBER, &v, &err));
    CU_ASSERT_EQUAL(v, -1.0);
    CU_ASSERT_PTR_NULL(err);

    static const struct {
        const char       *text;
        enum ns_unit_kind want;
        const char       *message;
    } bad[] = {
        { "10Mbps", NS_UNIT_TIME, "'10Mbps' is a rate, expected a time" },
        { "20ms", NS_UNIT_RATE, "'20ms' is a time, expected a rate" },
        { "64KiB", NS_UNIT_TIME, "'64KiB' is a size, expected a time" },
        { "20ms", NS_UNIT_NUMBER, "'20ms' is a time, expected a number" },
        { "1s", NS_UNIT_SIZE, "'1s' is a time, expected a size" },
        { "-1", NS_UNIT_TIME, "'-1' is a negative time" },
        { "-0.5", NS_UNIT_RATE, "'-0.5' is a negative rate" },
        { "20xs", NS_UNIT_TIME, "malformed quantity '20xs' (unknown unit 'xs')" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        v = 7.0;
        CU_ASSERT_FALSE(ns_units_parse_as(bad[i].text, bad[i].want, &v, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_TRUE(g_error_matches(err, NS_ERROR, NS_ERROR_INVALID));
        CU_ASSERT_STRING_EQUAL(err->message, bad[i].message);
        CU_ASSERT_EQUAL(v, 7.0);
        g_clear_error(&err);
    }
}

static void test_kind_names(void)
{
    CU_ASSERT_STRING_EQUAL(ns_unit_kind_name(NS_UNIT_NUMBER), "number");
    CU_ASSERT_STRING_EQUAL(ns_unit_kind_name(NS_UNIT_TIME), "time");
    CU_ASSERT_STRING_EQUAL(ns_unit_kind_name(NS_UNIT_RATE), "rate");
    CU_ASSERT_STRING_EQUAL(ns_unit_kind_name(NS_UNIT_SIZE), "size");
}

void test_units_register(void)
{
    CU_pSuite s = ns_test_suite("units", NULL, NULL);
    ns_test_add(s, "every unit", test_every_unit);
    ns_test_add(s, "0.29s is 0.29", test_point_29);
    ns_test_add(s, "-0 is +0", test_negative_zero);
    ns_test_add(s, "error messages", test_error_messages);
    ns_test_add(s, "parse_as kinds", test_parse_as);
    ns_test_add(s, "kind names", test_kind_names);
}
