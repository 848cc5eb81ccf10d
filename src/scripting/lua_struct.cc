// The `struct` library Redis scripts have (Roberto Ierusalimschy's struct 0.2 as Redis
// bundles it; Debian has no package): struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]),
// struct.size(fmt). Written for Ferrite to behave as Redis's copy, byte for byte:
//
//   >  <  !n     big / little endian, maximum alignment n (default: the native one)
//   b B h H l L  signed / unsigned char, short, long      T  size_t
//   i[n] I[n]    signed / unsigned int of n bytes (default sizeof(int), at most 32)
//   f d          float, double        x  one zero byte
//   c[n]         n chars (pack: 0 = the whole string; unpack: 0 = the previous number)
//   s            zero-terminated string
//
// Integers are converted through a 64-bit long as Redis's (bytes past the 8th are zero).

#include <cctype>
#include <climits>
#include <cstdint>
#include <cstring>
#include <lua.hpp>

#include "scripting/lua_vm.h"

namespace ferrite::scripting {
namespace {

constexpr int kMaxIntSize = 32;
struct AlignProbe {
  char c;
  double d;
};
constexpr size_t kPadding = sizeof(AlignProbe) - sizeof(double);
constexpr int kMaxAlign = int(kPadding > sizeof(int) ? kPadding : sizeof(int));
enum Endian { kBig = 0, kLittle = 1 };

bool NativeLittle() {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

struct Header {
  int endian;
  int align;
};

void Defaults(Header* h) {
  h->endian = NativeLittle() ? kLittle : kBig;
  h->align = 1;
}

int GetNum(lua_State* L, const char** fmt, int df) {
  if (!isdigit(static_cast<unsigned char>(**fmt))) return df;
  int a = 0;
  do {
    if (a > (INT_MAX / 10) || a * 10 > (INT_MAX - (**fmt - '0')))
      luaL_error(L, "integral size overflow");
    a = a * 10 + *((*fmt)++) - '0';
  } while (isdigit(static_cast<unsigned char>(**fmt)));
  return a;
}

size_t OptSize(lua_State* L, char opt, const char** fmt) {
  switch (opt) {
    case 'B':
    case 'b':
      return sizeof(char);
    case 'H':
    case 'h':
      return sizeof(short);
    case 'L':
    case 'l':
      return sizeof(long);
    case 'T':
      return sizeof(size_t);
    case 'f':
      return sizeof(float);
    case 'd':
      return sizeof(double);
    case 'x':
      return 1;
    case 'c':
      return size_t(GetNum(L, fmt, 1));
    case 'i':
    case 'I': {
      int sz = GetNum(L, fmt, int(sizeof(int)));
      if (sz > kMaxIntSize)
        luaL_error(L, "integral size %d is larger than limit of %d", sz, kMaxIntSize);
      return size_t(sz);
    }
    default:
      return 0;
  }
}

size_t ToAlign(size_t len, const Header& h, int opt, size_t size) {
  if (size == 0 || opt == 'c') return 0;
  if (size > size_t(h.align)) size = size_t(h.align);
  return (size - (len & (size - 1))) & (size - 1);
}

void Control(lua_State* L, int opt, const char** fmt, Header* h) {
  switch (opt) {
    case ' ':
      return;
    case '>':
      h->endian = kBig;
      return;
    case '<':
      h->endian = kLittle;
      return;
    case '!': {
      int a = GetNum(L, fmt, kMaxAlign);
      if (!(a > 0 && (a & (a - 1)) == 0)) luaL_error(L, "alignment %d is not a power of 2", a);
      h->align = a;
      return;
    }
    default: {
      const char* msg = lua_pushfstring(L, "invalid format option '%c'", opt);
      luaL_argerror(L, 1, msg);
    }
  }
}

// Bytes of a native value in the requested byte order.
void Order(char* b, int size, int endian) {
  int native = NativeLittle() ? kLittle : kBig;
  if (endian == native) return;
  for (int i = 0, j = size - 1; i < j; i++, j--) std::swap(b[i], b[j]);
}

int Pack(lua_State* L) {
  luaL_Buffer b;
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  Defaults(&h);
  int arg = 2;
  size_t total = 0;
  lua_pushnil(L);  // separates the arguments from the buffer's stack use
  luaL_buffinit(L, &b);
  while (*fmt != '\0') {
    int opt = *fmt++;
    size_t size = OptSize(L, char(opt), &fmt);
    size_t pad = ToAlign(total, h, opt, size);
    total += pad;
    while (pad-- > 0) luaL_addchar(&b, '\0');
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I': {
        lua_Number n = luaL_checknumber(L, arg++);
        uint64_t v = n < 0 ? uint64_t(int64_t(n)) : uint64_t(n);
        char buf[kMaxIntSize];
        for (size_t i = 0; i < size; i++) {
          size_t at = h.endian == kLittle ? i : size - 1 - i;
          buf[at] = char(i < 8 ? (v >> (8 * i)) & 0xff : 0);
        }
        luaL_addlstring(&b, buf, size);
        break;
      }
      case 'x':
        luaL_addchar(&b, '\0');
        break;
      case 'f': {
        float f = float(luaL_checknumber(L, arg++));
        char buf[sizeof(float)];
        memcpy(buf, &f, sizeof(f));
        Order(buf, int(size), h.endian);
        luaL_addlstring(&b, buf, size);
        break;
      }
      case 'd': {
        double d = luaL_checknumber(L, arg++);
        char buf[sizeof(double)];
        memcpy(buf, &d, sizeof(d));
        Order(buf, int(size), h.endian);
        luaL_addlstring(&b, buf, size);
        break;
      }
      case 'c':
      case 's': {
        size_t l;
        const char* s = luaL_checklstring(L, arg++, &l);
        if (size == 0) size = l;
        luaL_argcheck(L, l >= size, arg, "string too short");
        luaL_addlstring(&b, s, size);
        if (opt == 's') {
          luaL_addchar(&b, '\0');
          size++;
        }
        break;
      }
      default:
        Control(L, opt, &fmt, &h);
    }
    total += size;
  }
  luaL_pushresult(&b);
  return 1;
}

lua_Number GetInteger(const char* buf, int endian, bool is_signed, size_t size) {
  uint64_t l = 0;
  for (size_t i = 0; i < size; i++) {
    size_t at = endian == kBig ? i : size - 1 - i;
    l = (l << 8) | uint64_t(static_cast<unsigned char>(buf[at]));
  }
  if (!is_signed) return lua_Number(l);
  uint64_t mask = size * 8 - 1 < 64 ? ~uint64_t(0) << (size * 8 - 1) : 0;
  if (l & mask) l |= mask;
  return lua_Number(int64_t(l));
}

int Unpack(lua_State* L) {
  Header h;
  const char* fmt = luaL_checkstring(L, 1);
  size_t ld;
  const char* data = luaL_checklstring(L, 2, &ld);
  size_t pos = size_t(luaL_optinteger(L, 3, 1));
  luaL_argcheck(L, pos > 0, 3, "offset must be 1 or greater");
  pos--;
  int n = 0;
  Defaults(&h);
  while (*fmt) {
    int opt = *fmt++;
    size_t size = OptSize(L, char(opt), &fmt);
    pos += ToAlign(pos, h, opt, size);
    luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b':
      case 'B':
      case 'h':
      case 'H':
      case 'l':
      case 'L':
      case 'T':
      case 'i':
      case 'I':
        lua_pushnumber(L, GetInteger(data + pos, h.endian, islower(opt), size));
        n++;
        break;
      case 'x':
        break;
      case 'f': {
        char buf[sizeof(float)];
        memcpy(buf, data + pos, size);
        Order(buf, int(sizeof(float)), h.endian);
        float f;
        memcpy(&f, buf, sizeof(f));
        lua_pushnumber(L, f);
        n++;
        break;
      }
      case 'd': {
        char buf[sizeof(double)];
        memcpy(buf, data + pos, size);
        Order(buf, int(sizeof(double)), h.endian);
        double d;
        memcpy(&d, buf, sizeof(d));
        lua_pushnumber(L, d);
        n++;
        break;
      }
      case 'c': {
        if (size == 0) {
          if (n == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          size = size_t(lua_tonumber(L, -1));
          lua_pop(L, 1);
          n--;
          luaL_argcheck(L, size <= ld && pos <= ld - size, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        n++;
        break;
      }
      case 's': {
        const char* e = static_cast<const char*>(memchr(data + pos, '\0', ld - pos));
        if (!e) luaL_error(L, "unfinished string in data");
        size = size_t(e - (data + pos)) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        n++;
        break;
      }
      default:
        Control(L, opt, &fmt, &h);
    }
    pos += size;
  }
  lua_pushinteger(L, lua_Integer(pos + 1));
  return n + 1;
}

int Size(lua_State* L) {
  Header h;
  const char* fmt = luaL_checkstring(L, 1);
  size_t pos = 0;
  Defaults(&h);
  while (*fmt) {
    int opt = *fmt++;
    size_t size = OptSize(L, char(opt), &fmt);
    pos += ToAlign(pos, h, opt, size);
    if (opt == 's')
      luaL_argerror(L, 1, "option 's' has no fixed size");
    else if (opt == 'c' && size == 0)
      luaL_argerror(L, 1, "option 'c0' has no fixed size");
    if (!isalnum(opt)) Control(L, opt, &fmt, &h);
    pos += size;
  }
  lua_pushinteger(L, lua_Integer(pos));
  return 1;
}

const luaL_Reg kFuncs[] = {{"pack", Pack}, {"unpack", Unpack}, {"size", Size}, {nullptr, nullptr}};

}  // namespace

int OpenStruct(lua_State* L) {
  luaL_register(L, "struct", kFuncs);
  return 1;
}

}  // namespace ferrite::scripting
