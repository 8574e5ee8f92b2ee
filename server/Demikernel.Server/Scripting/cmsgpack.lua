-- lua-cmsgpack as redis-server ships it (pack, unpack, unpack_one, unpack_limit), on Lua 5.4's string.pack.
-- Encoding as lua_cmsgpack.c: integral numbers as the smallest int/uint, other numbers as float32 when exact, else
-- float64; strings as fixstr/str8/str16/str32; tables with keys 1..n as arrays, others as maps; nesting past 16 and
-- other types as nil.
local native = ...
local pcall = pcall
local spack, sunpack, type, error, mtype, tointeger, floor = string.pack, string.unpack, type, error, math.type, math.tointeger, math.floor
local concat, schar = table.concat, string.char
local MAX_NESTING = 16

local encode

local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if mtype(k) == 'float' then
      if k ~= floor(k) or k < 1 then return false end
    elseif mtype(k) ~= 'integer' or k < 1 then
      return false
    end
    count = count + 1
    if k > max then max = k end
  end
  return max == count, max
end

local function encode_int(n, out)
  if n >= 0 then
    if n <= 127 then out[#out + 1] = schar(n)
    elseif n <= 0xff then out[#out + 1] = spack('>BB', 0xcc, n)
    elseif n <= 0xffff then out[#out + 1] = spack('>BI2', 0xcd, n)
    elseif n <= 0xffffffff then out[#out + 1] = spack('>BI4', 0xce, n)
    else out[#out + 1] = spack('>Bi8', 0xcf, n) end
  else
    if n >= -32 then out[#out + 1] = spack('>b', n)
    elseif n >= -128 then out[#out + 1] = spack('>Bb', 0xd0, n)
    elseif n >= -32768 then out[#out + 1] = spack('>Bi2', 0xd1, n)
    elseif n >= -2147483648 then out[#out + 1] = spack('>Bi4', 0xd2, n)
    else out[#out + 1] = spack('>Bi8', 0xd3, n) end
  end
end

encode = function(v, out, level)
  local t = type(v)
  if t == 'nil' or level > MAX_NESTING then out[#out + 1] = '\xc0'
  elseif t == 'boolean' then out[#out + 1] = v and '\xc3' or '\xc2'
  elseif t == 'number' then
    local i = tointeger(v)
    if i and v == v and v ~= math.huge and v ~= -math.huge then encode_int(i, out)
    elseif spack('f', v) and sunpack('f', spack('f', v)) == v then out[#out + 1] = spack('>Bf', 0xca, v)
    else out[#out + 1] = spack('>Bd', 0xcb, v) end
  elseif t == 'string' then
    local n = #v
    if n < 32 then out[#out + 1] = schar(0xa0 | n)
    elseif n <= 0xff then out[#out + 1] = spack('>BB', 0xd9, n)
    elseif n <= 0xffff then out[#out + 1] = spack('>BI2', 0xda, n)
    else out[#out + 1] = spack('>BI4', 0xdb, n) end
    out[#out + 1] = v
  elseif t == 'table' then
    local array, n = is_array(v)
    if array then
      if n < 16 then out[#out + 1] = schar(0x90 | n)
      elseif n <= 0xffff then out[#out + 1] = spack('>BI2', 0xdc, n)
      else out[#out + 1] = spack('>BI4', 0xdd, n) end
      for i = 1, n do encode(v[i], out, level + 1) end
    else
      local count = 0
      for _ in next, v do count = count + 1 end
      if count < 16 then out[#out + 1] = schar(0x80 | count)
      elseif count <= 0xffff then out[#out + 1] = spack('>BI2', 0xde, count)
      else out[#out + 1] = spack('>BI4', 0xdf, count) end
      for k, val in next, v do
        encode(k, out, level + 1)
        encode(val, out, level + 1)
      end
    end
  else
    out[#out + 1] = '\xc0'
  end
end

local function need(s, pos, n)
  if pos + n - 1 > #s then error('Missing bytes in input.', 0) end
end

local decode
decode = function(s, pos)
  need(s, pos, 1)
  local b = s:byte(pos)
  pos = pos + 1
  if b <= 0x7f then return b, pos
  elseif b >= 0xe0 then return b - 256, pos
  elseif b >= 0xa0 and b <= 0xbf then
    local n = b & 0x1f
    need(s, pos, n)
    return s:sub(pos, pos + n - 1), pos + n
  elseif b >= 0x90 and b <= 0x9f then
    local t = {}
    for i = 1, b & 0x0f do t[i], pos = decode(s, pos) end
    return t, pos
  elseif b >= 0x80 and b <= 0x8f then
    local t = {}
    for _ = 1, b & 0x0f do
      local k, v
      k, pos = decode(s, pos)
      v, pos = decode(s, pos)
      if k ~= nil then t[k] = v end
    end
    return t, pos
  elseif b == 0xc0 then return nil, pos
  elseif b == 0xc2 then return false, pos
  elseif b == 0xc3 then return true, pos
  elseif b == 0xca then need(s, pos, 4) return sunpack('>f', s, pos)
  elseif b == 0xcb then need(s, pos, 8) return sunpack('>d', s, pos)
  elseif b == 0xcc then need(s, pos, 1) return sunpack('>B', s, pos)
  elseif b == 0xcd then need(s, pos, 2) return sunpack('>I2', s, pos)
  elseif b == 0xce then need(s, pos, 4) return sunpack('>I4', s, pos)
  elseif b == 0xcf then need(s, pos, 8) return sunpack('>i8', s, pos)
  elseif b == 0xd0 then need(s, pos, 1) return sunpack('>b', s, pos)
  elseif b == 0xd1 then need(s, pos, 2) return sunpack('>i2', s, pos)
  elseif b == 0xd2 then need(s, pos, 4) return sunpack('>i4', s, pos)
  elseif b == 0xd3 then need(s, pos, 8) return sunpack('>i8', s, pos)
  elseif b == 0xd9 or b == 0xc4 or b == 0xda or b == 0xc5 or b == 0xdb or b == 0xc6 then
    local size = (b == 0xd9 or b == 0xc4) and 1 or (b == 0xda or b == 0xc5) and 2 or 4
    need(s, pos, size)
    local n
    n, pos = sunpack('>I' .. size, s, pos)
    need(s, pos, n)
    return s:sub(pos, pos + n - 1), pos + n
  elseif b == 0xdc or b == 0xdd then
    local size = b == 0xdc and 2 or 4
    need(s, pos, size)
    local n
    n, pos = sunpack('>I' .. size, s, pos)
    local t = {}
    for i = 1, n do t[i], pos = decode(s, pos) end
    return t, pos
  elseif b == 0xde or b == 0xdf then
    local size = b == 0xde and 2 or 4
    need(s, pos, size)
    local n
    n, pos = sunpack('>I' .. size, s, pos)
    local t = {}
    for _ = 1, n do
      local k, v
      k, pos = decode(s, pos)
      v, pos = decode(s, pos)
      if k ~= nil then t[k] = v end
    end
    return t, pos
  end
  error('Bad data format in input.', 0)
end

local function unpack_full(s, limit, offset, fname)
  if type(s) ~= 'string' then
    error("bad argument #1 to '" .. fname .. "' (string expected, got " .. (s == nil and 'no value' or type(s)) .. ")", 3)
  end
  local pos = (offset or 0) + 1
  if pos < 1 or (pos > #s and #s > 0 and offset ~= nil and offset > #s) then
    error('Start offset ' .. tostring(offset) .. ' greater than input length ' .. #s .. '.', 3)
  end
  local results, n = {}, 0
  while pos <= #s and (limit == 0 or n < limit) do
    local ok, v, nextpos = pcall(decode, s, pos)
    if not ok then error(v, 3) end
    n = n + 1
    results[n] = v
    pos = nextpos
  end
  return results, n, pos
end

local cmsgpack = { _NAME = 'cmsgpack', _VERSION = 'lua-cmsgpack 0.4.0', _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo', _DESCRIPTION = 'MessagePack C implementation for Lua' }
cmsgpack.pack = function(...)
  local n = select('#', ...)
  if n == 0 then error("bad argument #0 to 'pack' (MessagePack pack needs input.)", 2) end
  local out = {}
  for i = 1, n do encode((select(i, ...)), out, 0) end
  return concat(out)
end
cmsgpack.unpack = function(s)
  local results, n = unpack_full(s, 0, nil, 'unpack')
  return table.unpack(results, 1, n)
end
cmsgpack.unpack_one = function(s, offset)
  local results, n, pos = unpack_full(s, 1, offset and math.tointeger(offset) or nil, 'unpack_one')
  local next_offset = pos > #s and -1 or pos - 1
  return next_offset, table.unpack(results, 1, n)
end
cmsgpack.unpack_limit = function(s, limit, offset)
  local results, n, pos = unpack_full(s, math.tointeger(limit) or 0, offset and math.tointeger(offset) or nil, 'unpack_limit')
  local next_offset = pos > #s and -1 or pos - 1
  return next_offset, table.unpack(results, 1, n)
end
_G.cmsgpack = cmsgpack
