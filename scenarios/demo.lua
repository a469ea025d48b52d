-- demo.lua — the core engine on its own: an M/M/1 queue built from
-- scheduled Lua callbacks and seeded random streams.
--
-- Customers arrive as a Poisson stream (rate lambda) and are served one at
-- a time in exponential time (rate mu).  Queueing theory says the mean
-- number in the system is rho / (1 - rho) with rho = lambda / mu; the run
-- checks its time-average against that, writes every arrival and
-- departure to events.tsv and the queue length over time to queue.tsv
-- (plot it with: gnuplot -e "dir='out/demo'" plots/queue.gp).
--
--   netsim scenarios/demo.lua -D load=0.9 -D customers=200000

local netsim = require "netsim"

local p = netsim.params {
  load      = 0.8,       -- rho = lambda / mu
  service   = "1ms",     -- mean service time (1 / mu)
  customers = 50000,     -- arrivals to simulate
  tolerance = 0.15,      -- allowed relative error against theory
}
netsim.assert(p.load > 0 and p.load < 1, "load must be in (0, 1)")

local sim = netsim.new { seed = 1 }
local arrivals = sim:rng "arrivals"        -- one stream per component:
local service  = sim:rng "service"         -- changing one never shifts the other
local qlen     = sim:table("queue", { "customers", "mean" })

local in_system, arrived, served = 0, 0, 0
local area, last_change = 0.0, 0.0         -- integral of in_system over time

local function change(delta)
  area = area + in_system * (sim:now() - last_change)
  last_change = sim:now()
  in_system = in_system + delta
  qlen:row(in_system, last_change > 0 and area / last_change or 0)
end

local depart
local function serve_next()
  sim:after(service:exp(p.service), depart)
end

function depart()
  served = served + 1
  change(-1)
  sim:log("mm1.depart", "server", { customer = served, queue = in_system })
  if in_system > 0 then serve_next() end
end

local function arrive()
  arrived = arrived + 1
  change(1)
  sim:log("mm1.arrive", "server", { customer = arrived, queue = in_system })
  if in_system == 1 then serve_next() end
  if arrived < p.customers then
    sim:after(arrivals:exp(p.service / p.load), arrive)
  end
end

sim:at(0, arrive)
sim:run()

local mean = area / sim:now()
local theory = p.load / (1 - p.load)
print(string.format("M/M/1 at load %.2f: mean in system %.3f (theory %.3f) over %d customers",
                    p.load, mean, theory, served))
netsim.result { mean_in_system = mean, theory = theory, served = served }
netsim.assert(served == p.customers, "every customer is served")
netsim.assert(math.abs(mean - theory) / theory < p.tolerance,
              string.format("mean %.3f is within %g%% of theory %.3f",
                            mean, 100 * p.tolerance, theory))
