-- tls_loss.lua — TLS 1.3 handshakes over a lossy path: the distribution
-- of handshake times.  Most handshakes take their 2 RTT; one that loses
-- a segment waits for TCP to recover it (fast retransmit within a flight,
-- else a retransmission timeout: 1 s for a lost SYN or SYN-ACK, RFC 6298),
-- so the distribution has a long tail.
--
--   netsim scenarios/tls_loss.lua                       1%, 2%, 5% loss
--   netsim scenarios/tls_loss.lua -D losses=0.02 -D n=2000
--   gnuplot -e "dir='out/tls_loss'" plots/tls_loss.gp   the CDFs
--
-- Each loss rate has its own client/server pair and link (Bernoulli loss
-- in both directions); `n` handshakes arrive as a Poisson process of
-- `rate_per_s`, each closing after one request and response.  Handshake
-- time is SYN to the client's handshake end; writes cdf.tsv.
local netsim = require "netsim"

local p = netsim.params { losses = "0.01,0.02,0.05", n = 500, rtt = "50ms", rate = "100Mbps",
                          rate_per_s = 20 }
local losses = {}
for s in tostring(p.losses):gmatch("[^,]+") do losses[#losses + 1] = tonumber(s) end
netsim.assert(#losses > 0 and p.n > 0, "at least one loss rate and one handshake")

local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "tls.handshake", "tls.error" } }

local sets = {}
for li, loss in ipairs(losses) do
  local set = { loss = loss, conns = {}, errors = 0 }
  sets[li] = set
  local c, s = sim:host("client" .. li), sim:host("server" .. li)
  sim:link(c, s, { rate = p.rate, delay = p.rtt / 2, loss = loss })
  s:tls_listen(443, {
    on_data = function(conn) conn:send(1000); conn:close() end,
  })
  local arrivals = sim:rng("arrivals" .. li)
  local t = 0
  for k = 1, p.n do
    t = t + arrivals:exp(1 / p.rate_per_s)
    sim:at(t, function()
      set.conns[k] = c:tls_connect(s, 443, {
        handshake_timeout = "60s",
        on_established = function(conn) conn:send("GET / HTTP/1.1\r\n\r\n") end,
        on_data = function(conn) conn:close() end,
        on_error = function() set.errors = set.errors + 1 end,
      })
    end)
  end
end

sim:run()

local tbl = sim:table("cdf", { "loss", "handshake_ms", "cdf" })
local rtt_ms = p.rtt * 1000
print(string.format("TLS 1.3, RTT %g ms, %d handshakes per loss rate: handshake time (ms)", rtt_ms, p.n))
print(string.format("%6s %8s %8s %8s %8s %9s %12s", "loss", "p50", "p90", "p99", "max", "mean", "at 2 RTT"))
local results = {}
for _, set in ipairs(sets) do
  local times = {}
  for _, conn in ipairs(set.conns) do
    local i = conn:info()
    if i.established_at then times[#times + 1] = (i.established_at - i.started_at) * 1000 end
  end
  netsim.assert(set.errors == 0 and #times == p.n,
    string.format("loss %g: %d of %d handshakes done, %d errors", set.loss, #times, p.n, set.errors))
  table.sort(times)
  local function q(f) return times[math.max(1, math.ceil(f * #times))] end
  local sum, fast = 0, 0
  for k, v in ipairs(times) do
    sum = sum + v
    -- a handshake without loss ends 2 RTT after its SYN (plus CPU time)
    if v < 2 * rtt_ms + 5 then fast = fast + 1 end
    tbl:row(set.loss, math.floor(v * 1000 + 0.5) / 1000, k / #times)
  end
  local frac = fast / #times
  print(string.format("%5.1f%% %8.1f %8.1f %8.1f %8.1f %9.1f %11.1f%%", set.loss * 100, q(0.5), q(0.9),
    q(0.99), times[#times], sum / #times, frac * 100))
  netsim.assert(q(0.5) >= 2 * rtt_ms and q(0.5) < 2 * rtt_ms + 5,
    string.format("loss %g: median %.1f ms is not 2 RTT", set.loss, q(0.5)))
  -- the client's handshake ends with the server's flight: it waits on
  -- five packets (SYN, SYN-ACK, ClientHello, a flight of two segments),
  -- each lost with probability `loss`
  local lossless = (1 - set.loss) ^ 5
  netsim.assert(math.abs(frac - lossless) < 0.1,
    string.format("loss %g: %.2f of handshakes took 2 RTT, about %.2f expected", set.loss, frac, lossless))
  netsim.assert(times[#times] >= 1000, string.format("loss %g: some handshake waited for an RTO", set.loss))
  local key = string.format("%g", set.loss * 100):gsub("%.", "_")
  results["p50_ms_" .. key] = q(0.5)
  results["p99_ms_" .. key] = q(0.99)
  results["fast_" .. key] = frac
end
netsim.result(results)
