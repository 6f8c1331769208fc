-- Language and standard library basics; output must be identical on both ISAs.
local function show(...) print(select('#', ...), ...) end

-- integers and floats
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(7 // 2, -7 // 2, 7 % -3, -7 % 3, 7.5 // 2, 2^53, 2^-1074, 1/0, -1/0)
print(0x7fffffffffffffff * 3, 1 << 63, 1 << 64, -1 >> 1, ~0, 5 & 3 | 8 ~ 1)
print(math.tointeger(3.0), math.tointeger(3.5), math.type(1), math.type(1.0), math.type("1"))
print(3 == 3.0, "10" + 5, "3.5" * 2, 10 .. 20, tostring(1e15), tostring(1e16), 2^63, -(2^63))
print(math.ult(1, -1), math.abs(math.mininteger), math.fmod(-7, 3), math.fmod(7, -3.5))
for _, x in ipairs({0.1, 1/3, 2/3, 1e-310, 123456789.125, -0.0, 1e300 * 10}) do
  print(string.format("%.17g %a %e %g %.3f", x, x, x, x, x), x)
end
print(math.sin(1), math.cos(2), math.tan(0.5), math.asin(0.3), math.acos(-0.2), math.atan(1, -2))
print(math.exp(10), math.log(10), math.log(8, 2), math.log(100, 10), math.sqrt(2), math.floor(-2.5), math.ceil(-2.5))
print(string.format("%5d|%-5d|%05d|%x|%X|%o|%c|%q|%s|%10.4s|", 42, 42, -42, 255, 255, 8, 65, "a\n\0b\"", {} ~= nil, "abcdefgh"))
print(string.format("%q", 1/3), string.format("%q", math.mininteger), string.format("%i", 3.0))

-- strings and patterns
local s = "The quick brown fox jumps over the lazy dog"
print(#s, s:upper(), s:lower():reverse())
print(s:find("quick"), s:find("o", 20, true), s:match("(%a+) fox"), s:gsub("o", "0"))
print(s:gsub("%w+", function(w) return #w > 3 and w:sub(1, 1):upper() .. w:sub(2) or nil end))
for k, v in string.gmatch("a=1, b=22, ccc=333", "(%w+)=(%w+)") do io.write(k, ":", v, ";") end
print()
print(("x"):rep(5, "-"), s:byte(1, 5), string.char(72, 105), ("%d items"):format(3))
print(("  trim me  "):match("^%s*(.-)%s*$") .. "|", ("2024-01-15"):match("(%d+)-(%d+)-(%d+)"))
print(utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), #"häll€")
for p, c in utf8.codes("aé€") do io.write(p, "=", c, " ") end
print()
local packed = string.pack("<i4 >i8 d z s1", -2, 1 << 40, 1.5, "zero", "len")
print(#packed, packed:byte(1, 8))
print(string.unpack("<i4 >i8 d z s1", packed))
print(string.packsize("i4 i8 d"), string.pack("=I2", 0x0102):byte(1, 2))

-- tables
local t = {}
for i = 1, 20 do t[i] = (i * 7919) % 31 end
table.sort(t)
print(table.concat(t, ","))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " ", 3, 8), #t, select("#", table.unpack(t)))
table.insert(t, 1, "first"); table.insert(t, "last"); print(table.remove(t, 2), t[1], t[#t], #t)
print(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))
local keys = {}
for k in pairs({alpha = 1, beta = 2, gamma = 3, [1] = "x", [2.5] = "y"}) do keys[#keys + 1] = tostring(k) end
table.sort(keys)
print(table.concat(keys, " "))

-- closures, varargs, goto
local function counter()
  local n = 0
  return function(step) n = n + (step or 1); return n end
end
local c1, c2 = counter(), counter()
c1(); c1(5)
print(c1(), c2())
show(table.unpack({1, nil, 3}, 1, 3))
show(select(-2, "a", "b", "c"))
do
  local i = 1
  ::top::
  if i < 4 then io.write("goto", i, " "); i = i + 1; goto top end
  print()
end

-- metatables
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({x = a.x + b.x, y = a.y + b.y}, V) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return a:len() < b:len() end
V.__tostring = function(v) return string.format("(%g, %g)", v.x, v.y) end
V.__call = function(v, k) return v.x * k end
V.__len = function() return 2 end
function V.len(v) return math.sqrt(v.x ^ 2 + v.y ^ 2) end
local a, b = setmetatable({x = 1, y = 2}, V), setmetatable({x = 3.5, y = -1}, V)
print(tostring(a + b), a == b, a < b, a(10), #a, rawlen(a), rawequal(a, a))
local proxy = setmetatable({}, {__index = function(_, k) return k .. "!" end, __newindex = function(t2, k, v) rawset(t2, k, v * 2) end})
proxy.z = 21
print(proxy.hello, proxy.z)

-- to-be-closed variables
do
  local log = {}
  do
    local x <close> = setmetatable({}, {__close = function() log[#log + 1] = "closed x" end})
    local y <close> = setmetatable({}, {__close = function() log[#log + 1] = "closed y" end})
    log[#log + 1] = "body"
  end
  print(table.concat(log, ", "))
end

-- errors and pcall
print(select("#", pcall(error, {code = 42})), type(select(2, pcall(error, {code = 42}))), select(2, pcall(error, {code = 42})).code)
print(select(2, pcall(error, "msg", 0)), select(2, pcall(error, "lvl1")))
print(pcall(function() return 1 // 0 end))
print(pcall(function() local x = nil; return x.field end))
print(pcall(function() return {} < {} end))
print(select(2, xpcall(function() error("deep") end, function(m) return "handled: " .. m end)))
print(pcall(string.rep))
print(string.format("%s", select(2, pcall(setmetatable, 1, {}))))
print(tonumber("0x1p4"), tonumber("  12  "), tonumber("12a"), tonumber("z", 36), tonumber("777", 8), tonumber("1e1"))
print(os.date("!%Y-%m-%d %H:%M:%S %j %a %b", 86400 * 365 * 30 + 12345), os.time({year = 2000, month = 1, day = 1, hour = 12}) ~= nil)
