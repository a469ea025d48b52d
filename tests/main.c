/* main.c — the unit-test driver: every CUnit suite in one binary.
 *
 *   build/unit [--quick] [SUITE-SUBSTRING...]
 *
 * Prints CUnit's report, then one line "unit: N passed, N failed" that
 * tests/tools/check.sh adds up.  Exit status 0 only if nothing failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <CUnit/Basic.h>

#include "tests.h"

static void (*const registrations[])(void) = {
    test_sched_register,
    test_pq_register,
    test_rng_register,
    test_units_register,
    test_u32map_register,
    test_trace_register,
    test_output_register,
    test_process_register,
    test_pcap_register,
    test_diagram_register,
    test_lua_register,
    test_cli_register,
    test_sweep_register,
    test_sweep_dist_register,
    test_oracle_register,
    test_queue_register,
    test_loss_register,
    test_lan_register,
    test_lan_port_register,
    test_net_register,
    test_link_register,
    test_route_register,
    test_host_register,
    test_traffic_register,
    test_net_lua_register,
    test_cc_register,
    test_dhcp_register,
    test_dhcp_proto_register,
    test_dhcp_cases_register,
    test_tcp_register,
    test_tcp_data_register,
    test_tcp_lua_register,
    test_tls_register,
    test_tls_resume_register,
    test_tls_diagram_register,
    test_tls_ciphers_register,
    test_tls_compat_register,
    test_lock_register,
    test_lock_proto_register,
    test_lock_faults_register,
    test_lock_tokens_register,
    test_lock_detect_register,
    test_lock_lua_register,
    test_lock_strategies_register,
    test_lock_oracle_register,
    test_lock_trace_register,
    test_lock_multi_register,
    test_tcp_fidelity_register,
};

static char *tmpdir;

const char *ns_test_tmpdir(void)
{
    if (!tmpdir) {
        GError *err = NULL;
        tmpdir = g_dir_make_tmp("netsim-test-XXXXXX", &err);
        if (!tmpdir) {
            fprintf(stderr, "unit: %s\n", err->message);
            exit(2);
        }
    }
    return tmpdir;
}

const char *ns_test_netsim_bin(void)
{
    const char *b = getenv("NETSIM_BIN");
    return b && *b ? b : "./build/netsim";
}

CU_pSuite ns_test_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc clean)
{
    CU_pSuite s = CU_add_suite(name, init, clean);
    if (!s) {
        fprintf(stderr, "unit: cannot add suite %s: %s\n", name, CU_get_error_msg());
        exit(2);
    }
    return s;
}

void ns_test_add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
    if (!CU_add_test(s, name, fn)) {
        fprintf(stderr, "unit: cannot add test %s: %s\n", name, CU_get_error_msg());
        exit(2);
    }
}

static bool is_long(const char *name)
{
    return g_str_has_suffix(name, " (long)");
}

static bool selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return true;
    for (int i = first; i < argc; i++)
        if (strstr(name, argv[i]))
            return true;
    return false;
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *n;
        while ((n = g_dir_read_name(d))) {
            char *p = g_build_filename(path, n, NULL);
            if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
                remove_tree(p);
            else
                g_unlink(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_rmdir(path);
}

int main(int argc, char **argv)
{
    bool quick = false;
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        quick = true;
        first = 2;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (size_t i = 0; i < G_N_ELEMENTS(registrations); i++)
        registrations[i]();

    /* Deactivate suites outside the tier or the selection. */
    for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext) {
        bool on = selected(s->pName, argc, argv, first) && !(quick && is_long(s->pName));
        CU_set_suite_active(s, on ? CU_TRUE : CU_FALSE);
    }
    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned suite_fail = CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    if (tmpdir) {
        remove_tree(tmpdir);
        g_free(tmpdir);
    }
    printf("unit: %u passed, %u failed\n", run - failed, failed + suite_fail);
    return failed || suite_fail ? 1 : 0;
}
