#include "base/strutil.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ferrite {

bool ParseUint64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  if (s == "0") {
    if (neg) return false;  // "-0" is not canonical
    *out = 0;
    return true;
  }
  uint64_t v;
  if (!ParseUint64(s, &v)) return false;
  if (neg) {
    if (v > uint64_t(INT64_MAX) + 1) return false;
    *out = v == uint64_t(INT64_MAX) + 1 ? INT64_MIN : -int64_t(v);
  } else {
    if (v > uint64_t(INT64_MAX)) return false;
    *out = int64_t(v);
  }
  return true;
}

bool ParseDouble(std::string_view s, double* out, bool allow_inf) {
  if (s.empty() || s.size() > 5000) return false;
  if (isspace(static_cast<unsigned char>(s[0]))) return false;
  char buf[5001];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + s.size()) return false;
  if (std::isnan(v)) return false;
  // As Redis's string2d: an overflow (±HUGE_VAL) or an underflow to zero is an error; a
  // subnormal result (ERANGE, but neither) is a valid number.
  if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;
  if (std::isinf(v) && !allow_inf) return false;
  *out = v;
  return true;
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() > 5000) return false;
  if (isspace(static_cast<unsigned char>(s[0]))) return false;
  char buf[5001];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  char* end;
  errno = 0;
  long double v = strtold(buf, &end);
  if (end != buf + s.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (std::isinf(v) || v == 0)) return false;  // as Redis's string2ld
  *out = v;
  return true;
}

size_t FormatInt64To(int64_t v, char* buf) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  do {
    tmp[n++] = char('0' + u % 10);
    u /= 10;
  } while (u);
  size_t len = 0;
  if (v < 0) buf[len++] = '-';
  while (n) buf[len++] = tmp[--n];
  return len;
}

std::string FormatInt64(int64_t v) {
  char buf[24];
  return std::string(buf, FormatInt64To(v, buf));
}

std::string FormatLongDoubleHuman(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[5600];
  int len = snprintf(buf, sizeof(buf), "%.17Lf", v);
  if (len <= 0) return "0";
  if (strchr(buf, '.')) {
    char* p = buf + len - 1;
    while (*p == '0') {
      p--;
      len--;
    }
    if (*p == '.') len--;
  }
  std::string out(buf, size_t(len));
  if (out == "-0") out = "0";
  return out;
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  // Integers that are exactly representable print without exponent, as Redis does.
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[128];
  if (std::trunc(v) == v && std::fabs(v) < 1e17) {
    snprintf(buf, sizeof(buf), "%.0f", v);
    return buf;
  }
  snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

static bool MatchImpl(const char* p, size_t plen, const char* s, size_t slen, bool nocase,
                      int nesting) {
  if (nesting > 1000) return false;  // bounded recursion on pathological patterns
  while (plen && slen) {
    switch (*p) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          p++;
          plen--;
        }
        if (plen == 1) return true;
        while (slen) {
          if (MatchImpl(p + 1, plen - 1, s, slen, nocase, nesting + 1)) return true;
          s++;
          slen--;
        }
        return false;
      case '?':
        s++;
        slen--;
        break;
      case '[': {
        p++;
        plen--;
        bool neg = plen && *p == '^';
        if (neg) {
          p++;
          plen--;
        }
        bool match = false;
        while (true) {
          if (plen == 0) {
            p--;
            plen++;
            break;
          }
          if (*p == '\\' && plen >= 2) {
            p++;
            plen--;
            if (*p == *s) match = true;
          } else if (*p == ']') {
            break;
          } else if (plen >= 3 && p[1] == '-') {
            int start = static_cast<unsigned char>(p[0]);
            int end = static_cast<unsigned char>(p[2]);
            int c = static_cast<unsigned char>(*s);
            if (start > end) std::swap(start, end);
            if (nocase) {
              start = tolower(start);
              end = tolower(end);
              c = tolower(c);
            }
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) match = true;
          } else {
            if (nocase ? tolower(static_cast<unsigned char>(*p)) ==
                             tolower(static_cast<unsigned char>(*s))
                       : *p == *s)
              match = true;
          }
          p++;
          plen--;
        }
        if (neg) match = !match;
        if (!match) return false;
        s++;
        slen--;
        break;
      }
      case '\\':
        if (plen >= 2) {
          p++;
          plen--;
        }
        [[fallthrough]];
      default:
        if (nocase
                ? tolower(static_cast<unsigned char>(*p)) != tolower(static_cast<unsigned char>(*s))
                : *p != *s)
          return false;
        s++;
        slen--;
        break;
    }
    p++;
    plen--;
    if (slen == 0) {
      while (plen && *p == '*') {
        p++;
        plen--;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}

bool GlobMatch(std::string_view pattern, std::string_view str, bool nocase) {
  return MatchImpl(pattern.data(), pattern.size(), str.data(), str.size(), nocase, 0);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace ferrite
