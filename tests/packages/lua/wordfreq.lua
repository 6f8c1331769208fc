-- Reads text on stdin, prints the 15 most frequent words and some totals; writes and reads a
-- file given as the first argument.
local counts, total, lines = {}, 0, 0
for line in io.lines() do
  lines = lines + 1
  for w in line:lower():gmatch("%a+") do
    counts[w] = (counts[w] or 0) + 1
    total = total + 1
  end
end
local list = {}
for w, n in pairs(counts) do list[#list + 1] = {w = w, n = n} end
table.sort(list, function(a, b) if a.n ~= b.n then return a.n > b.n end return a.w < b.w end)
for i = 1, math.min(15, #list) do print(string.format("%-12s %6d %6.2f%%", list[i].w, list[i].n, 100 * list[i].n / total)) end
print("lines", lines, "words", total, "distinct", #list)

local path = arg[1]
local f = assert(io.open(path, "w"))
for i = 1, 100 do f:write(string.format("%d\t%s\t%.3f\n", i, list[(i - 1) % #list + 1].w, i / 7)) end
f:close()
local n, s = 0, 0
for l in io.lines(path) do
  local a, _, c = l:match("^(%d+)\t(%a+)\t([%d.]+)$")
  n, s = n + 1, s + tonumber(a) + tonumber(c)
end
print("reread", n, s)
print(io.open("/nonexistent/dir/file", "r"))
io.stderr:write("wordfreq: done\n")
os.exit(#list % 256)
