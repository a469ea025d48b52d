-- locks_transactions.lua — transactions race to lock two resources on a
-- majority of lock servers.  a locks R1 then R2, b locks R2 then R1 (the
-- textbook deadlock, spread over three servers), and c wants R1 a little
-- later.  (locks_race.lua is the race for one lock.)
--
--   a, b, c --+-- switch (1Gbps, 1ms per port) --+-- ls1 ls2 ls3 storage
--
-- Under `wait` (hold and wait) a and b each take their first resource on
-- the servers and then queue behind each other forever; c wins R1 on ls3
-- (b queues behind it there) and waits for a on ls1 and ls2, so all three
-- are on the cycle.  They keep asking every RTO until `duration`.  `release_all` gives up
-- and retries after a random backoff; `ordered` locks resources by name,
-- servers by index, one at a time: both finish.  `wait_die` and
-- `wound_wait` compare the transactions' ages (a's tie with b goes to the
-- lower host id, a): under wait_die b dies when it asks for R1 held by
-- the older a; under wound_wait a's request for R2 wounds b.  `detect`
-- lets the deadlock form; after `timeout` (50 ms) of waiting a client's
-- detector asks every server for its wait-for edges (WFGQ, WFG, WFGEND in
-- the diagram), judges a round trip later and aborts the youngest client
-- on a cycle: first c (holding R1 on ls3, where b queues behind it, it
-- closes a -> b -> c -> a), then, the next round, b.
--
--   netsim scenarios/locks_transactions.lua -D strategy=release_all
--   netsim scenarios/locks_transactions.lua -D detector=true -D victim=oldest
--     (plain `wait` clients, a detector host "det" on the LAN breaks the
--     deadlock, aborting the oldest on the cycle)
--   netsim explore scenarios/locks_transactions.lua --seeds 1..1000 -D strategy=release_all
--
-- Outputs: locks_transactions.txt/.mmd (sequence diagram, DEADLOCK marked),
-- waitfor.txt/.dot/.mmd (the wait-for graph when the deadlock formed, cycle in red),
-- events.tsv (lock.* events: requests, grants, queues, releases, aborts).

local netsim = require "netsim"

local p = netsim.params {
  duration = "2s",        -- how long to watch: deadlocked clients keep asking every RTO
  strategy = "wait",        -- wait | release_all | ordered | wait_die | wound_wait | detect
  servers = 3,
  transactions = 2,         -- critical sections each client completes
  hold = "5ms",             -- work inside the critical section
  jitter = "0ms",           -- random extra start delay per client
  victim = "youngest",      -- whom a detector aborts: youngest | oldest | fewest_locks
  detector = false,         -- true: a detector host on the LAN (any queueing strategy)
}

local sim = netsim.new { seed = 1 }
local cl = sim:lock_cluster { servers = p.servers, delay = "1ms" }   -- majority quorum

local starts = sim:rng "starts"
local function start(t) return t + starts:uniform(0, p.jitter) end

local function client(name, resources, t)
  return sim:host(name):lock_client {
    cluster = cl, strategy = p.strategy, resources = resources,
    start = start(t), hold = p.hold, think = "2ms", transactions = p.transactions,
    victim = p.strategy == "detect" and p.victim or nil,  -- only detect takes it
  }
end
local a = client("a", { "R1", "R2" }, 0)
local b = client("b", { "R2", "R1" }, 0)
local c = client("c", { "R1" }, 0.003)
-- A detector of its own on the LAN: a round every 30 ms, whose VICTIM any
-- queueing client (wait included) obeys while still acquiring.
if p.detector then
  cl:detector { host = sim:host "det", period = "30ms", victim = p.victim }
end

local watched = { sim:host_named "a", sim:host_named "b", sim:host_named "c" }
for _, s in ipairs(cl:servers()) do watched[#watched + 1] = s end
sim:diagram { hosts = watched, file = "locks_transactions" }
cl:waitfor_files "waitfor"
cl:holds_table "holds"                -- who holds what: plots/lock_gantt.gp

sim:run(p.duration)

local r = cl:report()
for _, x in ipairs { a, b, c } do
  local s = x:stats()
  print(string.format("%-2s %-10s acquisitions=%d retries=%d longest_wait=%.3f s",
                      x:name(), s.state, s.acquisitions, s.retries, s.longest_wait))
end
local waiting = cl:waiting()
if waiting ~= "" then io.write("still waiting at the end:\n", waiting) end

netsim.result {
  strategy = p.strategy, acquisitions = r.acquisitions, retries = r.retries,
  deadlocks = r.deadlocks, blocked = r.blocked, violations = r.violations,
  longest_wait = r.longest_wait,
  -- detection: distinct victims the detectors chose (one per client
  -- attempt), and phantoms among them
  victims = (p.strategy == "detect" or p.detector) and r.victims or nil,
  phantoms = (p.strategy == "detect" or p.detector) and r.phantoms or nil,
}
netsim.assert(r.violations == 0, r.first_violation)
if p.strategy == "detect" or p.detector then
  netsim.assert(r.waiting == 0, "every deadlock is detected and broken")
  netsim.assert(r.acquisitions == 3 * p.transactions, "every transaction completes")
elseif p.strategy ~= "wait" then
  netsim.assert(r.deadlocks == 0 and r.waiting == 0, "no deadlock under " .. p.strategy)
  netsim.assert(r.acquisitions == 3 * p.transactions, "every transaction completes")
end
