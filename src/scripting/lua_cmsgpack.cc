// The `cmsgpack` library Redis scripts have (lua-cmsgpack 0.4.0 as Redis bundles it;
// Debian has no package): cmsgpack.pack(...), cmsgpack.unpack(s),
// cmsgpack.unpack_one(s [, offset]), cmsgpack.unpack_limit(s, limit [, offset]). Written
// for Ferrite to produce and accept the same bytes as Redis's copy:
//
//   - numbers equal to an int64 are encoded as the smallest MessagePack integer, others as
//     float 32 when that is exact, else float 64;
//   - strings as fixstr / str8 (0xd9) / str16 / str32 (there is no bin type);
//   - a table whose keys are exactly 1..n is an array, any other a map; tables nested
//     deeper than 16 levels (a circular reference) are encoded as nil;
//   - decoding knows nil, booleans, integers, floats, strings, arrays and maps; anything
//     else (bin, ext) is "Bad data format in input.", a truncated value "Missing bytes in
//     input.".

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <lua.hpp>
#include <string>

#include "scripting/lua_vm.h"

namespace ferrite::scripting {
namespace {

constexpr int kMaxNesting = 16;

void PutBe(std::string* b, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--) b->push_back(char((v >> (8 * i)) & 0xff));
}

void EncodeBytes(std::string* b, const char* s, size_t len) {
  if (len < 32) {
    b->push_back(char(0xa0 | len));
  } else if (len <= 0xff) {
    b->push_back(char(0xd9));
    PutBe(b, len, 1);
  } else if (len <= 0xffff) {
    b->push_back(char(0xda));
    PutBe(b, len, 2);
  } else {
    b->push_back(char(0xdb));
    PutBe(b, len & 0xffffffff, 4);
  }
  b->append(s, len);
}

void EncodeDouble(std::string* b, double d) {
  float f = float(d);
  if (d == double(f)) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    b->push_back(char(0xca));
    PutBe(b, bits, 4);
  } else {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    b->push_back(char(0xcb));
    PutBe(b, bits, 8);
  }
}

void EncodeInt(std::string* b, int64_t n) {
  if (n >= 0) {
    if (n <= 127) {
      b->push_back(char(n));
    } else if (n <= 0xff) {
      b->push_back(char(0xcc));
      PutBe(b, uint64_t(n), 1);
    } else if (n <= 0xffff) {
      b->push_back(char(0xcd));
      PutBe(b, uint64_t(n), 2);
    } else if (n <= 0xffffffffLL) {
      b->push_back(char(0xce));
      PutBe(b, uint64_t(n), 4);
    } else {
      b->push_back(char(0xcf));
      PutBe(b, uint64_t(n), 8);
    }
  } else {
    if (n >= -32) {
      b->push_back(char(int8_t(n)));
    } else if (n >= -128) {
      b->push_back(char(0xd0));
      PutBe(b, uint64_t(n), 1);
    } else if (n >= -32768) {
      b->push_back(char(0xd1));
      PutBe(b, uint64_t(n), 2);
    } else if (n >= -2147483648LL) {
      b->push_back(char(0xd2));
      PutBe(b, uint64_t(n), 4);
    } else {
      b->push_back(char(0xd3));
      PutBe(b, uint64_t(n), 8);
    }
  }
}

void EncodeHeader(std::string* b, uint64_t n, uint8_t fix, uint8_t c16, uint8_t c32) {
  if (n <= 15) {
    b->push_back(char(fix | n));
  } else if (n <= 65535) {
    b->push_back(char(c16));
    PutBe(b, n, 2);
  } else {
    b->push_back(char(c32));
    PutBe(b, n & 0xffffffff, 4);
  }
}

bool IsInt64Equivalent(double x) { return !std::isinf(x) && double(int64_t(x)) == x; }
bool IsIntEquivalent(double x) { return !std::isinf(x) && double(int(x)) == x; }

// Keys exactly 1..n (lua-cmsgpack's table_is_an_array).
bool TableIsArray(lua_State* L) {
  int top = lua_gettop(L);
  luaL_checkstack(L, 2, "in function table_is_an_array");
  int count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    lua_Number n;
    if (lua_type(L, -1) != LUA_TNUMBER || (n = lua_tonumber(L, -1)) <= 0 || !IsIntEquivalent(n)) {
      lua_settop(L, top);
      return false;
    }
    max = int(n) > max ? int(n) : max;
    count++;
  }
  lua_settop(L, top);
  return max == count;
}

void EncodeValue(lua_State* L, std::string* b, int level);

void EncodeTable(lua_State* L, std::string* b, int level) {
  if (TableIsArray(L)) {
    size_t len = lua_objlen(L, -1);
    EncodeHeader(b, len, 0x90, 0xdc, 0xdd);
    luaL_checkstack(L, 1, "in function mp_encode_lua_table_as_array");
    for (size_t j = 1; j <= len; j++) {
      lua_pushnumber(L, lua_Number(j));
      lua_gettable(L, -2);
      EncodeValue(L, b, level + 1);
    }
    return;
  }
  luaL_checkstack(L, 3, "in function mp_encode_lua_table_as_map");
  size_t len = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    len++;
  }
  EncodeHeader(b, len, 0x80, 0xde, 0xdf);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    EncodeValue(L, b, level + 1);  // key
    EncodeValue(L, b, level + 1);  // value
  }
}

// Encodes the value at the top of the stack and pops it.
void EncodeValue(lua_State* L, std::string* b, int level) {
  int t = lua_type(L, -1);
  if (t == LUA_TTABLE && level == kMaxNesting) t = LUA_TNIL;
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* s = lua_tolstring(L, -1, &len);
      EncodeBytes(b, s, len);
      break;
    }
    case LUA_TBOOLEAN:
      b->push_back(char(lua_toboolean(L, -1) ? 0xc3 : 0xc2));
      break;
    case LUA_TNUMBER: {
      lua_Number n = lua_tonumber(L, -1);
      if (IsInt64Equivalent(n))
        EncodeInt(b, int64_t(lua_tointeger(L, -1)));
      else
        EncodeDouble(b, n);
      break;
    }
    case LUA_TTABLE:
      EncodeTable(L, b, level);
      break;
    default:
      b->push_back(char(0xc0));
  }
  lua_pop(L, 1);
}

int Pack(lua_State* L) {
  int nargs = lua_gettop(L);
  if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  if (!lua_checkstack(L, nargs))
    return luaL_argerror(L, 0, "Too many arguments for MessagePack pack.");
  std::string buf;
  for (int i = 1; i <= nargs; i++) {
    luaL_checkstack(L, 1, "in function mp_check");
    lua_pushvalue(L, i);
    buf.clear();
    EncodeValue(L, &buf, 0);
    lua_pushlstring(L, buf.data(), buf.size());
  }
  lua_concat(L, nargs);
  return 1;
}

enum CurError { kNone = 0, kEof = 1, kBadFmt = 2 };
struct Cursor {
  const unsigned char* p;
  size_t left;
  int err = kNone;
  bool Need(size_t n) {
    if (left < n) {
      err = kEof;
      return false;
    }
    return true;
  }
  void Consume(size_t n) {
    p += n;
    left -= n;
  }
  uint64_t Be(size_t at, int bytes) const {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = (v << 8) | p[at + size_t(i)];
    return v;
  }
};

void Decode(lua_State* L, Cursor& c);

void DecodeArray(lua_State* L, Cursor& c, size_t len) {
  lua_newtable(L);
  luaL_checkstack(L, 1, "in function mp_decode_to_lua_array");
  int index = 1;
  while (len--) {
    lua_pushnumber(L, index++);
    Decode(L, c);
    if (c.err) return;
    lua_settable(L, -3);
  }
}

void DecodeMap(lua_State* L, Cursor& c, size_t len) {
  lua_newtable(L);
  while (len--) {
    Decode(L, c);
    if (c.err) return;
    Decode(L, c);
    if (c.err) return;
    lua_settable(L, -3);
  }
}

void PushString(lua_State* L, Cursor& c, size_t hdr, size_t len) {
  if (!c.Need(hdr + len)) return;
  lua_pushlstring(L, reinterpret_cast<const char*>(c.p + hdr), len);
  c.Consume(hdr + len);
}

void Decode(lua_State* L, Cursor& c) {
  if (!c.Need(1)) return;
  luaL_checkstack(L, 1, "too many return values at once; use unpack_one or unpack_limit instead.");
  unsigned char t = c.p[0];
  switch (t) {
    case 0xcc:
      if (!c.Need(2)) return;
      lua_pushinteger(L, lua_Integer(c.p[1]));
      c.Consume(2);
      return;
    case 0xd0:
      if (!c.Need(2)) return;
      lua_pushinteger(L, lua_Integer(int8_t(c.p[1])));
      c.Consume(2);
      return;
    case 0xcd:
      if (!c.Need(3)) return;
      lua_pushinteger(L, lua_Integer(c.Be(1, 2)));
      c.Consume(3);
      return;
    case 0xd1:
      if (!c.Need(3)) return;
      lua_pushinteger(L, lua_Integer(int16_t(c.Be(1, 2))));
      c.Consume(3);
      return;
    case 0xce:
      if (!c.Need(5)) return;
      lua_pushinteger(L, lua_Integer(c.Be(1, 4)));
      c.Consume(5);
      return;
    case 0xd2:
      if (!c.Need(5)) return;
      lua_pushinteger(L, lua_Integer(int32_t(uint32_t(c.Be(1, 4)))));
      c.Consume(5);
      return;
    case 0xcf:
      if (!c.Need(9)) return;
      lua_pushinteger(L, lua_Integer(c.Be(1, 8)));
      c.Consume(9);
      return;
    case 0xd3:
      if (!c.Need(9)) return;
      lua_pushnumber(L, lua_Number(int64_t(c.Be(1, 8))));
      c.Consume(9);
      return;
    case 0xc0:
      lua_pushnil(L);
      c.Consume(1);
      return;
    case 0xc3:
      lua_pushboolean(L, 1);
      c.Consume(1);
      return;
    case 0xc2:
      lua_pushboolean(L, 0);
      c.Consume(1);
      return;
    case 0xca: {
      if (!c.Need(5)) return;
      uint32_t bits = uint32_t(c.Be(1, 4));
      float f;
      memcpy(&f, &bits, 4);
      lua_pushnumber(L, f);
      c.Consume(5);
      return;
    }
    case 0xcb: {
      if (!c.Need(9)) return;
      uint64_t bits = c.Be(1, 8);
      double d;
      memcpy(&d, &bits, 8);
      lua_pushnumber(L, d);
      c.Consume(9);
      return;
    }
    case 0xd9:
      if (!c.Need(2)) return;
      PushString(L, c, 2, c.p[1]);
      return;
    case 0xda:
      if (!c.Need(3)) return;
      PushString(L, c, 3, size_t(c.Be(1, 2)));
      return;
    case 0xdb: {
      if (!c.Need(5)) return;
      size_t l = size_t(c.Be(1, 4));
      c.Consume(5);
      PushString(L, c, 0, l);
      return;
    }
    case 0xdc: {
      if (!c.Need(3)) return;
      size_t l = size_t(c.Be(1, 2));
      c.Consume(3);
      DecodeArray(L, c, l);
      return;
    }
    case 0xdd: {
      if (!c.Need(5)) return;
      size_t l = size_t(c.Be(1, 4));
      c.Consume(5);
      DecodeArray(L, c, l);
      return;
    }
    case 0xde: {
      if (!c.Need(3)) return;
      size_t l = size_t(c.Be(1, 2));
      c.Consume(3);
      DecodeMap(L, c, l);
      return;
    }
    case 0xdf: {
      if (!c.Need(5)) return;
      size_t l = size_t(c.Be(1, 4));
      c.Consume(5);
      DecodeMap(L, c, l);
      return;
    }
    default:
      if ((t & 0x80) == 0) {  // positive fixint
        lua_pushinteger(L, lua_Integer(t));
        c.Consume(1);
      } else if ((t & 0xe0) == 0xe0) {  // negative fixint
        lua_pushinteger(L, lua_Integer(int8_t(t)));
        c.Consume(1);
      } else if ((t & 0xe0) == 0xa0) {  // fixstr
        PushString(L, c, 1, t & 0x1f);
      } else if ((t & 0xf0) == 0x90) {  // fixarray
        c.Consume(1);
        DecodeArray(L, c, t & 0xf);
      } else if ((t & 0xf0) == 0x80) {  // fixmap
        c.Consume(1);
        DecodeMap(L, c, t & 0xf);
      } else {
        c.err = kBadFmt;
      }
  }
}

int UnpackFull(lua_State* L, lua_Integer limit, lua_Integer offset) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  bool all = !limit && !offset;
  if (offset < 0 || limit < 0)
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      int(offset), int(len));
  if (size_t(offset) > len)
    return luaL_error(L, "Start offset %d greater than input length %d.", int(offset), int(len));
  if (all) limit = INT_MAX;
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - size_t(offset)};
  int cnt = 0;
  for (; c.left > 0 && cnt < limit; cnt++) {
    Decode(L, c);
    if (c.err == kEof) return luaL_error(L, "Missing bytes in input.");
    if (c.err == kBadFmt) return luaL_error(L, "Bad data format in input.");
  }
  if (!all) {
    size_t next = len - c.left;
    luaL_checkstack(L, 1, "in function mp_unpack_full");
    lua_pushinteger(L, c.left == 0 ? -1 : lua_Integer(next));
    lua_insert(L, 2);
    cnt++;
  }
  return cnt;
}

int Unpack(lua_State* L) { return UnpackFull(L, 0, 0); }

int UnpackOne(lua_State* L) {
  lua_Integer offset = luaL_optinteger(L, 2, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, 1, offset);
}

int UnpackLimit(lua_State* L) {
  lua_Integer limit = luaL_checkinteger(L, 2);
  lua_Integer offset = luaL_optinteger(L, 3, 0);
  lua_pop(L, lua_gettop(L) - 1);
  return UnpackFull(L, limit, offset);
}

}  // namespace

int OpenCmsgpack(lua_State* L) {
  lua_newtable(L);
  const luaL_Reg funcs[] = {
      {"pack", Pack}, {"unpack", Unpack}, {"unpack_one", UnpackOne}, {"unpack_limit", UnpackLimit}};
  for (const auto& f : funcs) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, -2, f.name);
  }
  lua_pushliteral(L, "cmsgpack");
  lua_setfield(L, -2, "_NAME");
  lua_pushliteral(L, "lua-cmsgpack 0.4.0");
  lua_setfield(L, -2, "_VERSION");
  lua_pushliteral(L, "Copyright (C) 2012, Salvatore Sanfilippo");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "MessagePack C implementation for Lua");
  lua_setfield(L, -2, "_DESCRIPTION");
  lua_pushvalue(L, -1);
  lua_setglobal(L, "cmsgpack");
  return 1;
}

}  // namespace ferrite::scripting
