-- mtls.lua — mutual TLS: what a client certificate costs in TLS 1.2 and
-- 1.3 (no round trip: the CertificateRequest rides in the server's
-- flight, the client's Certificate and CertificateVerify in its last
-- one), and how a server that requires one ends without it
-- (certificate_required in 1.3, RFC 8446 4.4.2.4; handshake_failure in
-- 1.2, RFC 5246 7.4.6).
--
--   netsim scenarios/mtls.lua
--   netsim scenarios/mtls.lua -D rtt=80ms -D client_chain=2
local netsim = require "netsim"

local p = netsim.params { rtt = "40ms", rate = "100Mbps", client_chain = 1, cert_size = "1200B" }
netsim.assert(p.client_chain >= 1, "client_chain is at least 1")

local sim = netsim.new { seed = 1 }

-- cases: version x (no mTLS, mTLS, mTLS without a client certificate)
local cases = {}
for _, v in ipairs { "1.2", "1.3" } do
  cases[#cases + 1] = { version = v, mtls = false, certs = 0 }
  cases[#cases + 1] = { version = v, mtls = true, certs = p.client_chain }
  cases[#cases + 1] = { version = v, mtls = true, certs = 0 }
end

for i, k in ipairs(cases) do
  local c, s = sim:host("client" .. i), sim:host("server" .. i)
  sim:link(c, s, { rate = p.rate, delay = p.rtt / 2 })
  s:tls_listen(443, {
    require_client_cert = k.mtls, cert_size = p.cert_size,
    on_accept = function(conn) k.server = conn end,
    on_data = function(conn, data) k.got = data; conn:send("HTTP/1.1 200 OK\r\n\r\n") end,
    on_error = function(_, reason) k.server_error = reason end,
  })
  k.conn = c:tls_connect(s, 443, {
    version = k.version, client_certs = k.certs, cert_size = p.cert_size,
    on_established = function(conn) conn:send("GET / HTTP/1.1\r\n\r\n") end,
    on_error = function(_, reason) k.error = reason end,
  })
end

sim:run "10s"

print(string.format("%-8s %-20s %-22s %s", "version", "client", "first byte", "client handshake bytes"))
local base, results = {}, {}
for i, k in ipairs(cases) do
  local ci = k.conn:info()
  local who = not k.mtls and "no mTLS" or (k.certs > 0 and string.format("mTLS, %d cert(s)", k.certs)
              or "mTLS, no certificate")
  if k.error then
    print(string.format("%-8s %-20s failed: %s (server: %s)", k.version, who, k.error, tostring(k.server_error)))
    local want = k.version == "1.3" and "certificate_required" or "handshake_failure"
    netsim.assert(k.mtls and k.certs == 0, "unexpected failure " .. k.error)
    netsim.assert(k.error == want and k.server_error == want, "expected " .. want .. ", got " .. k.error)
    netsim.assert(not k.got, "the request never reached the server")
  else
    netsim.assert(not (k.mtls and k.certs == 0), who .. ": should have failed")
    print(string.format("%-8s %-20s %5.2f RTT (%6.1f ms) %8d B", k.version, who, ci.rtts,
      ci.first_byte_at * 1000, ci.handshake_bytes))
    netsim.assert(k.got and k.got:match("^GET /"), who .. ": the server got the request")
    local expect = k.version == "1.3" and 2 or 3
    netsim.assert(math.abs(ci.rtts - expect) < 0.1,
      string.format("%s %s: %.3f RTT, expected %d: mutual TLS adds no round trip", k.version, who, ci.rtts, expect))
    if not k.mtls then
      base[k.version] = ci
    else
      -- the client's Certificate and CertificateVerify are in its bytes
      local extra = ci.handshake_bytes - base[k.version].handshake_bytes
      netsim.assert(extra > k.certs * netsim.size(p.cert_size),
        string.format("%s mTLS: %d more client bytes, less than its chain", k.version, extra))
      results["extra_client_bytes_" .. k.version:gsub("%.", "")] = extra
    end
  end
end
netsim.result(results)
