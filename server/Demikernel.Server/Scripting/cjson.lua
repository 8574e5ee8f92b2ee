-- lua-cjson 2.1 as redis-server ships it (encode, decode, null, and the configuration functions), in Lua.
-- Numbers are written with "%.14g"; strings escape ", \, /, control characters and DEL; a table whose keys are
-- 1..n (n > 0) is an array, an excessively sparse one is an error, anything else an object (an empty table is {}).
local native = ...
local pcall = pcall
local type, error, tostring, format, byte, char, sub, find, concat, mtype, floor, huge =
      type, error, tostring, string.format, string.byte, string.char, string.sub, string.find, table.concat, math.type, math.floor, math.huge
local null = native.null

local cfg = {
  sparse_convert = false, sparse_ratio = 2, sparse_safe = 10,
  encode_max_depth = 1000, decode_max_depth = 1000, precision = 14,
  encode_invalid = false, decode_invalid = true, keep_buffer = true,
}

local escapes = {}
for i = 0, 31 do escapes[char(i)] = format('\\u%04x', i) end
escapes['\b'], escapes['\f'], escapes['\n'], escapes['\r'], escapes['\t'] = '\\b', '\\f', '\\n', '\\r', '\\t'
escapes['"'], escapes['\\'], escapes['/'], escapes['\127'] = '\\"', '\\\\', '\\/', '\\u007f'

local function encode_string(s, out)
  out[#out + 1] = '"' .. s:gsub('[%c"\\/\127]', escapes) .. '"'
end

local function encode_number(n, out)
  if n ~= n or n == huge or n == -huge then
    if not cfg.encode_invalid then error('Cannot serialise number: must not be NaN or Inf', 0) end
    if n ~= n then out[#out + 1] = 'nan' else out[#out + 1] = n > 0 and 'inf' or '-inf' end
    return
  end
  out[#out + 1] = format('%.' .. cfg.precision .. 'g', n + 0.0)
end

local encode_value
local function array_length(t)
  local max, items = 0, 0
  for k in next, t do
    if type(k) == 'number' and k >= 1 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      return -1
    end
  end
  if cfg.sparse_ratio > 0 and max > items * cfg.sparse_ratio and max > cfg.sparse_safe then
    if not cfg.sparse_convert then error('Cannot serialise table: excessively sparse array', 0) end
    return -1
  end
  return floor(max)
end

encode_value = function(v, out, depth)
  local t = type(v)
  if t == 'string' then encode_string(v, out)
  elseif t == 'number' then encode_number(v, out)
  elseif t == 'boolean' then out[#out + 1] = v and 'true' or 'false'
  elseif t == 'nil' or v == null then out[#out + 1] = 'null'
  elseif t == 'table' then
    depth = depth + 1
    if depth > cfg.encode_max_depth then error('Cannot serialise, excessive nesting (' .. depth .. ')', 0) end
    local n = array_length(v)
    if n > 0 then
      out[#out + 1] = '['
      for i = 1, n do
        if i > 1 then out[#out + 1] = ',' end
        encode_value(v[i], out, depth)
      end
      out[#out + 1] = ']'
    else
      out[#out + 1] = '{'
      local first = true
      for k, val in next, v do
        if not first then out[#out + 1] = ',' end
        first = false
        local kt = type(k)
        if kt == 'string' then encode_string(k, out)
        elseif kt == 'number' then
          out[#out + 1] = '"'
          encode_number(k, out)
          out[#out + 1] = '"'
        else
          error('Cannot serialise table: table key must be a number or string', 0)
        end
        out[#out + 1] = ':'
        encode_value(val, out, depth)
      end
      out[#out + 1] = '}'
    end
  else
    error('Cannot serialise ' .. t .. ': type not supported', 0)
  end
end

-- ---- decoding ----
local function decode_error(expected, found, pos)
  error('Expected ' .. expected .. ' but found ' .. found .. ' at character ' .. pos, 0)
end

local function utf8_char(cp)
  if cp < 0x80 then return char(cp)
  elseif cp < 0x800 then return char(0xC0 | (cp >> 6), 0x80 | (cp & 0x3F))
  elseif cp < 0x10000 then return char(0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F))
  else return char(0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)) end
end

local decode_value
local function skip(s, pos)
  return find(s, '[^ \t\r\n]', pos) or #s + 1
end

local function token_name(s, pos)
  if pos > #s then return 'T_END' end
  local c = sub(s, pos, pos)
  if c == '{' then return 'T_OBJ_BEGIN' elseif c == '}' then return 'T_OBJ_END'
  elseif c == '[' then return 'T_ARR_BEGIN' elseif c == ']' then return 'T_ARR_END'
  elseif c == ':' then return 'T_COLON' elseif c == ',' then return 'T_COMMA'
  elseif c == '"' then return 'T_STRING' end
  return 'invalid token'
end

local function decode_string(s, pos)
  local parts, i = {}, pos + 1
  while true do
    local j = find(s, '["\\%c]', i)
    if not j then decode_error('value', 'invalid token', pos) end
    local c = sub(s, j, j)
    if c ~= '"' and c ~= '\\' then decode_error('value', 'invalid token', pos) end
    parts[#parts + 1] = sub(s, i, j - 1)
    if c == '"' then return concat(parts), j + 1 end
    local e = sub(s, j + 1, j + 1)
    if e == 'u' then
      local hex = sub(s, j + 2, j + 5)
      if not hex:match('^%x%x%x%x$') then decode_error('value', 'invalid token', pos) end
      local cp = tonumber(hex, 16)
      local len = 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local low = sub(s, j + 6, j + 11):match('^\\u(%x%x%x%x)$')
        local lo = low and tonumber(low, 16)
        if not lo or lo < 0xDC00 or lo > 0xDFFF then decode_error('value', 'invalid token', pos) end
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        len = 12
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        decode_error('value', 'invalid token', pos)
      end
      parts[#parts + 1] = utf8_char(cp)
      i = j + len
    else
      local map = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
      local r = map[e]
      if not r then decode_error('value', 'invalid token', pos) end
      parts[#parts + 1] = r
      i = j + 2
    end
  end
end

decode_value = function(s, pos, depth)
  pos = skip(s, pos)
  local c = sub(s, pos, pos)
  if c == '"' then return decode_string(s, pos)
  elseif c == '{' then
    depth = depth + 1
    if depth > cfg.decode_max_depth then error('Found too many nested data structures (' .. depth .. ') at character ' .. pos, 0) end
    local t = {}
    pos = skip(s, pos + 1)
    if sub(s, pos, pos) == '}' then return t, pos + 1 end
    while true do
      pos = skip(s, pos)
      if sub(s, pos, pos) ~= '"' then decode_error('object key string', token_name(s, pos), pos) end
      local k
      k, pos = decode_string(s, pos)
      pos = skip(s, pos)
      if sub(s, pos, pos) ~= ':' then decode_error('colon', token_name(s, pos), pos) end
      local v
      v, pos = decode_value(s, pos + 1, depth)
      t[k] = v
      pos = skip(s, pos)
      local d = sub(s, pos, pos)
      if d == '}' then return t, pos + 1 end
      if d ~= ',' then decode_error('comma or object end', token_name(s, pos), pos) end
      pos = pos + 1
    end
  elseif c == '[' then
    depth = depth + 1
    if depth > cfg.decode_max_depth then error('Found too many nested data structures (' .. depth .. ') at character ' .. pos, 0) end
    local t, n = {}, 0
    pos = skip(s, pos + 1)
    if sub(s, pos, pos) == ']' then return t, pos + 1 end
    while true do
      local v
      v, pos = decode_value(s, pos, depth)
      n = n + 1
      t[n] = v
      pos = skip(s, pos)
      local d = sub(s, pos, pos)
      if d == ']' then return t, pos + 1 end
      if d ~= ',' then decode_error('comma or array end', token_name(s, pos), pos) end
      pos = pos + 1
    end
  elseif sub(s, pos, pos + 3) == 'true' then return true, pos + 4
  elseif sub(s, pos, pos + 4) == 'false' then return false, pos + 5
  elseif sub(s, pos, pos + 3) == 'null' then return null, pos + 4
  else
    local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
    if num and #num > 0 and num ~= '-' then
      local v = tonumber(num)
      if v == nil then decode_error('value', 'invalid number', pos) end
      if mtype(v) == 'float' and floor(v) == v and not find(num, '[.eE]') then v = math.tointeger(v) or v end
      return v, pos + #num
    end
    if cfg.decode_invalid then
      local word = s:match('^-?[iI][nN][fF]', pos) or s:match('^-?[nN][aA][nN]', pos)
      if word then
        local v = word:lower():find('nan') and (0 / 0) or (word:sub(1, 1) == '-' and -huge or huge)
        return v, pos + #word
      end
    end
    decode_error('value', pos > #s and 'T_END' or 'invalid token', pos)
  end
end

local cjson = { null = null, _NAME = 'cjson', _VERSION = '2.1.0' }
cjson.encode = function(...)
  if select('#', ...) ~= 1 then error('bad argument #1 to \'encode\' (expected 1 argument)', 2) end
  local out = {}
  local ok, e = pcall(encode_value, (...), out, 0)
  if not ok then error(e, 2) end
  return concat(out)
end
cjson.decode = function(...)
  if select('#', ...) ~= 1 then error('bad argument #1 to \'decode\' (expected 1 argument)', 2) end
  local s = ...
  if type(s) ~= 'string' and type(s) ~= 'number' then
    error("bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")", 2)
  end
  s = tostring(s)
  local ok, v, pos = pcall(decode_value, s, 1, 0)
  if not ok then error(v, 2) end
  pos = skip(s, pos)
  if pos <= #s then
    error('Expected the end but found ' .. token_name(s, pos) .. ' at character ' .. pos, 2)
  end
  return v
end
local function flag(name)
  return function(v)
    if v ~= nil then cfg[name] = (v == true or v == 'on' or v == 1) end
    return cfg[name]
  end
end
cjson.encode_invalid_numbers = flag('encode_invalid')
cjson.decode_invalid_numbers = flag('decode_invalid')
cjson.encode_keep_buffer = flag('keep_buffer')
cjson.encode_max_depth = function(n) if n then cfg.encode_max_depth = n end return cfg.encode_max_depth end
cjson.decode_max_depth = function(n) if n then cfg.decode_max_depth = n end return cfg.decode_max_depth end
cjson.encode_number_precision = function(n)
  if n then
    if n < 1 or n > 14 then error("bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)", 2) end
    cfg.precision = n
  end
  return cfg.precision
end
cjson.encode_sparse_array = function(convert, ratio, safe)
  if convert ~= nil then cfg.sparse_convert = convert == true or convert == 'on' end
  if ratio then cfg.sparse_ratio = ratio end
  if safe then cfg.sparse_safe = safe end
  return cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe
end
cjson.new = function() return cjson end
_G.cjson = cjson
