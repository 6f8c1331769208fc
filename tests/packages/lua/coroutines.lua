-- Coroutines, generators, yields across pcall, error propagation.
local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i, i * i) end
    return "done"
  end)
end
local g = gen(4)
for _ = 1, 5 do print(g()) end

local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  local ok, err = pcall(function()
    coroutine.yield("inside pcall")
    error("boom")
  end)
  print("pcall in coroutine:", ok, err)
  return "finished"
end)
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co), coroutine.resume(co, 10))
print(coroutine.resume(co, "x", "y"))
print(coroutine.resume(co))
print(coroutine.status(co), coroutine.resume(co))
print(coroutine.isyieldable(), type(coroutine.running()), select(2, coroutine.running()))

-- producer / consumer with a filter
local function producer()
  return coroutine.create(function()
    for line in ("alpha\nbeta\ngamma\ndelta\n"):gmatch("[^\n]+") do coroutine.yield(line) end
  end)
end
local function filter(src)
  return coroutine.create(function()
    local n = 1
    while true do
      local _, x = coroutine.resume(src)
      if not x then break end
      coroutine.yield(string.format("%5d %s", n, x:upper()))
      n = n + 1
    end
  end)
end
local f = filter(producer())
while true do
  local _, x = coroutine.resume(f)
  if not x then break end
  print(x)
end

-- permutations generator
local function permgen(a, n)
  n = n or #a
  if n <= 1 then coroutine.yield(a) else
    for i = 1, n do
      a[n], a[i] = a[i], a[n]
      permgen(a, n - 1)
      a[n], a[i] = a[i], a[n]
    end
  end
end
local count = 0
for p in coroutine.wrap(function() permgen({1, 2, 3, 4}) end) do
  count = count + 1
  if count <= 5 then print(table.concat(p, " ")) end
end
print("permutations:", count)

-- error inside a coroutine, close
local bad = coroutine.create(function() local t = nil; return t.x end)
print(coroutine.resume(bad))
print(coroutine.close(bad), coroutine.status(bad))
local wrapped = coroutine.wrap(function() error({code = 7}) end)
local ok, e = pcall(wrapped)
print(ok, type(e), e.code)
