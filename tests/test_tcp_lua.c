/* test_tcp_lua.c — TCP from Lua: snippets run in process with the netsim
 * module preloaded (stock-Lua mode: a sim commits its outputs on
 * s:close()), comparing what they return or the exact error they raise.
 * Snippets are loaded as "@t.lua", so messages read "t.lua:LINE: ...".
 *
 * Numbers: hosts a and b on a 10 Mbit/s, 1 ms link.  A SYN is a 74-byte
 * frame (59.2 us), so the client is ESTABLISHED at 2.1184 ms. */
#include <string.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "netsim/luabind.h"
#include "tests.h"

static char *fresh_out(void)
{
    static unsigned counter;         /* test-only: names scratch folders */
    char name[32];
    g_snprintf(name, sizeof name, "tcp-lua-%u", ++counter);
    return g_build_filename(ns_test_tmpdir(), name, NULL);
}


/* Runs `code` as chunk "@t.lua" with OUT set to `out`; its first result
 * as a string, or "error: MESSAGE".  Free with g_free. */
static char *eval_in(const char *code, const char *out)
{
    lua_State *L = ns_test_lua_state(NULL, 1, out);
    char *r = ns_test_lua_chunk(L, code);
    lua_close(L);
    return r;
}

static void check_str(const char *got, const char *want)
{
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

static void expect(const char *code, const char *want)
{
    char *dir = fresh_out();
    char *got = eval_in(code, dir);
    check_str(got, want);
    g_free(got);
    g_free(dir);
}

static char *read_out(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    char *text = NULL;
    if (!g_file_get_contents(p, &text, NULL, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

#define AB "local s = netsim.new{ out = OUT }\n" \
           "local a, b = s:host 'a', s:host 'b'\n" \
           "s:link(a, b, { rate = '10Mbps', delay = '1ms' })\n" \
           "local log = {}\n" \
           "local function say(x) log[#log + 1] = x end\n"

/* Every callback, in the order things happen: the refused connection's
 * RST comes back before the server has accepted the first one (its ACK
 * is still on the wire); strings arrive as strings, length-only data as
 * numbers; on_sent counts acknowledged bytes. */
static void test_callbacks(void)
{
    expect(AB
           "b:tcp_listen(80, { on_accept = function(c)\n"
           "    say('accept ' .. c:name())\n"
           "    c:on_data(function(_, d) say(math.type(d) and 'len ' .. d or 'str ' .. d) end)\n"
           "    c:on_close(function(cc) say('eof'); cc:close() end)\n"
           "  end })\n"
           "local c = a:tcp_connect(b, 80, {\n"
           "  on_established = function(c) say('est ' .. c:state()); c:send('hello'); c:send(7); c:close() end,\n"
           "  on_sent = function(_, n) say('sent ' .. n) end,\n"
           "  on_finished = function() say('finished') end })\n"
           "a:tcp_connect(b, 81, { on_error = function(c, why) say('error ' .. why .. ' ' .. c:state()) end })\n"
           "s:run()\n"
           "return table.concat(log, '; ') .. '; ' .. c:state()",
           "est ESTABLISHED; error refused CLOSED; accept b:80>a:49152; str hello; sent 5; "
           "len 7; eof; sent 12; finished; CLOSED");
    /* Callbacks set in the listener's options apply to accepted
     * connections; on_established runs there too. */
    expect(AB
           "b:tcp_listen(80, { on_established = function(c) say('srv est') end,\n"
           "                   on_data = function(c, d) say('srv ' .. d); c:send('pong') end })\n"
           "a:tcp_connect(b, 80, { on_established = function(c) c:send('ping') end,\n"
           "                       on_data = function(c, d) say('cli ' .. d); c:abort() end,\n"
           "                       on_error = function(c, why) say(why) end })\n"
           "s:run()\n"
           "return table.concat(log, '; ')",
           "srv est; srv ping; cli pong; aborted");
}

static void test_errors(void)
{
    expect(AB
           "local c = a:tcp_connect(b, 80)\n"
           "s:run()\n"
           "c:send('x')",
           "error: t.lua:8: conn:send: connection a:49152>b:80 cannot send: it is CLOSED");
    expect(AB
           "b:tcp_listen(80)\n"
           "local c = a:tcp_connect(b, 80, { on_established = function(c) c:close() end })\n"
           "s:run('1s')\n"
           "c:send(10)",
           "error: t.lua:9: conn:send: connection a:49152>b:80 cannot send: it is FIN-WAIT-2 "
           "and shut down");
    expect(AB "a:tcp_connect(b, 80, { cc = 'vegas' })",
           "error: t.lua:6: unknown congestion control 'vegas' (known: reno, newreno, cubic)");
    expect(AB "b:tcp_listen(80, { cc = 'bbr' })",
           "error: t.lua:6: unknown congestion control 'bbr' (known: reno, newreno, cubic)");
    expect(AB "a:tcp_connect(b, 80, { mss = 10 })",
           "error: t.lua:6: TCP option mss 10 is outside [88, 65495]");
    expect(AB "a:tcp_connect(b, 80, { init_cwnd = 0 })",
           "error: t.lua:6: TCP option init_cwnd 0 is outside [1, 1000] segments");
    expect(AB "b:tcp_listen(80)\nb:tcp_listen(80)",
           "error: t.lua:7: host 'b': TCP port 80 is already listening");
    expect(AB "a:tcp_connect(b, 0)",
           "error: t.lua:6: bad argument #2 to 'tcp_connect' (port must be in [1, 65535])");
    expect(AB "a:tcp_connect(b, 80, { mms = 1000 })",
           "error: t.lua:6: unknown option 'mms' to 'tcp_connect' (did you mean 'mss'?)");
}

/* A bulk sender of exactly 1 MB: every byte arrives, and it closes. */
static void test_bulk(void)
{
    expect(AB
           "local n = 0\n"
           "b:tcp_listen(80, { on_data = function(_, d) n = n + d end,\n"
           "                   on_close = function(c) c:close() end })\n"
           "local k = a:tcp_bulk(b, 80, { bytes = '1MB', on_finished = function() say('done') end })\n"
           "s:run()\n"
           "return n .. ' ' .. table.concat(log) .. ' ' .. k:info().bytes_acked .. ' ' .. k:state()",
           "1000000 done 1000000 CLOSED");
}

/* Request 1000 bytes, answer 5000, measured from when the request is
 * sent, behind the handshake (ESTABLISHED at 2.1184 ms), not from the
 * connect call: the request reaches b at 4.024 ms; three full segments go
 * at once and Nagle holds the last 656 bytes until they are all
 * acknowledged (9.7104 ms), so the response is complete at 11.288 ms,
 * 9.1696 ms after the request.  Then fin_timeout from Lua: FIN-WAIT-2
 * from 4.3 ms (the ACK of the FIN) to CLOSED 2 s later. */
static void test_request(void)
{
    expect(AB
           "b:tcp_listen(80, { request = 1000, response = 5000 })\n"
           "local got\n"
           "local c = a:tcp_request(b, 80, { request = 1000, response = 5000,\n"
           "                                 on_response = function(c, secs) got = secs end })\n"
           "s:run('1s')\n"
           "return string.format('%.7f %d %s', got, c:info().bytes_received, tostring(c):sub(1, 14))",
           "0.0091696 5000 netsim.TcpConn");
    expect(AB
           "b:tcp_listen(80)\n"
           "local c = a:tcp_connect(b, 80, { fin_timeout = '2s',\n"
           "  on_established = function(c) c:close() end })\n"
           "s:run()\n"
           "return string.format('%s %.4f', c:state(), s:now())",
           "CLOSED 2.0043");
}

/* sim:tcp_trace writes cwnd.tsv and goodput.tsv with named columns. */
static void test_tcp_trace(void)
{
    char *dir = fresh_out();
    char *got = eval_in(AB
                        "s:tcp_trace{ every = '10ms' }\n"
                        "b:tcp_listen(80, { on_close = function(c) c:close() end })\n"
                        "a:tcp_bulk(b, 80, { bytes = 200000 })\n"
                        "s:run()\n"
                        "s:close()\n"
                        "return 'ok'",
                        dir);
    check_str(got, "ok");
    g_free(got);
    char *cwnd = read_out(dir, "cwnd.tsv"), *gp = read_out(dir, "goodput.tsv");
    CU_ASSERT_TRUE(g_str_has_prefix(cwnd, "time\tflow\tcwnd_bytes\tssthresh_bytes\tflight_bytes\t"
                                          "srtt_s\trto_s\n"));
    CU_ASSERT_TRUE(g_str_has_prefix(gp, "time\tflow\tgoodput_bps\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cwnd, "\n0.010000000\ta:49152>b:80\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(gp, "\tb:80>a:49152\t"));
    if (!g_str_has_prefix(cwnd, "time\tflow"))
        fprintf(stderr, "\n  cwnd.tsv: %.200s\n", cwnd);
    g_free(cwnd);
    g_free(gp);
    g_free(dir);
    expect(AB "s:tcp_trace{ every = 0 }", "error: t.lua:6: TCP table interval must be > 0");
}

void test_tcp_lua_register(void)
{
    CU_pSuite s = ns_test_suite("tcp-lua", NULL, NULL);
    ns_test_add(s, "listen, connect and every callback", test_callbacks);
    ns_test_add(s, "errors: send after close, cc names, options", test_errors);
    ns_test_add(s, "tcp_bulk with bytes = n completes", test_bulk);
    ns_test_add(s, "tcp_request reports the response time", test_request);
    ns_test_add(s, "sim:tcp_trace writes cwnd.tsv and goodput.tsv", test_tcp_trace);
}
