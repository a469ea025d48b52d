/* test_net_lua.c — the network layer from Lua: snippets run in process
 * with the netsim module preloaded (stock-Lua mode: a sim commits its
 * outputs on s:close(); the command's mode for netsim.result), comparing
 * what they return or the exact error they raise; and scenarios/udp_ping.lua
 * run through the binary.  Snippets are loaded as "@t.lua", so messages
 * read "t.lua:LINE: ...".
 *
 * Numbers: hosts a and b on a 10 Mbit/s, 1 ms link.  A 100-byte datagram
 * is a 142-byte frame (113,600 ns); payloads up to 18 bytes pad to the
 * 60-byte minimum (48,000 ns); a default ping (56 bytes) is a 98-byte
 * frame (78,400 ns), so its RTT is 2 x 1,078,400 ns. */
#include <string.h>
#include <glib/gstdio.h>
#include <lualib.h>

#include "netsim/luabind.h"
#include "tests.h"

#define new_state(run, out) ns_test_lua_state(run, 1, out)
#define run_chunk ns_test_lua_chunk

static char *fresh_out(void)
{
    static unsigned counter;         /* test-only: names scratch folders */
    char name[32];
    g_snprintf(name, sizeof name, "net-lua-%u", ++counter);
    return g_build_filename(ns_test_tmpdir(), name, NULL);
}



/* Stock-Lua mode with OUT set to `out` (a fresh folder when NULL). */
static char *eval_in(const char *code, const char *out)
{
    char *dir = out ? g_strdup(out) : fresh_out();
    lua_State *L = new_state(NULL, dir);
    char *r = run_chunk(L, code);
    lua_close(L);
    g_free(dir);
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
    char *got = eval_in(code, NULL);
    check_str(got, want);
    g_free(got);
}

static char *read_out(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(p, &text, &len, NULL))
        text = g_strdup("(missing)");
    g_free(p);
    return text;
}

/* Two hosts on one link: the start of most snippets. */
#define AB "local s = netsim.new{ out = OUT }\n" \
           "local a, b = s:host 'a', s:host 'b'\n" \
           "local l = s:link(a, b, { rate = '10Mbps', delay = '1ms' })\n"

/* ---- errors ----------------------------------------------------------- */

static void test_link_errors(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local a = s:host 'a'\n"
           "s:link(a, a)",
           "error: t.lua:3: link 'a-a': cannot link host 'a' to itself");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { loss = 1.5 })",
           "error: t.lua:3: link 'a-b': loss 1.5 is outside [0, 1]");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { rate = 0 })",
           "error: t.lua:3: link 'a-b': rate 0 bit/s is not in [1 bit/s, 1 Pbit/s]");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { rate = 'fast' })",
           "error: t.lua:3: bad argument #3 to 'link' (option 'rate': malformed quantity "
           "'fast' (no number))");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { rate = '20ms' })",
           "error: t.lua:3: bad argument #3 to 'link' (option 'rate': '20ms' is a time, "
           "expected a rate)");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { dealy = '1ms' })",
           "error: t.lua:3: unknown option 'dealy' to 'link' (did you mean 'delay'?)");
    expect("local s = netsim.new{ out = OUT }\n"
           "local a, b = s:host 'a', s:host 'b'\n"
           "s:link(a, b, { addrs = { '10.0.0.1/24', '10.0.0.300/24' } })",
           "error: t.lua:3: bad argument #3 to 'link' (option 'addrs': malformed address "
           "(expected a.b.c.d/len))");
    /* A failed link leaves the hosts as they were: the next one works. */
    expect(AB
           "local ok = pcall(s.link, s, a, b, { addrs = { '10.0.1.7/24', '10.0.9.1/24' } })\n"
           "local l2 = s:link(a, b)\n"
           "return tostring(ok) .. ' ' .. #a:ifaces() .. ' ' .. a:addr(1)",
           "false 2 10.0.2.1");
    expect(AB "l:set_loss(2)",
           "error: t.lua:4: link 'a-b': loss 2 is outside [0, 1]");
    expect(AB "l:set_loss(0.5, 'b>c')",
           "error: t.lua:4: bad argument #2 to 'set_loss' (direction 'b>c' is neither 'a>b' "
           "nor 'b>a')");
    expect(AB "l:drop{ match = 'sin' }",
           "error: t.lua:4: bad argument #1 to 'drop' (option 'match': unknown packet kind 'sin' "
           "(any, arp, udp, icmp, tcp, syn, synack, fin, rst, data, ack))");
    /* A bad time raises before anything is allocated (under ASan the
     * suite's leak check fails when the request outlives the error). */
    expect(AB "l:down('soon')",
           "error: t.lua:4: bad argument #1 to 'down' (malformed quantity 'soon' (no number))");
    expect(AB "b:pause('1ms', 'soon')",
           "error: t.lua:4: bad argument #2 to 'pause' (malformed quantity 'soon' (no number))");
}

static void test_host_errors(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "s:host 'a'\n"
           "s:host 'a'",
           "error: t.lua:3: host 'a' already exists");
    expect(AB "b:udp(7)\n"
           "b:udp(7)",
           "error: t.lua:5: host 'b': UDP port 7 is already bound");
    expect(AB "local u = b:udp(7)\n"
           "u:close()\n"
           "return b:udp(7):port()",
           "7");
    expect("local s = netsim.new{ out = OUT }\n"
           "local h, err = s:host_named('x')\n"
           "return tostring(h) .. ', ' .. err",
           "nil, no host 'x'");
    expect(AB "return s:host_named('b') == b",
           "true");
    expect(AB "s:link(l, a)",
           "error: t.lua:4: bad argument #1 to 'link' (netsim.Host expected, got netsim.Link)");
    expect(AB "s:link(a, 'b')",
           "error: t.lua:4: bad argument #2 to 'link' (netsim.Host expected, got string)");
    expect(AB "a:ping('10.0.1.x')",
           "error: t.lua:4: bad argument #1 to 'ping' (malformed IPv4 address '10.0.1.x')");
    expect(AB "a:ping(l)",
           "error: t.lua:4: bad argument #1 to 'ping' (netsim.Host or address expected, got "
           "netsim.Link)");
    expect(AB "a:udp(70000)",
           "error: t.lua:4: bad argument #1 to 'udp' (port must be in [0, 65535])");
    expect(AB "a:udp():send(b, 0, 10)",
           "error: t.lua:4: bad argument #2 to 'send' (port must be in [1, 65535])");
    expect(AB "local u = a:udp()\n"
           "u:close()\n"
           "u:send(b, 9, 10)",
           "error: t.lua:6: attempt to use a closed UDP socket");
    expect(AB "a:ping(b, { cuont = 3 })",
           "error: t.lua:4: unknown option 'cuont' to 'ping' (did you mean 'count'?)");
    expect(AB "local i = a:ifaces()[1]\n"
           "return #a:ifaces() .. ' ' .. i.name .. ' ' .. i.addr .. ' ' .. i.mac:gsub('%x', 'h')",
           "1 eth0 10.0.1.1/24 hh:hh:hh:hh:hh:hh");
    expect(AB "return tostring(a) .. ' ' .. tostring(l) .. ' ' .. tostring(b:udp(9))",
           "netsim.Host(a) netsim.Link(a-b) netsim.Udp(b:9)");
}

/* ---- UDP, ping, drops, faults ----------------------------------------- */

static void test_udp_strings_and_lengths(void)
{
    expect(AB
           "local got = {}\n"
           "b:udp(9):on_receive(function(data, from, port)\n"
           "  got[#got + 1] = string.format('%s/%d %s:%d %.9f', type(data),\n"
           "    type(data) == 'string' and #data or data, from, port, s:now())\n"
           "  if type(data) == 'string' then got[#got] = got[#got] .. ' ' .. (data == 'hi\\0there' and 'same' or data) end\n"
           "end)\n"
           "local u = a:udp(5000)\n"
           "s:at(0, function()\n"
           "  assert(u:send(b, 9, 'hi\\0there'))\n"
           "  assert(u:send('10.0.1.2', 9, 100))\n"
           "  assert(u:send(b, 9, '1kB'))\n"
           "  assert(u:send(b, 9, netsim.size '1kB'))\n"
           "  assert(not u:send('192.168.9.9', 9, 1))\n"
           "end)\n"
           "s:run()\n"
           "return table.concat(got, '; ')",
           /* Serialised one after the other: 48,000 + 113,600 + 48,000 +
            * 833,600 ns (1000 bytes: a 1042-byte frame), 1 ms on top. */
           "string/8 10.0.1.1:5000 0.001048000 same; "
           "number/100 10.0.1.1:5000 0.001161600; "
           "string/3 10.0.1.1:5000 0.001209600 1kB; "
           "number/1000 10.0.1.1:5000 0.002043200");
}

static void test_ping_rtt(void)
{
    expect(AB
           "local r = {}\n"
           "a:ping(b, { count = 3, interval = '10ms', on_reply = function(seq, rtt)\n"
           "  r[#r + 1] = seq .. '=' .. string.format('%.9f', rtt) .. tostring(rtt == 0.0021568)\n"
           "end })\n"
           "a:ping('10.0.1.2', { size = 1000, at = '1s', on_reply = function(seq, rtt)\n"
           "  r[#r + 1] = seq .. '=' .. string.format('%.9f', rtt)\n"
           "end })\n"
           "s:run()\n"
           "return table.concat(r, ' ')",
           /* 1000 bytes: a 1042-byte frame, 833,600 ns. */
           "1=0.002156800true 2=0.002156800true 3=0.002156800true 1=0.003667200");
}

static void test_drop_nth(void)
{
    expect(AB
           "l:drop{ match = 'udp', nth = 2 }\n"
           "local got = {}\n"
           "b:udp(9):on_receive(function(data) got[#got + 1] = data end)\n"
           "local u = a:udp()\n"
           "local pongs = 0\n"
           "s:at(0, function() a:ping(b, { on_reply = function() pongs = pongs + 1 end }) end)\n"
           "for i = 1, 4 do s:at(i / 1000, function() u:send(b, 9, 'd' .. i) end) end\n"
           "s:run()\n"
           "local st = l:stats('a>b')\n"
           "return table.concat(got, ',') .. ' pongs=' .. pongs .. ' lost=' .. st.drops.loss ..\n"
           "  ' tx=' .. st.tx_pkts .. ' back=' .. l:stats('b>a').drops.loss",
           "d1,d3,d4 pongs=1 lost=1 tx=5 back=0");
    /* count = 2 drops the 2nd and 3rd; every = true drops all matching. */
    expect(AB
           "l:drop{ match = 'udp', nth = 2, count = 2, dir = 'a>b' }\n"
           "local got = {}\n"
           "b:udp(9):on_receive(function(data) got[#got + 1] = data end)\n"
           "local u = a:udp()\n"
           "for i = 1, 5 do s:at(i / 1000, function() u:send(b, 9, 'd' .. i) end) end\n"
           "s:run()\n"
           "return table.concat(got, ',')",
           "d1,d4,d5");
}

static void test_link_down_up(void)
{
    expect(AB
           "l:down '1s'\n"
           "l:up '2s'\n"
           "local got = {}\n"
           "b:udp(9):on_receive(function(data) got[#got + 1] = data .. '@' .. s:now() end)\n"
           "local u = a:udp()\n"
           "for _, t in ipairs { 0.5, 1.5, 2.5 } do\n"
           "  s:at(t, function() got[#got + 1] = tostring(u:send(b, 9, 't' .. t)) end)\n"
           "end\n"
           "s:run()\n"
           "return table.concat(got, ' ') .. ' no-route=' .. a:stats().drops['no-route']",
           "true t0.5@0.501048 false true t2.5@2.501048 no-route=1");
    /* Down without a time: at once; in-flight datagrams are lost. */
    expect(AB
           "local got = 0\n"
           "b:udp(9):on_receive(function() got = got + 1 end)\n"
           "local u = a:udp()\n"
           "s:at(0, function() u:send(b, 9, 100) end)\n"
           "s:at(0.0005, function() l:down() end)\n"
           "s:run()\n"
           "return got .. ' ' .. l:stats('a>b').drops['link-down']",
           "0 1");
}

static void test_crash_restart(void)
{
    expect(AB
           "b:crash '1s'\n"
           "b:restart '2s'\n"
           "local got = {}\n"
           "b:udp(9):on_receive(function(data) got[#got + 1] = data end)\n"
           "local u = a:udp()\n"
           "local up = {}\n"
           "for _, t in ipairs { 0.5, 1.5, 2.5 } do\n"
           "  s:at(t, function() u:send(b, 9, 't' .. t); up[#up + 1] = tostring(b:is_up()) end)\n"
           "end\n"
           "s:run()\n"
           "return table.concat(got, ' ') .. ' ' .. table.concat(up, ',') ..\n"
           "  ' host-down=' .. b:stats().drops['host-down']",
           "t0.5 t2.5 true,false,true host-down=1");
    /* A pause holds, then delivers in order. */
    expect(AB
           "b:pause('1ms', '10ms')\n"
           "local got = {}\n"
           "b:udp(9):on_receive(function(data) got[#got + 1] = data .. '@' .. s:now() end)\n"
           "local u = a:udp()\n"
           "s:at(0.001, function() for i = 1, 3 do u:send(b, 9, 'p' .. i) end end)\n"
           "s:run()\n"
           "return table.concat(got, ' ')",
           "p1@0.011 p2@0.011 p3@0.011");
}

/* ---- outputs ---------------------------------------------------------- */

static void test_pcap_and_diagram_files(void)
{
    char *out = fresh_out();
    char *r = eval_in(AB
                      "s:pcap{ host = a }\n"
                      "s:pcap{ host = b, iface = 'eth0', file = 'bee.pcap' }\n"
                      "s:diagram{ hosts = { a, b }, file = 'd' }\n"
                      "b:udp(9)\n"
                      "local u = a:udp(5000)\n"
                      "s:at(0, function() u:send(b, 9, 'hello') end)\n"
                      "a:ping(b, { at = '1s' })\n"
                      "s:run()\n"
                      "s:close()\n"
                      "return 'ok'",
                      out);
    check_str(r, "ok");
    g_free(r);
    char *txt = read_out(out, "d.txt");
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "UDP 5000>9 len=5"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "ping seq=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "pong seq=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "3 messages: 3 delivered, 0 lost"));
    char *mmd = read_out(out, "d.mmd");
    CU_ASSERT_TRUE(g_str_has_prefix(mmd, "sequenceDiagram"));
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "bee.pcap" : "a.pcap";
        char *p = g_build_filename(out, name, NULL);
        gchar *bytes = NULL;
        gsize len = 0;
        CU_ASSERT_TRUE(g_file_get_contents(p, &bytes, &len, NULL));
        /* File header, then three frames: UDP 60 bytes, ping and pong 98. */
        CU_ASSERT_EQUAL(len, 24 + 3 * 16 + 60 + 98 + 98);
        CU_ASSERT_TRUE(len >= 4 && memcmp(bytes, "\x4d\x3c\xb2\xa1", 4) == 0);
        g_free(bytes);
        g_free(p);
    }
    char *counters = read_out(out, "counters.tsv");
    CU_ASSERT_PTR_NOT_NULL(strstr(counters, "\nhost\tb\t1\t0\t2\t0\t0\t"));
    g_free(counters);
    g_free(txt);
    g_free(mmd);
    g_free(out);

    expect(AB "s:pcap{ host = a, iface = 'eth7' }",
           "error: t.lua:4: bad argument #1 to 'pcap' (option 'iface': host 'a' has no "
           "interface 'eth7')");
    expect(AB "s:diagram{ hosts = { a, b } }\n"
           "s:diagram{ hosts = { a } }",
           "error: t.lua:5: diagram 'diagram' is already open");
}

/* Several diagrams in one sim: each draws the packets between its own
 * columns (a message between hosts of two diagrams goes to both), and
 * notes go to every diagram that has the host. */
static void test_two_diagrams(void)
{
    char *out = fresh_out();
    char *r = eval_in(AB
                      "local c = s:host 'c'\n"
                      "s:link(b, c, { rate = '10Mbps', delay = '1ms' })\n"
                      "s:diagram{ hosts = { a, b }, file = 'ab' }\n"
                      "s:diagram{ hosts = { b, c }, file = 'bc' }\n"
                      "b:udp(9)\n"
                      "c:udp(9)\n"
                      "local ua, ub = a:udp(5000), b:udp(6000)\n"
                      "s:at(0, function() ua:send(b, 9, 'to-b') end)\n"
                      "s:at(0.1, function() ub:send(c, 9, 'to-c!') end)\n"
                      "s:run()\n"
                      "s:close()\n"
                      "return 'ok'",
                      out);
    check_str(r, "ok");
    g_free(r);
    char *ab = read_out(out, "ab.txt");
    char *bc = read_out(out, "bc.txt");
    CU_ASSERT_PTR_NOT_NULL(strstr(ab, "UDP 5000>9 len=4"));
    CU_ASSERT_PTR_NULL(strstr(ab, "UDP 6000>9"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bc, "UDP 6000>9 len=5"));
    CU_ASSERT_PTR_NULL(strstr(bc, "UDP 5000>9"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ab, "1 message: 1 delivered, 0 lost"));
    CU_ASSERT_PTR_NOT_NULL(strstr(bc, "1 message: 1 delivered, 0 lost"));
    g_free(ab);
    g_free(bc);
    g_free(out);
}

/* netsim.result under the command's run: its values reach run.json. */
static void test_result(void)
{
    ns_lua_run run;
    memset(&run, 0, sizeof run);
    run.scenario = "t.lua";
    run.until = NS_TIME_MAX;
    run.defines = g_ptr_array_new();
    run.sims = g_ptr_array_new();
    char *out = fresh_out();
    run.out_dir = out;
    lua_State *L = new_state(&run, out);
    char *r = run_chunk(L, AB
                        "local rtt\n"
                        "a:ping(b, { on_reply = function(_, t) rtt = t end })\n"
                        "s:run()\n"
                        "netsim.result{ rtt_ms = rtt * 1e3, host = a:name(), up = b:is_up() }\n"
                        "return 'ok'");
    check_str(r, "ok");
    GError *err = NULL;
    CU_ASSERT_TRUE(ns_lua_run_finish(L, true, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    ns_lua_run_close(L);
    lua_close(L);
    char *js = read_out(out, "run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"results\": {\"host\": \"a\", \"rtt_ms\": 2.1568, \"up\": true}"));
    if (!strstr(js, "2.1568"))
        fprintf(stderr, "\nrun.json: %s\n", js);
    g_free(js);
    g_free(r);
    g_ptr_array_free(run.sims, TRUE);
    g_ptr_array_free(run.defines, TRUE);
    g_free(run.params_json);
    g_free(run.results_json);
    g_free(out);
}

/* ---- the scenario through the binary ---------------------------------- */

static void test_udp_ping_scenario(void)
{
    char *bin = g_canonicalize_filename(ns_test_netsim_bin(), NULL);
    char *script = g_canonicalize_filename("scenarios/udp_ping.lua", NULL);
    if (!g_file_test(script, G_FILE_TEST_EXISTS)) {
        CU_FAIL("scenarios/udp_ping.lua not found: run the tests from the top of the tree");
        g_free(bin);
        g_free(script);
        return;
    }
    char *out = fresh_out();
    char *argv[] = { bin, "--quiet", "--out", out, script, NULL };
    char *sout = NULL, *serr = NULL;
    int status = -1;
    GError *err = NULL;
    CU_ASSERT_TRUE(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout, &serr,
                                &status, &err));
    CU_ASSERT_PTR_NULL(err);
    g_clear_error(&err);
    CU_ASSERT_TRUE(g_spawn_check_wait_status(status, NULL));
    ns_test_no_sanitizer_report("udp_ping.lua", serr);
    if (serr && *serr)
        fprintf(stderr, "\nudp_ping.lua: %s\n", serr);
    static const char *const files[] = {
        "events.tsv", "client.pcap", "udp_ping.txt", "udp_ping.mmd", "run.json", "counters.tsv",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *p = g_build_filename(out, files[i], NULL);
        CU_ASSERT_TRUE(g_file_test(p, G_FILE_TEST_IS_REGULAR));
        g_free(p);
    }
    /* 2 x (5 + 20 + 5 ms + 78.4 + 784 + 78.4 us). */
    char *js = read_out(out, "run.json");
    CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"results\": {\"replies\": 2, \"rtt_ms\": 61.8816}"));
    g_free(js);
    char *txt = read_out(out, "udp_ping.txt");
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "ICMP port unreachable"));
    CU_ASSERT_PTR_NOT_NULL(strstr(txt, "lost at 1.500 s: no-route"));
    g_free(txt);
    g_free(sout);
    g_free(serr);
    g_free(out);
    g_free(bin);
    g_free(script);
}

/* Gilbert-Elliott from Lua: with bad = 1 and good = 0 the losses come in
 * bursts of mean length 1 / p_bg, at the stationary rate
 * p_gb / (p_gb + p_bg). */
static void test_gilbert(void)
{
    expect(AB
           "l:gilbert{ p_gb = 0.02, p_bg = 0.25, dir = 'a>b' }\n"
           "local got = 0\n"
           "b:udp(9):on_receive(function() got = got + 1 end)\n"
           "local u = a:udp()\n"
           "u:cbr{ to = b, port = 9, size = 10, pps = 1000, count = 20000 }\n"
           "s:run()\n"
           "local lost = 20000 - got\n"
           "local rate = lost / 20000\n"
           "return tostring(math.abs(rate - 0.02 / 0.27) < 0.015) .. ' ' ..\n"
           "  tostring(l:stats('a>b').drops.loss == lost)",
           "true true");
    expect(AB "return select(2, pcall(l.gilbert, l, { p_gb = 2, p_bg = 0.1 }))",
           "link 'a-b': p_gb 2 is outside [0, 1]");
    expect(AB "local _, e = pcall(function() l:gilbert{ p_bg = 0.1 } end)\n"
              "return (e:gsub('^.-:%d+: ', ''))",
           "bad argument #1 to 'gilbert' (option 'p_gb': is required)");
}

/* Helpers written in Lua (sim/lua/shapes.lua) report errors at the
 * user's line, not their own. */
static void test_helper_errors_point_at_user(void)
{
    expect("local s = netsim.new{ out = OUT }\n"
           "local ok, e = pcall(function()\n"
           "  s:dumbbell{ pairs = 1, bottleneck = {}, access = {}, loss = 1.5 }\n"
           "end)\n"
           "return e",
           "t.lua:3: link 'left-router-right-router': loss 1.5 is outside [0, 1]");
}

void test_net_lua_register(void)
{
    CU_pSuite s = ns_test_suite("net-lua", NULL, NULL);
    ns_test_add(s, "sim:link errors name the link and the value", test_link_errors);
    ns_test_add(s, "host, port and type errors", test_host_errors);
    ns_test_add(s, "udp send and on_receive: strings and lengths", test_udp_strings_and_lengths);
    ns_test_add(s, "host:ping on_reply gets the exact RTT", test_ping_rtt);
    ns_test_add(s, "link:drop drops exactly the chosen datagrams", test_drop_nth);
    ns_test_add(s, "link:gilbert loses in bursts at the stationary rate", test_gilbert);
    ns_test_add(s, "errors inside Lua helpers point at the user's line",
                test_helper_errors_point_at_user);
    ns_test_add(s, "link:down and link:up at times", test_link_down_up);
    ns_test_add(s, "host:crash, restart and pause at times", test_crash_restart);
    ns_test_add(s, "sim:pcap and sim:diagram write their files", test_pcap_and_diagram_files);
    ns_test_add(s, "two diagrams draw their own columns", test_two_diagrams);
    ns_test_add(s, "netsim.result reaches run.json", test_result);
    ns_test_add(s, "scenarios/udp_ping.lua runs", test_udp_ping_scenario);
}
