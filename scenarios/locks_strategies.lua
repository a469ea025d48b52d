-- locks_strategies.lua — the race of locks_race.lua under every acquisition
-- strategy in one run, side by side in one table.
--
-- The race: three clients, three lock servers, majority quorum (2 of 3),
-- one lock R1, all starting together; client k asks the servers from ls<k>
-- on, so each wins a different server first (locks_race.lua explains the
-- staging).  Under `wait` nobody can reach two of three and the three
-- deadlock for good; every other strategy must get all three through.
--
--   netsim scenarios/locks_strategies.lua                    -- the table
--   gnuplot -e "dir='out/locks_strategies'" plots/lock_strategies.gp
--                                                            (or: make plots)
--
-- The strategies share one lock cluster and take turns on its three
-- servers (a simulation may hold several clusters, but turns give every
-- strategy the very same servers ls1..ls3 and a clean slate): each has its own three
-- clients (a.<strategy>, b.<strategy>, c.<strategy>) which start together
-- at the beginning of the strategy's slot, `slot` after the previous one,
-- when the previous clients are done and have released everything.  `wait`
-- goes last: its clients never finish, and a deadlock left in the cluster
-- would be found by `detect`'s cycle search, which reads every server's
-- table (it would abort one of them).  The staging is exactly that of
-- locks_race.lua; random backoffs are drawn from per-host streams, so
-- `release_all`, `wait_die` and `wound_wait` may retry a different number
-- of times than `locks_race.lua -D strategy=...` with its clients a, b, c.
--
-- Prints one row per strategy and writes it to strategies.tsv (after
-- `time`, the end of the run: the columns below; "nan" where a value does
-- not exist); also events.tsv and counters.tsv.
--   finished           clients done at the end of the slot (of `clients`)
--   critical_sections  critical sections completed
--   deadlocks          deadlocks the oracle saw form during the slot
--   deadlocked         clients that can never proceed at the slot's end
--   retries            aborted attempts: release_all's give-ups, wait_die's
--                      deaths, wound_wait's wounds, detect's victims
--   mean_wait_ms       mean acquisition latency (first request to quorum
--                      held) of the completed acquisitions
--   max_wait_ms        the longest, counting a wait still going on at the
--                      slot's end (a deadlocked client waits the whole slot)
--   done_ms            from the slot's start until every client is done
--                      (the last client's stats().done_at; nan if some
--                      never is)
--   packets            frames sent and received by the three clients in
--                      their slot (lock and storage messages and their ARP,
--                      the answers to the last releases included)

local netsim = require "netsim"

local p = netsim.params {
  slot = "1s",          -- each strategy's turn; how long `wait` is watched
  hold = "5ms",         -- work inside the critical section (as locks_race.lua)
}

-- The order of the table (the registry's); `wait` runs last (see above).
local table_order = { "wait", "release_all", "ordered", "wait_die", "wound_wait", "detect" }
local run_order = { "release_all", "ordered", "wait_die", "wound_wait", "detect", "wait" }
local NAMES = { "a", "b", "c" }

netsim.assert(p.slot > 0, "slot must be > 0")

local sim = netsim.new { seed = 1 }
local cl = sim:lock_cluster { servers = 3, delay = "1ms" }     -- majority: 2

-- Times below are integer nanoseconds (sim:now_ns()), so that slots start
-- exactly where they should: sums of float seconds drift.
local function ns(seconds) return math.floor(seconds * 1e9 + 0.5) end
local SLOT_NS = ns(p.slot)

-- When every client was done (ns: the latest stats().done_at), or nil if
-- one is not.
local function done_at(clients)
  local last = 0
  for _, c in ipairs(clients) do
    local d = c:stats().done_at
    if not d then return nil end
    last = math.max(last, ns(d))
  end
  return last
end

-- Starts one strategy's three clients at t0 (ns) and watches them for a slot.
local function race(strategy, t0)
  local before = cl:report()
  local clients = {}
  for k, n in ipairs(NAMES) do
    clients[k] = sim:host(n .. "." .. strategy):lock_client {
      cluster = cl, strategy = strategy, resources = "R1", hold = p.hold,
      first_server = k, start = (t0 - sim:now_ns()) / 1e9,
    }
  end
  sim:run((t0 + SLOT_NS) / 1e9)
  local done = done_at(clients)
  if not done and strategy ~= run_order[#run_order] then
    -- the next strategy's clients would share the servers with these
    error(string.format("%s: not every client got the lock within the %g s slot "
                        .. "(a longer -D slot=...?)", strategy, p.slot))
  end
  local after = cl:report()
  local row = {
    strategy = strategy, clients = #clients, finished = 0, critical_sections = 0,
    deadlocks = after.deadlocks - before.deadlocks,
    deadlocked = after.blocked - before.blocked,
    retries = 0, max_wait_ms = 0, packets = 0,
    done_ms = done and (done - t0) / 1e6 or nil,
  }
  local wait_sum = 0
  for _, c in ipairs(clients) do
    local s = c:stats()
    local h = sim:host_named(c:name()):stats()
    row.finished = row.finished + (s.state == "done" and 1 or 0)
    row.critical_sections = row.critical_sections + s.acquisitions
    row.retries = row.retries + s.retries
    row.max_wait_ms = math.max(row.max_wait_ms, s.longest_wait * 1000)
    row.packets = row.packets + h.tx_pkts + h.rx_pkts
    wait_sum = wait_sum + s.mean_wait * s.acquisitions
  end
  if row.critical_sections > 0 then
    row.mean_wait_ms = wait_sum / row.critical_sections * 1000
  end
  row.waiting = cl:waiting()         -- who waits for whom, if anyone
  return row
end

local rows = {}
for i, s in ipairs(run_order) do rows[s] = race(s, (i - 1) * SLOT_NS) end

-- ---- the table: stdout and strategies.tsv ----
local cols = { "strategy", "clients", "finished", "critical_sections", "deadlocks",
               "deadlocked", "retries", "mean_wait_ms", "max_wait_ms", "done_ms", "packets" }
local tsv = sim:table("strategies", cols)
local function ms(v) return v and string.format("%.3f", v) or "-" end
print(string.format("the race of locks_race.lua (3 clients, 3 servers, quorum %d) "
                    .. "under each strategy, %g s each:", cl:quorum(), p.slot))
print(string.format("%-11s %8s %9s %10s %7s %12s %11s %9s %7s", "strategy", "finished",
                    "deadlocks", "deadlocked", "retries", "mean_wait_ms", "max_wait_ms",
                    "done_ms", "packets"))
for _, s in ipairs(table_order) do
  local r = rows[s]
  print(string.format("%-11s %6d/%d %9d %10d %7d %12s %11.3f %9s %7d", s, r.finished, r.clients,
                      r.deadlocks, r.deadlocked, r.retries, ms(r.mean_wait_ms), r.max_wait_ms,
                      ms(r.done_ms), r.packets))
  local v = {}
  for k, c in ipairs(cols) do
    local x = r[c]
    -- integers stay integers; a value that does not exist is "nan"
    if x == nil then x = "nan"
    elseif c:match("_ms$") then x = math.floor(x * 1e6 + 0.5) / 1e6 end
    v[k] = x
  end
  tsv:row(table.unpack(v))
end
if rows.wait.waiting ~= "" then io.write("wait, at the end of its slot:\n", rows.wait.waiting) end

local res = {}
for _, s in ipairs(table_order) do
  local r = rows[s]
  res[s .. "_finished"] = r.finished
  res[s .. "_deadlocks"] = r.deadlocks
  res[s .. "_retries"] = r.retries
  if r.done_ms then res[s .. "_done_ms"] = r.done_ms end
end
netsim.result(res)

-- ---- what each strategy promises in this race ----
local report = cl:report()
netsim.assert(report.violations == 0, report.first_violation)
netsim.assert(rows.wait.finished == 0 and rows.wait.deadlocked == 3 and rows.wait.deadlocks >= 1,
              "wait: the staged race deadlocks all three clients")
for _, s in ipairs(run_order) do
  if s ~= "wait" then
    local r = rows[s]
    netsim.assert(r.finished == 3 and r.critical_sections == 3 and r.deadlocked == 0,
                  s .. ": every client gets the lock within the slot")
    if s ~= "detect" then netsim.assert(r.deadlocks == 0, s .. " never deadlocks") end
  end
end
netsim.assert(rows.ordered.retries == 0, "ordered never aborts")
netsim.assert(rows.detect.deadlocks == 1 and rows.detect.retries == 1,
              "detect: the cycle forms once and one victim is aborted")
