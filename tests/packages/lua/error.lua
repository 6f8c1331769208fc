-- An uncaught runtime error: `lua` prints the message and a traceback on stderr, exits 1.
local function level3(t) return t.missing.field end
local function level2(t) return level3(t) + 1 end
function level1() return level2({}) end
print("before the error")
level1()
