-- Errors thrown and caught all along the run: every pcall, error and coroutine resume goes
-- through luaD_rawrunprotected, whose setjmp buffer is live while the protected code runs,
-- so a migration there must carry live jmp_bufs and a later error must longjmp into a frame
-- rebuilt on the other ISA. Output is deterministic and checked.

local function deep(n, fail_at)
  if n == fail_at then error({code = n}) end
  if n == 0 then return 0 end
  return 1 + deep(n - 1, fail_at)
end

local caught, total, checksum = 0, 0, 0
for round = 1, 3000 do
  local ok, r = pcall(deep, 20 + round % 15, (round % 4 == 0) and (round % 9) or -1)
  if ok then
    total = total + r
  else
    caught = caught + 1
    checksum = (checksum * 31 + r.code) % 1000000007
  end
  -- Nested protection: the inner error is caught inside, the outer one outside.
  local ok2, msg = pcall(function()
    local inner_ok = pcall(error, "inner " .. round)
    assert(not inner_ok)
    if round % 7 == 0 then error("outer " .. round, 0) end
    return round
  end)
  if not ok2 then checksum = (checksum + #msg * round) % 1000000007 end
end
print("pcall rounds", caught, total, checksum)

-- error objects with tracebacks through xpcall
local traces = 0
for i = 1, 400 do
  local ok, tb = xpcall(function() local t = nil; return t[i] end, debug.traceback)
  assert(not ok)
  if tb:find("protected.lua") then traces = traces + 1 end
end
print("xpcall tracebacks", traces)

-- coroutines: each resume is protected too; errors inside kill the coroutine
local function worker(id)
  local acc = 0
  for k = 1, 200 do
    acc = (acc + k * id) % 65521
    if k % 50 == 0 then coroutine.yield(acc) end
  end
  if id % 3 == 0 then error("worker " .. id .. " failed at " .. acc) end
  return acc
end
local results = {}
for id = 1, 60 do
  local co = coroutine.create(worker)
  local ok, v = coroutine.resume(co, id)
  while ok and coroutine.status(co) ~= "dead" do
    results[#results + 1] = v
    ok, v = coroutine.resume(co)
  end
  results[#results + 1] = ok and v or ("E:" .. tostring(v):gsub("^.-:%d+: ", ""))
end
print("coroutines", #results, table.concat(results, ",", 1, 12))
local sum = 0
for _, v in ipairs(results) do if type(v) == "number" then sum = sum + v end end
print("coroutine sum", sum)
