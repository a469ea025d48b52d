/* tests.h — what the CUnit suites share: registration and tiers.
 *
 * Each tests/test_<module>.c defines one `void test_<module>_register(void)`
 * listed in tests/main.c.  Suites whose name ends in " (long)" belong to the
 * long tier: `build/unit --quick` skips them. */
#ifndef NETSIM_TESTS_H
#define NETSIM_TESTS_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stdint.h>

/* Adds a suite, or aborts the test program if CUnit cannot (out of memory). */
CU_pSuite ns_test_suite(const char *name, CU_InitializeFunc init,
                        CU_CleanupFunc clean);
void ns_test_add(CU_pSuite s, const char *name, CU_TestFunc fn);

/* Path of a scratch folder unique to this test run (created on demand). */
const char *ns_test_tmpdir(void);

/* A Lua state set up as the netsim command does (sandbox seeded with
 * `seed`, the module preloaded as global `netsim`, global OUT = out), with
 * `run` installed when not NULL (testlua.c). */
struct lua_State;
struct ns_lua_run;
struct lua_State *ns_test_lua_state(struct ns_lua_run *run, uint64_t seed, const char *out);
/* Runs code as chunk "@t.lua": its first result as a string, or "error:
 * MESSAGE".  Free with g_free. */
char *ns_test_lua_chunk(struct lua_State *L, const char *code);

/* Path of the netsim binary under test (NETSIM_BIN, default ./build/netsim). */
const char *ns_test_netsim_bin(void);

/* ---- files and the netsim command (testfiles.c) ---- */
void  ns_test_write_file(const char *dir, const char *name, const char *text);
/* dir/name's contents, or "(missing)"; free with g_free. */
char *ns_test_read_file(const char *dir, const char *name);
/* Every non-folder entry under root, relative, sorted, joined by spaces
 * ("" if none); free with g_free. */
char *ns_test_listing(const char *root);

struct ns_test_run {
    int   status;                    /* exit code, or 128 + signal */
    char *out;
    char *err;
};
/* Runs the netsim binary with args (NULL-terminated) in dir. */
struct ns_test_run ns_test_netsim(const char *dir, const char *const *args);
/* The same under a launcher: launcher (NULL-terminated, searched in PATH)
 * comes before the netsim binary, e.g. { "mpirun", "-np", "2", NULL }. */
struct ns_test_run ns_test_netsim_under(const char *dir, const char *const *launcher,
                                        const char *const *args);
void ns_test_run_clear(struct ns_test_run *r);
/* A waitpid status as a shell reports it: the exit code, or 128 + signal. */
int  ns_test_exit_code(int status);
/* Fails the current test (and shows the report) when a child's stderr
 * holds an ASan, LeakSanitizer or UBSan report: under `make asan` an
 * error path that leaks or overflows must fail the test that ran it, even
 * when the exit status and the error text are what the test expects.
 * `who` names the run in the message.  True when stderr is clean. */
bool ns_test_no_sanitizer_report(const char *who, const char *err);

void test_sched_register(void);
void test_pq_register(void);
void test_rng_register(void);
void test_units_register(void);
void test_u32map_register(void);
void test_trace_register(void);
void test_output_register(void);
void test_lua_register(void);
void test_cli_register(void);
void test_sweep_register(void);
void test_sweep_dist_register(void);
void test_oracle_register(void);
void test_process_register(void);
void test_pcap_register(void);
void test_diagram_register(void);
void test_queue_register(void);
void test_loss_register(void);
void test_lan_register(void);
void test_lan_port_register(void);
void test_net_register(void);
void test_link_register(void);
void test_route_register(void);
void test_host_register(void);
void test_traffic_register(void);
void test_net_lua_register(void);
void test_cc_register(void);
void test_dhcp_register(void);
void test_dhcp_proto_register(void);
void test_dhcp_cases_register(void);
void test_tcp_register(void);
void test_tcp_data_register(void);
void test_tcp_lua_register(void);
void test_tls_register(void);
void test_tls_resume_register(void);
void test_tls_diagram_register(void);
void test_tls_ciphers_register(void);
void test_tls_compat_register(void);
void test_lock_register(void);
void test_lock_proto_register(void);
void test_lock_faults_register(void);
void test_lock_multi_register(void);
void test_lock_tokens_register(void);
void test_lock_detect_register(void);
void test_lock_lua_register(void);
void test_lock_strategies_register(void);
void test_lock_oracle_register(void);
void test_lock_trace_register(void);
void test_tcp_fidelity_register(void);

#endif
