/** The Redis backend's Lua scripts (see redis.ts): pruning, the read of a series (resolving inner parts), middle states. */

// Deletes tile fields below per-level index limits (ARGV[level + 1]); run inside the write's MULTI.
export const PRUNE_TILES = `
local fields = redis.call('HKEYS', KEYS[1])
local del = {}
for _, f in ipairs(fields) do
  local c = string.find(f, ':', 1, true)
  local level = c and tonumber(string.sub(f, 1, c - 1))
  if level then
    local limit = tonumber(ARGV[level + 1])
    local idx = tonumber(string.sub(f, c + 1))
    if limit and idx and idx < limit then del[#del + 1] = f end
  end
end
for i = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, i, math.min(i + 999, #del))) end
return #del`;

/**
 * The engine's `cover` (src/online/time.ts) in Lua, as READ_SERIES uses it: appends the tile fields
 * ('<level>:<index>', each once: `seen`) and the raw ranges (flat from, to pairs) that exactly cover
 * [from, to) to `tfields` and `rlist`, using tile widths `iw` and coarse tiles below `coarseTo` only. Its
 * upvalues are declared by the script around it. Checked against `cover` on the golden cases of
 * test/online/cover-golden.test.ts.
 */
export const COVER_LUA = `local function coverFrom(from, to, level)
  if from >= to then return end
  if level < 0 then rlist[#rlist + 1] = from; rlist[#rlist + 1] = to; return end
  local g = iw[level + 1]
  local a = math.ceil(from / g)
  local b = math.floor((level == 0 and to or math.min(to, coarseTo)) / g)
  if a >= b then coverFrom(from, to, level - 1); return end
  coverFrom(from, a * g, level - 1)
  for i = a, b - 1 do
    local f = string.format('%d:%d', level, i)
    if not seen[f] then seen[f] = true; tfields[#tfields + 1] = f end
  end
  coverFrom(b * g, to, level - 1)
end
`;

/**
 * Runs COVER_LUA alone (tests: the golden cases). ARGV: tile widths (comma-separated), coarseTo ('' for
 * none), then (from, to, maxLevel) per range. Reply: per range, its tile fields and its raw bounds (as %.17g text).
 */
export const COVER_PROBE = `
local function csv(text)
  local t = {}
  for w in string.gmatch(text, '[^,]+') do t[#t + 1] = tonumber(w) end
  return t
end
local iw = csv(ARGV[1])
local coarseTo = -math.huge
if ARGV[2] ~= '' then coarseTo = tonumber(ARGV[2]) end
local seen, tfields, rlist
${COVER_LUA}
local out = {}
for p = 3, #ARGV, 3 do
  seen, tfields, rlist = {}, {}, {}
  coverFrom(tonumber(ARGV[p]), tonumber(ARGV[p + 1]), tonumber(ARGV[p + 2]))
  local raw = {}
  for i = 1, #rlist do raw[i] = string.format('%.17g', rlist[i]) end
  out[#out + 1] = { tfields, raw }
end
return out`;

// One series' read in one command. ARGV: nFields, fields..., nRanges, (min, max)..., lateMin, lateMax (empty: no
// late range), stub widths (empty: no stub events), stub JSON prefix; optionally 'inner' and an InnerSpec (below).
// The reply: the HMGET values, one list per raw range, the late list, one list per stub field in field order (a
// stub tile's value starts with the prefix; tile fields are '<level>:<index>'), then the resolved inner part.
export const READ_SERIES = `
local function readPart(out, fields, ranges, lateMin, lateMax, widths, prefix)
  local values = redis.call('HMGET', KEYS[1], unpack(fields))
  out[#out + 1] = values
  for i = 1, #ranges, 2 do out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[2], ranges[i], ranges[i + 1]) end
  if lateMin then out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[3], lateMin, lateMax) end
  if widths then
    for i = 1, #fields do
      local v = values[i]
      local c = string.find(fields[i], ':', 1, true)
      if c and v and string.sub(v, 1, #prefix) == prefix then
        local width = widths[tonumber(string.sub(fields[i], 1, c - 1)) + 1]
        local idx = tonumber(string.sub(fields[i], c + 1))
        out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[2], string.format('%.17g', idx * width), '(' .. string.format('%.17g', (idx + 1) * width))
      end
    end
  end
end
local function csv(text)
  local t = {}
  for w in string.gmatch(text, '[^,]+') do t[#t + 1] = tonumber(w) end
  return t
end
local p = 1
local function take(n)
  local t = {}
  for i = 1, n do t[i] = ARGV[p + i - 1] end
  p = p + n
  return t
end
local fields = take(tonumber(take(1)[1]))
local ranges = take(2 * tonumber(take(1)[1]))
local lateMin, lateMax
if ARGV[p] ~= '' then lateMin, lateMax = ARGV[p], ARGV[p + 1] end
p = p + 2
local widths
if ARGV[p] ~= '' then widths = csv(ARGV[p]) end
local prefix = ARGV[p + 1]
p = p + 2
local out = {}
readPart(out, fields, ranges, lateMin, lateMax, widths, prefix)
local metaText = out[1][1]
if ARGV[p] ~= 'inner' or not metaText then return out end

-- The inner parts (InnerSpec), resolved against the meta just read as the engine's innerRequest does: ARGV
-- 'inner', the day in µs, tile widths, stub prefix, nChains, per chain H, nStarts, (window, start ('L':
-- lifetime)) per start, base. A link whose 16- and 64-day tiles have a middle state reads it instead of them.
local meta = cjson.decode(metaText)
local function opt(x) if x == nil or x == cjson.null then return nil end return x end
local lo, sealed, rawFrom = opt(meta.lo), opt(meta.sealedTo), opt(meta.rawFrom)
local epoch = opt(meta.coarseEpoch) or 0
local MIDDLE = tonumber(ARGV[p + 5])
local day = tonumber(ARGV[p + 1])
local iw = csv(ARGV[p + 2])
local iprefix = ARGV[p + 3]
local nc = tonumber(ARGV[p + 4])
p = p + 6
local coarseTo = sealed or -math.huge
local seen, tfields, rlist = {}, {}, {}
${COVER_LUA}local lateFrom, lateTo = math.huge, -math.huge
for _ = 1, nc do
  local H = tonumber(ARGV[p])
  local ns = tonumber(ARGV[p + 1])
  p = p + 2
  local floorLo = H
  if lo then floorLo = math.floor(lo / day) * day end
  local prev = H
  for _ = 1, ns do
    local window = ARGV[p]
    local start
    if ARGV[p + 1] == 'L' then start = rawFrom or -math.huge else start = tonumber(ARGV[p + 1]) end
    p = p + 2
    local from = math.min(prev, math.max(start, floorLo))
    if from == -math.huge then return out end -- nothing to bound it by: the engine reads it itself
    local W = iw[MIDDLE + 1]
    local c0 = math.ceil(from / W)
    local c1 = math.floor(math.min(prev, coarseTo) / W)
    local mf = c1 - c0 >= 2 and string.format('m:%s:%d:%d:%d', window, c0, c1, epoch) or nil
    if mf and redis.call('HEXISTS', KEYS[1], mf) == 1 then
      tfields[#tfields + 1] = mf
      coverFrom(from, c0 * W, MIDDLE - 1)
      coverFrom(c1 * W, prev, MIDDLE - 1)
    else
      coverFrom(from, prev, #iw - 1)
    end
    prev = from
  end
  if prev < H then lateFrom = math.min(lateFrom, prev); lateTo = math.max(lateTo, H) end
end
local base = ARGV[p] == '1'
local ifields = { 'meta' }
if base then ifields[2] = 'base' end
for i = 1, #tfields do ifields[#ifields + 1] = tfields[i] end
local iranges, echo = {}, {}
for i = 1, #rlist, 2 do
  echo[i] = string.format('%.17g', rlist[i])
  echo[i + 1] = string.format('%.17g', rlist[i + 1])
  iranges[i] = echo[i]
  iranges[i + 1] = '(' .. echo[i + 1]
end
local late = { '', '' }
local lmin, lmax
if lateFrom < lateTo then
  late = { string.format('%.17g', lateFrom), string.format('%.17g', lateTo) }
  lmin, lmax = late[1], '(' .. late[2]
end
local inner = {}
readPart(inner, ifields, iranges, lmin, lmax, iw, iprefix)
out[#out + 1] = { tfields, echo, late, base and 1 or 0, inner }
return out`;

// Keeps middle states written back by a reader (ARGV: n, then window, field, value per state) if the series
// still exists, and drops the series' other middles of those windows (older spans or epochs).
export const PUT_MIDDLES = `
if redis.call('HEXISTS', KEYS[1], 'meta') == 0 then return 0 end
local n = tonumber(ARGV[1])
local keep, windows = {}, {}
for i = 0, n - 1 do
  local f = ARGV[3 + 3 * i]
  redis.call('HSET', KEYS[1], f, ARGV[4 + 3 * i])
  keep[f] = true
  windows['m:' .. ARGV[2 + 3 * i] .. ':'] = true
end
local del = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 2) == 'm:' and not keep[f] then
    local c = string.find(f, ':', 3, true)
    if c and windows[string.sub(f, 1, c)] then del[#del + 1] = f end
  end
end
for i = 1, #del, 1000 do redis.call('HDEL', KEYS[1], unpack(del, i, math.min(i + 999, #del))) end
return n`;
