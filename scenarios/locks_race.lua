-- locks_race.lua — clients race for ONE lock on a majority of lock servers,
-- and nobody wins.
--
-- Three clients, three servers, majority quorum (2 of 3), strategy `wait`
-- (hold what you got and wait for the rest).  Each client asks the servers
-- starting from a different one, so each wins a different server first:
-- a holds ls1, b holds ls2, c holds ls3, and each waits on the other two
-- servers behind their holders.  Nobody can reach two of three: a deadlock
-- between a, b and c, spread over three machines, with no single server
-- seeing anything wrong.
--
--   netsim scenarios/locks_race.lua                          -- 3 x 3: deadlock
--   netsim scenarios/locks_race.lua -D clients=2 -D servers=4   -- 2-2 split
--   netsim scenarios/locks_race.lua -D strategy=release_all   -- give up, retry
--   netsim scenarios/locks_race.lua -D strategy=detect        -- break the cycle
--
-- The second case is the even split: 2 clients on 4 servers, majority 3;
-- a wins ls1 and ls2, b wins ls3 and ls4, and neither can get a third.
-- With two clients on three servers this cannot happen (one always holds
-- two of three): majority locking trades the single point of failure for
-- this.  Must a client release what it holds?  `release_all` says yes (no
-- deadlock, but retries), `detect` finds the cycle and aborts the youngest.
--
-- Outputs: locks_race.txt/.mmd (the race, DEADLOCK marked where it forms),
-- waitfor.txt/.dot/.mmd (the wait-for graph, the cycle in red),
-- events.tsv (lock.* events).

local netsim = require "netsim"

local p = netsim.params {
  duration = "1s",        -- how long to watch: deadlocked clients keep asking every RTO
  clients = 3,
  servers = 3,
  strategy = "wait",        -- wait | release_all | ordered | wait_die | wound_wait | detect
  hold = "5ms",
}
netsim.assert(p.clients >= 2 and p.clients <= 8, "clients: 2..8")

local sim = netsim.new { seed = 1 }
local cl = sim:lock_cluster { servers = p.servers, delay = "1ms" }   -- majority quorum

-- Client i starts at server 1 + (i-1)*servers/clients and goes round: its
-- first request leaves its port first, so it reaches "its" server before
-- anyone else's request does.
local names = { "a", "b", "c", "d", "e", "f", "g", "h" }
local clients = {}
for i = 1, p.clients do
  clients[i] = sim:host(names[i]):lock_client {
    cluster = cl, strategy = p.strategy, resources = "R1", hold = p.hold,
    first_server = 1 + (i - 1) * p.servers // p.clients,
  }
end

local watched = {}
for i = 1, p.clients do watched[#watched + 1] = sim:host_named(names[i]) end
for _, s in ipairs(cl:servers()) do watched[#watched + 1] = s end
sim:diagram { hosts = watched, file = "locks_race" }
cl:waitfor_files "waitfor"
cl:holds_table "holds"                -- who holds what: plots/lock_gantt.gp

sim:run(p.duration)

local r = cl:report()
print(string.format("%d clients, %d servers, quorum %d, strategy %s", p.clients, p.servers,
                    cl:quorum(), p.strategy))
for i = 1, p.servers do
  io.write(string.format("  ls%d holder of R1: %s\n", i, cl:holder(i, "R1") or "-"))
end
for _, c in ipairs(clients) do
  local s = c:stats()
  print(string.format("  %-2s %-10s acquisitions=%d retries=%d", c:name(), s.state,
                      s.acquisitions, s.retries))
end
local waiting = cl:waiting()
if waiting ~= "" then io.write("still waiting at the end:\n", waiting) end

netsim.result { clients = p.clients, servers = p.servers, strategy = p.strategy,
                acquisitions = r.acquisitions, retries = r.retries, deadlocks = r.deadlocks,
                blocked = r.blocked }
netsim.assert(r.violations == 0, r.first_violation)
if p.strategy == "wait" and p.servers % p.clients == 0 then
  -- Each client won servers/clients servers: fewer than a majority.
  netsim.assert(r.deadlocks >= 1 and r.blocked == p.clients and r.acquisitions == 0,
                "the staged race deadlocks")
elseif p.strategy == "wait" and p.clients == 2 and p.servers % 2 == 1 then
  netsim.assert(r.deadlocks == 0 and r.acquisitions == 2,
                "two clients on an odd number of servers: one always wins a majority")
elseif p.strategy ~= "wait" then
  netsim.assert(r.waiting == 0 and r.acquisitions == p.clients,
                "every client gets the lock under " .. p.strategy)
end
