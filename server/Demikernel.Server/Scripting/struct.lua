-- Roberto Ierusalimschy's `struct` library as redis-server ships it, translated onto Lua 5.4's string.pack:
-- formats > < ! x b B h H l L T i[n] I[n] s (zero-terminated) f d c[n]; struct.unpack returns the values and the
-- position after them.
local native = ...
local pcall = pcall
local spack, sunpack, type, error, tointeger = string.pack, string.unpack, type, error, math.tointeger

local function translate(fmt, fname)
  if type(fmt) ~= 'string' then
    error("bad argument #1 to '" .. fname .. "' (string expected, got " .. (fmt == nil and 'no value' or type(fmt)) .. ")", 3)
  end
  local out, items, i = {}, {}, 1
  while i <= #fmt do
    local c = fmt:sub(i, i)
    i = i + 1
    local digits = fmt:match('^%d+', i)
    if digits then i = i + #digits end
    if c == '>' or c == '<' then out[#out + 1] = c
    elseif c == '!' then out[#out + 1] = '!' .. (digits or '')
    elseif c == ' ' then
    elseif c == 'x' then out[#out + 1] = 'x'
    elseif c == 'b' or c == 'B' or c == 'h' or c == 'H' or c == 'l' or c == 'L' or c == 'T' or c == 'f' or c == 'd' then
      out[#out + 1] = c; items[#items + 1] = c
    elseif c == 'i' or c == 'I' then
      local n = tonumber(digits or '4')
      if n < 1 or n > 16 then error("integral size " .. n .. " is larger than limit of 16", 3) end
      out[#out + 1] = c .. n; items[#items + 1] = c
    elseif c == 's' then out[#out + 1] = 'z'; items[#items + 1] = 's'
    elseif c == 'c' then out[#out + 1] = { c = tonumber(digits or '1') }; items[#items + 1] = 'c'
    else error("invalid format option '" .. c .. "'", 3) end
  end
  return out
end

local function int(v, fname, i)
  local n = tonumber(v)
  if n == nil then
    error("bad argument #" .. i .. " to '" .. fname .. "' (number expected, got " .. (v == nil and 'no value' or type(v)) .. ")", 3)
  end
  return tointeger(n) or (n >= 0 and math.floor(n) or math.ceil(n))
end

local struct = {}
struct.pack = function(fmt, ...)
  local parts, argi = {}, 1
  local prefix = ''
  for _, item in ipairs(translate(fmt, 'pack')) do
    if type(item) == 'table' then
      local s = select(argi, ...)
      if type(s) ~= 'string' and type(s) ~= 'number' then
        error("bad argument #" .. (argi + 1) .. " to 'pack' (string expected, got " .. (s == nil and 'no value' or type(s)) .. ")", 2)
      end
      s = tostring(s)
      local n = item.c == 0 and #s or item.c
      if #s < n then error("bad argument #" .. (argi + 1) .. " to 'pack' (string too short)", 2) end
      parts[#parts + 1] = s:sub(1, n)
      argi = argi + 1
    elseif item == '<' or item == '>' or item:sub(1, 1) == '!' then
      prefix = prefix .. item
    elseif item == 'x' then
      parts[#parts + 1] = '\0'
    else
      local k = item:sub(1, 1)
      local v = select(argi, ...)
      if k == 'z' then
        if type(v) ~= 'string' and type(v) ~= 'number' then
          error("bad argument #" .. (argi + 1) .. " to 'pack' (string expected, got " .. (v == nil and 'no value' or type(v)) .. ")", 2)
        end
        parts[#parts + 1] = spack(prefix .. 'z', tostring(v))
      elseif k == 'f' or k == 'd' then
        parts[#parts + 1] = spack(prefix .. item, tonumber(v) or error("bad argument #" .. (argi + 1) .. " to 'pack' (number expected, got " .. (v == nil and 'no value' or type(v)) .. ")", 2))
      else
        local n = int(v, 'pack', argi + 1)
        local size = #spack(prefix .. item, 0)
        if size < 8 then n = n & ((1 << (size * 8)) - 1) end
        parts[#parts + 1] = spack(prefix .. (k == 'i' and 'I' .. size or k == 'b' and 'B' or k == 'h' and 'H' or k == 'l' and 'L' or item), n)
      end
      argi = argi + 1
    end
  end
  return table.concat(parts)
end

struct.unpack = function(fmt, data, pos)
  if type(data) ~= 'string' then
    error("bad argument #2 to 'unpack' (string expected, got " .. (data == nil and 'no value' or type(data)) .. ")", 2)
  end
  pos = pos and int(pos, 'unpack', 3) or 1
  local values, prefix, last = {}, '', nil
  for _, item in ipairs(translate(fmt, 'unpack')) do
    if type(item) == 'table' then
      local n = item.c
      if n == 0 then
        if type(last) ~= 'number' then error("format 'c0' needs a previous size", 2) end
        n = last
        values[#values] = nil
      end
      if pos + n - 1 > #data then error("bad argument #2 to 'unpack' (data string too short)", 2) end
      last = data:sub(pos, pos + n - 1)
      values[#values + 1] = last
      pos = pos + n
    elseif item == '<' or item == '>' or item:sub(1, 1) == '!' then
      prefix = prefix .. item
    elseif item == 'x' then
      pos = pos + 1
    else
      local ok, v, nextpos = pcall(sunpack, prefix .. item, data, pos)
      if not ok then error("bad argument #2 to 'unpack' (data string too short)", 2) end
      values[#values + 1] = v
      last = v
      pos = nextpos
    end
  end
  values[#values + 1] = pos
  return table.unpack(values)
end

struct.size = function(fmt)
  local total = 0
  local prefix = ''
  for _, item in ipairs(translate(fmt, 'size')) do
    if type(item) == 'table' then total = total + item.c
    elseif item == '<' or item == '>' or item:sub(1, 1) == '!' then prefix = prefix .. item
    elseif item == 'z' then error("options 'c0' - 's' have undefined sizes", 2)
    elseif item == 'x' then total = total + 1
    else total = total + #spack(prefix .. item, 0) end
  end
  return total
end
_G.struct = struct
