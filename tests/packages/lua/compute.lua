-- CPU-bound work: results are checked and printed (identical on both ISAs).
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
assert(fib(24) == 46368)
print("fib(24)", fib(24))

local function sieve(n)
  local composite, count, last = {}, 0, 0
  for i = 2, n do
    if not composite[i] then
      count, last = count + 1, i
      for j = i * i, n, i do composite[j] = true end
    end
  end
  return count, last
end
print("primes below 100000:", sieve(100000))

local function queens(n)
  local cols, d1, d2, solutions = {}, {}, {}, 0
  local function place(r)
    if r > n then solutions = solutions + 1 return end
    for c = 1, n do
      if not cols[c] and not d1[r + c] and not d2[r - c + n] then
        cols[c], d1[r + c], d2[r - c + n] = true, true, true
        place(r + 1)
        cols[c], d1[r + c], d2[r - c + n] = false, false, false
      end
    end
  end
  place(1)
  return solutions
end
assert(queens(8) == 92)
print("8 queens:", queens(8))

-- Mandelbrot in ASCII: floating point heavy.
for y = -1.2, 1.2, 0.15 do
  local row = {}
  for x = -2.1, 0.7, 0.05 do
    local zr, zi, i = 0.0, 0.0, 0
    while i < 60 and zr * zr + zi * zi < 4 do
      zr, zi = zr * zr - zi * zi + x, 2 * zr * zi + y
      i = i + 1
    end
    row[#row + 1] = (" .:-=+*#%@"):sub(i % 10 + 1, i % 10 + 1)
  end
  print(table.concat(row))
end

-- A hash over integers with bit operations, and float accumulation.
local h, acc = 0x12345678, 0.0
for i = 1, 200000 do
  h = ((h ~ i) * 0x5bd1e995) & 0xffffffff
  h = h ~ (h >> 15)
  acc = acc + math.sin(i) / i
end
print(string.format("hash %08x  sum %.17g", h, acc))

-- String building and sorting of records.
local words = {}
for i = 1, 3000 do words[i] = string.format("%05d-%s", (i * 7919) % 10007, string.char(97 + i % 26):rep(i % 7 + 1)) end
table.sort(words, function(a, b) return a:reverse() < b:reverse() end)
print(words[1], words[1500], words[3000], #table.concat(words))

-- Big table with integer and string keys; GC pressure.
local big = {}
for i = 1, 50000 do big[i] = {i, tostring(i), i / 3} end
for i = 1, 50000, 2 do big[i] = nil end
collectgarbage()
local sum = 0
for i = 2, 50000, 2 do sum = sum + big[i][1] + #big[i][2] + big[i][3] end
print(string.format("sum %.10f", sum))
