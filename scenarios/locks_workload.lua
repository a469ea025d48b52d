-- locks_workload.lua — one contended workload under one acquisition
-- strategy (chosen with -D strategy=...); a sweep over the strategy gives
-- the comparison table and the latency CDF.
--
--   clients c1..cN --+-- switch (1Gbps, 1ms per port) --+-- ls1..ls5 storage
--
-- Each client runs `transactions` transactions, each locking two of three
-- resources (R1, R2, R3) on a majority of 5 servers, in an order drawn
-- once per client, so opposite orders meet; starts are spread over
-- `jitter`.  Under `wait` some clients deadlock and never finish; the
-- prevention strategies (ordered, wait_die, wound_wait) never deadlock;
-- release_all never waits but retries; detect lets deadlocks form and
-- breaks each by aborting its youngest member after `timeout`.
-- (locks_strategies.lua runs the staged race of locks_race.lua under
-- every strategy in one run instead.)
--
--   netsim scenarios/locks_workload.lua -D strategy=wound_wait
--   netsim sweep scenarios/locks_workload.lua --seeds 1..20 --keep-outputs \
--     -D strategy=wait,release_all,ordered,wait_die,wound_wait,detect \
--     --out out/locks_workload-sweep           (summary.tsv: the table)
--   gnuplot -e "dir='out/locks_workload-sweep'" plots/lock_latency_cdf.gp
--   netsim sweep scenarios/locks_workload.lua --seeds 1..10 -D clients=2:12:6 \
--     -D strategy=wait,release_all,ordered,wait_die,wound_wait,detect \
--     --out out/lock_throughput-sweep
--   gnuplot -e "dir='out/lock_throughput-sweep'" plots/lock_throughput.gp
--
-- Prints one summary row (throughput: critical sections per simulated
-- second until the run went quiet); writes acquisitions.tsv (one row per
-- acquisition: client, strategy, wait_s, retries) and events.tsv.

local netsim = require "netsim"

local p = netsim.params {
  strategy = "wait",        -- wait | release_all | ordered | wait_die | wound_wait | detect
  clients = 6,
  transactions = 5,         -- per client
  hold = "2ms",             -- work inside the critical section
  think = "2ms",            -- between transactions
  jitter = "10ms",          -- spread of the first starts
  timeout = "20ms",         -- release_all: quorum timeout; detect: look for cycles
}

local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "lock.abort", "lock.deadlock", "lock.victim", "lock.wound" } }
local cl = sim:lock_cluster { servers = 5, delay = "1ms" }       -- majority: 3
cl:acquisitions_table "acquisitions"

local rng = sim:rng "workload"
local all = { "R1", "R2", "R3" }
local clients = {}
for i = 1, p.clients do
  -- two distinct resources, in a random order
  local a = rng:integer(1, 3)
  local b = (a + rng:integer(0, 1)) % 3 + 1
  clients[i] = sim:host("c" .. i):lock_client {
    cluster = cl, strategy = p.strategy, resources = { all[a], all[b] },
    start = rng:uniform(0, p.jitter), hold = p.hold, think = p.think,
    transactions = p.transactions, timeout = p.timeout, backoff = "5ms", backoff_max = "200ms",
  }
end

sim:run "120s"

local r = cl:report()
local mean, n = 0, 0
for _, c in ipairs(clients) do
  local s = c:stats()
  mean, n = mean + s.mean_wait * s.acquisitions, n + s.acquisitions
end
mean = n > 0 and mean / n or 0
-- critical sections per second of simulated time, until the run went quiet
local throughput = sim:now() > 0 and r.acquisitions / sim:now() or 0
local want = p.clients * p.transactions
print(string.format("%-11s %12s %8s %9s %8s %14s %12s %12s", "strategy", "acquisitions",
                    "retries", "deadlocks", "waiting", "longest_wait_s", "mean_wait_s", "cs_per_s"))
print(string.format("%-11s %7d/%-4d %8d %9d %8d %14.3f %12.4f %12.1f", p.strategy, r.acquisitions,
                    want, r.retries, r.deadlocks, r.waiting, r.longest_wait, mean, throughput))

netsim.result {
  strategy = p.strategy, acquisitions = r.acquisitions, retries = r.retries,
  deadlocks = r.deadlocks, waiting = r.waiting, longest_wait = r.longest_wait,
  mean_wait = mean, throughput = throughput, violations = r.violations,
}
netsim.assert(r.violations == 0, r.first_violation)
if p.strategy ~= "wait" then
  netsim.assert(r.waiting == 0 and r.acquisitions == want,
                p.strategy .. ": every transaction completes")
end
if p.strategy == "ordered" or p.strategy == "wait_die" or p.strategy == "wound_wait"
   or p.strategy == "release_all" then
  netsim.assert(r.deadlocks == 0, p.strategy .. " never deadlocks")
end
