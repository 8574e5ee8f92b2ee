-- LuaBitOp's `bit` library as redis-server ships it, on Lua 5.4's integer operators: operands are taken modulo
-- 2^32 (floats rounded to nearest, ties to even), results are signed 32-bit integers.
local native = ...
local pcall = pcall
local type, tonumber, error, floor, mtype = type, tonumber, error, math.floor, math.type

local function arg(x, i, name)
  local n = tonumber(x)
  if type(x) ~= 'number' and (type(x) ~= 'string' or n == nil) then
    local got = x == nil and 'no value' or type(x)
    error("bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. got .. ")", 3)
  end
  if mtype(n) == 'float' then
    if n ~= n or n == math.huge or n == -math.huge then return 0 end
    local r = floor(n)
    local d = n - r
    if d > 0.5 or (d == 0.5 and r % 2 == 1) then r = r + 1 end
    n = math.tointeger(r % 4294967296) or 0
  end
  n = n & 0xFFFFFFFF
  if n >= 0x80000000 then n = n - 0x100000000 end
  return n
end

local function s32(n)
  n = n & 0xFFFFFFFF
  if n >= 0x80000000 then n = n - 0x100000000 end
  return n
end

local bit = {}
bit.tobit = function(x) return arg(x, 1, 'tobit') end
bit.bnot = function(x) return s32(~arg(x, 1, 'bnot')) end
local function fold(name, op)
  return function(x, ...)
    local r = arg(x, 1, name)
    for i = 1, select('#', ...) do r = op(r, arg((select(i, ...)), i + 1, name)) end
    return s32(r)
  end
end
bit.band = fold('band', function(a, b) return a & b end)
bit.bor = fold('bor', function(a, b) return a | b end)
bit.bxor = fold('bxor', function(a, b) return a ~ b end)
bit.lshift = function(x, n) return s32(arg(x, 1, 'lshift') << (arg(n, 2, 'lshift') & 31)) end
bit.rshift = function(x, n) return s32((arg(x, 1, 'rshift') & 0xFFFFFFFF) >> (arg(n, 2, 'rshift') & 31)) end
bit.arshift = function(x, n)
  local v, s = arg(x, 1, 'arshift'), arg(n, 2, 'arshift') & 31
  return s32(v >> s | (v < 0 and s > 0 and (0xFFFFFFFF << (32 - s)) or 0))
end
bit.rol = function(x, n)
  local v, s = arg(x, 1, 'rol') & 0xFFFFFFFF, arg(n, 2, 'rol') & 31
  return s32((v << s) | (v >> (32 - s)))
end
bit.ror = function(x, n)
  local v, s = arg(x, 1, 'ror') & 0xFFFFFFFF, arg(n, 2, 'ror') & 31
  return s32((v >> s) | (v << (32 - s)))
end
bit.bswap = function(x)
  local v = arg(x, 1, 'bswap') & 0xFFFFFFFF
  return s32(((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24))
end
bit.tohex = function(x, n)
  local v = arg(x, 1, 'tohex') & 0xFFFFFFFF
  n = n == nil and 8 or arg(n, 2, 'tohex')
  local upper = n < 0
  if upper then n = -n end
  if n > 8 then n = 8 end
  if n == 0 then return '' end
  local s = string.format(upper and '%08X' or '%08x', v)
  return s:sub(9 - n)
end
_G.bit = bit
