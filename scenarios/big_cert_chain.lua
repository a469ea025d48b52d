-- big_cert_chain.lua — a certificate chain against TCP's initial
-- congestion window: while the server's flight fits in init_cwnd
-- segments TLS 1.3 sends its first byte at 2 RTT; a flight up to twice
-- the window costs exactly one round trip more (slow start doubles the
-- window in that round trip), a larger one what slow start says.
--
--   netsim scenarios/big_cert_chain.lua
--   netsim scenarios/big_cert_chain.lua -D version=1.2 -D rtt=80ms
--
-- Chains of 2 to 20 KB (`chain_len` certificates of equal size) against
-- an initial window of 4 and of 10 segments (RFC 3390, RFC 6928), each
-- on its own client/server pair; writes chains.tsv.
local netsim = require "netsim"

local p = netsim.params { version = "1.3", rtt = "100ms", rate = "100Mbps", chain_len = 2,
                          from_kb = 2, to_kb = 20, step_kb = 2 }
netsim.assert(p.chain_len >= 1, "chain_len is at least 1")

local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "tls.handshake", "tls.flight", "tls.first_byte" } }
local windows = { 4, 10 }
local base = p.version == "1.3" and 2 or 3
local mss = 1448                -- 1460 less the timestamps option

local runs = {}
for kb = p.from_kb, p.to_kb, p.step_kb do
  for _, iw in ipairs(windows) do
    local r = { kb = kb, iw = iw }
    runs[#runs + 1] = r
    local tag = string.format("%dk_iw%d", kb, iw)
    local c, s = sim:host("c_" .. tag), sim:host("s_" .. tag)
    sim:link(c, s, { rate = p.rate, delay = p.rtt / 2 })
    s:tls_listen(443, {
      chain_len = p.chain_len, cert_size = math.floor(kb * 1000 / p.chain_len),
      tickets = false, init_cwnd = iw,
      on_accept = function(conn) r.server = conn end,
    })
    r.conn = c:tls_connect(s, 443, {
      version = p.version,
      on_established = function(conn) conn:send("GET / HTTP/1.1\r\n\r\n") end,
    })
  end
end

sim:run "30s"

local tbl = sim:table("chains", { "chain_kb", "init_cwnd", "flight_bytes", "rtts", "first_byte_ms" })
print(string.format("TLS %s, RTT %g ms: the server's first flight against the initial window", p.version, p.rtt * 1000))
print(string.format("%8s %9s %12s %10s %7s", "chain", "init_cwnd", "flight", "window", "RTTs"))
local prev = {}
for _, r in ipairs(runs) do
  local ci, si = r.conn:info(), r.server:info()
  -- the first flight is all the server wrote, less (1.2) its CCS + Finished
  local flight = si.handshake_bytes - (p.version == "1.2" and 51 or 0)
  local window = r.iw * mss
  local k = math.floor(ci.rtts + 0.1)
  print(string.format("%6d KB %9d %10d B %8d B %7.2f%s", r.kb, r.iw, flight, window, ci.rtts,
    k > base and string.format("  (+%d)", k - base) or ""))
  tbl:row(r.kb, r.iw, flight, ci.rtts, ci.first_byte_at * 1000)
  netsim.assert(math.abs(ci.rtts - k) < 0.1, string.format("%d KB, iw %d: %.3f RTT is not whole", r.kb, r.iw, ci.rtts))
  if flight <= window then
    netsim.assert(k == base, string.format("%d KB fits iw %d: %d RTT, expected %d", r.kb, r.iw, k, base))
  elseif flight <= 2 * window then
    netsim.assert(k == base + 1, string.format("%d KB, iw %d: %d RTT, expected %d", r.kb, r.iw, k, base + 1))
  else
    netsim.assert(k >= base + 1, string.format("%d KB, iw %d: %d RTT", r.kb, r.iw, k))
  end
  netsim.assert(not prev[r.iw] or k >= prev[r.iw], "a larger chain never costs fewer round trips")
  prev[r.iw] = k
  r.k = k
end
local function extra(kb, iw)
  for _, r in ipairs(runs) do if r.kb == kb and r.iw == iw then return r.k - base end end
end
netsim.result { extra_rtts_max_iw4 = extra(p.to_kb, 4), extra_rtts_max_iw10 = extra(p.to_kb, 10) }
