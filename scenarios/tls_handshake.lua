-- tls_handshake.lua — one TLS handshake over a 40 ms path, and the round
-- trips before the client's first application byte.
--
--   netsim scenarios/tls_handshake.lua                 TLS 1.3: 2 RTT
--   netsim scenarios/tls_handshake.lua -D version=1.2  TLS 1.2: 3 RTT
--   netsim scenarios/tls_handshake.lua -D mtls=true    mutual TLS: no extra RTT
--   netsim scenarios/tls_handshake.lua -D mtls=true -D client_cert=false
--                                       the server's alert (certificate_required
--                                       in 1.3, handshake_failure in 1.2)
-- Open out/tls_handshake/handshake.pcap in Wireshark; handshake.txt is the
-- sequence diagram: one arrow per TLS flight, labelled with its messages,
-- and the round trips to the first application byte at the end
-- (-D packets=true draws the TCP segments under the flights too).
local netsim = require "netsim"

local p = netsim.params {
  version = "1.3", mtls = false, client_cert = true, rtt = "40ms",
  rate = "100Mbps", chain_len = 2, cert_size = "1200B", packets = false,
}

local sim = netsim.new { seed = 1 }
local client = sim:host "client"
local server = sim:host "server"
sim:link(client, server, { rate = p.rate, delay = p.rtt / 2 })
sim:pcap { host = client, file = "handshake.pcap" }
sim:diagram { hosts = { client, server }, file = "handshake", packets = p.packets or nil }

local got, alert_seen, err_seen = nil, nil, nil
server:tls_listen(443, {
  version = "1.3", require_client_cert = p.mtls,
  chain_len = p.chain_len, cert_size = p.cert_size,
  on_data = function(conn, data) got = data; conn:send("HTTP/1.1 200 OK\r\n\r\n"); conn:close() end,
})

local c = client:tls_connect(server, 443, {
  version = p.version, client_certs = (p.mtls and p.client_cert) and 1 or 0,
  on_established = function(conn) conn:send("GET / HTTP/1.1\r\nHost: server.example\r\n\r\n") end,
  on_alert = function(_, name, sent) alert_seen = (sent and "sent " or "received ") .. name end,
  on_error = function(_, reason) err_seen = reason end,
  on_close = function(conn) conn:close() end,     -- the server said close_notify: close too
})

sim:run()

local i = c:info()
if err_seen then
  print(string.format("TLS %s handshake failed: %s (alert %s)", p.version, err_seen, alert_seen))
  local want = p.version == "1.3" and "certificate_required" or "handshake_failure"
  netsim.assert(p.mtls and not p.client_cert, "unexpected failure: " .. err_seen)
  netsim.assert(err_seen == want, "expected " .. want .. ", got " .. err_seen)
  netsim.result { failed = err_seen }
  return
end
local expect = p.version == "1.3" and 2 or 3
print(string.format("TLS %s %s%s: first app byte at %.2f RTT after SYN (%.1f ms), handshake %d B from the client",
  i.version, i.resumed and "resumed" or "full", p.mtls and " (mutual)" or "", i.rtts,
  i.first_byte_at * 1000, i.handshake_bytes))
netsim.assert(i.version == p.version, "negotiated " .. tostring(i.version))
netsim.assert(math.floor(i.rtts + 0.01) == expect, string.format("%.3f RTT, expected %d", i.rtts, expect))
netsim.assert(got and got:match("^GET /"), "the server got the request")
netsim.result { rtts = i.rtts, first_byte_s = i.first_byte_at, version = i.version }
