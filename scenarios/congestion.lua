-- congestion.lua — several TCP flows sharing one bottleneck: how cwnd
-- grows and backs off, how goodput is shared, and what loss and RTT do.
--
--   netsim scenarios/congestion.lua -D cc=cubic -D loss=0.01 -D rtt=80ms
--   gnuplot -e "dir='out/congestion'" plots/cwnd.gp      (or: make plots)
--
-- Writes cwnd.tsv and goodput.tsv (every 100 ms per flow) and reports the
-- total goodput and Jain's fairness index in run.json.

local netsim = require "netsim"

local p = netsim.params {
  cc       = "newreno",   -- reno, newreno, cubic
  loss     = 0.0,         -- random loss on the bottleneck
  rtt      = "40ms",      -- round trip of the bottleneck (access links add 4 ms)
  rate     = "100Mbps",   -- bottleneck rate
  queue    = 100,         -- bottleneck queue, packets
  flows    = 4,
  duration = "30s",
}

local sim = netsim.new { seed = 1 }
local left, right = sim:dumbbell {
  pairs = p.flows,
  bottleneck = { rate = p.rate, delay = p.rtt / 2, queue = p.queue },
  access = { rate = "1Gbps", delay = "1ms" },
  loss = p.loss,
}

local starts = sim:rng "starts"
for i = 1, p.flows do
  -- start within the first 100 ms, in a seeded random order
  sim:at(starts:uniform(0, 0.1), function()
    left[i]:tcp_bulk(right[i], { cc = p.cc })
  end)
end

sim:tcp_trace { every = "100ms" }
sim:trace { kinds = { "tcp.state", "tcp.recovery", "tcp.timeout", "net.drop" } }
sim:run(p.duration)

local goodput, jain = sim:goodput(), sim:fairness()
print(string.format("%d %s flows, loss %g, RTT %g ms: %.2f Mbit/s in all, Jain %.3f",
                    p.flows, p.cc, p.loss, p.rtt * 1e3, goodput / 1e6, jain))
netsim.result { goodput = goodput, jain = jain }
