// HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//
// An HLL is a plain string value in Redis's byte format, so values move between Ferrite
// and Redis (GET/SET, DUMP-less copies, AOF) unchanged:
//
//   +------+---+-----+----------+---------------------------------------------+
//   | HYLL | E | N/U | Cardin.  | registers: dense (12288 bytes) or sparse ops |
//   +------+---+-----+----------+---------------------------------------------+
//    4 B    1B  3 B    8 B LE
//
//   E: 0 dense, 1 sparse. Cardinality: the last PFCOUNT result, little endian; the top
//   bit of its last byte set means "stale" (any register changed since).
//
// Dense: 16384 registers of 6 bits, register i at bit i*6, least significant bits first
// (its low bits in byte i*6/8 from bit (i*6)%8, the rest in the next byte).
//
// Sparse: run-length opcodes covering the 16384 registers in order:
//   ZERO  00xxxxxx           1..64 zero registers (xxxxxx + 1)
//   XZERO 01xxxxxx yyyyyyyy  1..16384 zero registers (14-bit xxxxxxyyyyyyyy + 1)
//   VAL   1vvvvvxx           1..4 registers (xx + 1) holding value vvvvv + 1 (1..32)
// A sparse HLL becomes dense when a register needs a value above 32 or the string would
// grow past [encoding] hll_sparse_max_bytes (Redis's hll-sparse-max-bytes, default 3000).
//
// An element hashes with MurmurHash64A (seed 0xadc83b19): the low 14 bits pick the
// register, the register gets the position of the lowest set bit of the remaining 50 bits
// (1-based; 51 when they are all zero). The estimate is Ertl's improved estimator
// ("New cardinality estimation algorithms for HyperLogLog sketches", 2017) computed from
// the histogram of register values, as Redis >= 5 does, so the numbers match exactly.
// Every step that shapes the bytes (opcode splitting, the neighbour merge after an update,
// promotion) follows the same rules as Redis so the bytes match too.

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "commands/command_table.h"
#include "commands/family_util.h"

namespace ferrite {
namespace {

constexpr int kP = 14;                 // register index bits
constexpr int kQ = 64 - kP;            // bits left for the run of zeros
constexpr long kRegisters = 1L << kP;  // 16384
constexpr uint64_t kPMask = kRegisters - 1;
constexpr int kBits = 6;
constexpr uint8_t kRegisterMax = (1 << kBits) - 1;
constexpr size_t kHdrSize = 16;
constexpr size_t kDenseRegBytes = (kRegisters * kBits + 7) / 8;  // 12288
constexpr size_t kDenseSize = kHdrSize + kDenseRegBytes;
constexpr uint8_t kEncDense = 0;
constexpr uint8_t kEncSparse = 1;
constexpr uint8_t kEncMax = kEncSparse;
constexpr size_t kSparseMaxBytes = 3000;  // hll-sparse-max-bytes default (PFSELFTEST uses it)
constexpr int kSparseValMaxValue = 32;
constexpr int kSparseValMaxLen = 4;
constexpr int kSparseZeroMaxLen = 64;
constexpr int kSparseXZeroMaxLen = 16384;
constexpr double kAlphaInf = 0.721347520444481703680;  // 1 / (2 ln 2)
constexpr uint64_t kHashSeed = 0xadc83b19ULL;

constexpr const char* kErrInvalidHll = "INVALIDOBJ Corrupted HLL object detected";
constexpr const char* kErrNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr const char* kErrNoKey = "ERR The specified key does not exist";
constexpr const char* kErrNotSparse = "ERR HLL encoding is not sparse";

// ------------------------------------------------------------------------------ hashing

uint64_t MurmurHash64A(const void* key, size_t len, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  uint64_t h = seed ^ (uint64_t(len) * m);
  const uint8_t* data = static_cast<const uint8_t*>(key);
  const uint8_t* end = data + (len - (len & 7));
  for (; data != end; data += 8) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; i--) k = (k << 8) | data[i];  // little endian on any host
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  size_t rest = len & 7;
  if (rest) {
    for (size_t i = rest; i-- > 0;) h ^= uint64_t(data[i]) << (8 * i);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// Register index and value (run of zeros + 1) for an element.
uint8_t PatLen(std::string_view ele, long* index) {
  uint64_t hash = MurmurHash64A(ele.data(), ele.size(), kHashSeed);
  *index = long(hash & kPMask);
  hash >>= kP;
  hash |= uint64_t(1) << kQ;  // sentinel: the count stops at kQ + 1
  uint8_t count = 1;
  for (uint64_t bit = 1; (hash & bit) == 0; bit <<= 1) count++;
  return count;
}

// ------------------------------------------------------------------------------ dense

inline uint8_t DenseGet(const uint8_t* regs, long i) {
  size_t byte = size_t(i) * kBits / 8;
  unsigned fb = unsigned(i * kBits) & 7;
  unsigned b0 = regs[byte];
  unsigned b1 = fb > 8 - kBits ? regs[byte + 1] : 0;  // only a straddling register reads on
  return uint8_t(((b0 >> fb) | (b1 << (8 - fb))) & kRegisterMax);
}

inline void DenseSetRaw(uint8_t* regs, long i, uint8_t val) {
  size_t byte = size_t(i) * kBits / 8;
  unsigned fb = unsigned(i * kBits) & 7;
  regs[byte] = uint8_t((regs[byte] & ~(kRegisterMax << fb)) | (val << fb));
  if (fb > 8 - kBits) {
    unsigned fb8 = 8 - fb;
    regs[byte + 1] = uint8_t((regs[byte + 1] & ~(kRegisterMax >> fb8)) | (val >> fb8));
  }
}

// Raises register i to val. Returns 1 if it changed.
inline int DenseSet(uint8_t* regs, long i, uint8_t val) {
  if (val <= DenseGet(regs, i)) return 0;
  DenseSetRaw(regs, i, val);
  return 1;
}

// ------------------------------------------------------------------------------ sparse

inline bool IsZero(uint8_t b) { return (b & 0xc0) == 0; }
inline bool IsXZero(uint8_t b) { return (b & 0xc0) == 0x40; }
inline bool IsVal(uint8_t b) { return (b & 0x80) != 0; }
inline int ZeroLen(uint8_t b) { return (b & 0x3f) + 1; }
inline int ValValue(uint8_t b) { return ((b >> 2) & 0x1f) + 1; }
inline int ValLen(uint8_t b) { return (b & 0x3) + 1; }
inline uint8_t ZeroOp(int len) { return uint8_t(len - 1); }
inline void XZeroOp(uint8_t* p, int len) {
  int l = len - 1;
  p[0] = uint8_t((l >> 8) | 0x40);
  p[1] = uint8_t(l & 0xff);
}
inline uint8_t ValOp(int val, int len) { return uint8_t((((val - 1) << 2) | (len - 1)) | 0x80); }

// The second byte of an XZERO opcode. A body truncated inside one reads as if a zero byte
// followed (what Redis reads there: the string's terminator), so corrupted values get the
// same answers as from Redis.
inline int XZeroLenAt(const uint8_t* p, const uint8_t* end) {
  return (((p[0] & 0x3f) << 8) | (p + 1 < end ? p[1] : 0)) + 1;
}

// Walks the opcodes of a sparse body: fn(first_register, run_length, value) per opcode
// (value 0 for ZERO/XZERO; VAL runs passed to fn always lie inside the registers).
// Returns the number of registers covered, which is exactly kRegisters for a valid body,
// or -1 when a VAL run would pass the last register (corrupted, as for Redis).
template <typename F>
long WalkSparse(const uint8_t* p, const uint8_t* end, F&& fn) {
  long idx = 0;
  while (p < end) {
    if (IsZero(*p)) {
      long run = ZeroLen(*p);
      fn(idx, run, 0);
      idx += run;
      p++;
    } else if (IsXZero(*p)) {
      long run = XZeroLenAt(p, end);
      fn(idx, run, 0);
      idx += run;
      p += 2;
    } else {
      long run = ValLen(*p);
      if (idx + run > kRegisters) return -1;
      fn(idx, run, ValValue(*p));
      idx += run;
      p++;
    }
  }
  return idx;
}

// Histogram of register values for a sparse body; false if it does not cover exactly
// the 16384 registers.
bool SparseHisto(const uint8_t* p, const uint8_t* end, int* histo) {
  long covered = WalkSparse(p, end, [&](long, long run, int val) { histo[val] += int(run); });
  return covered == kRegisters;
}

// Max-merges a sparse body into 16384 one-byte registers; false if corrupted.
bool SparseMergeInto(const uint8_t* p, const uint8_t* end, uint8_t* max) {
  long covered = WalkSparse(p, end, [&](long first, long run, int val) {
    if (val == 0) return;
    for (long i = first; i < first + run; i++) {
      if (uint8_t(val) > max[i]) max[i] = uint8_t(val);
    }
  });
  return covered == kRegisters;
}

// ------------------------------------------------------------------------------ header

std::string EmptyHll() {
  std::string s(kHdrSize, '\0');
  memcpy(s.data(), "HYLL", 4);
  s[4] = char(kEncSparse);
  for (long left = kRegisters; left > 0; left -= kSparseXZeroMaxLen) {
    uint8_t op[2];
    XZeroOp(op, int(std::min<long>(left, kSparseXZeroMaxLen)));
    s.append(reinterpret_cast<const char*>(op), 2);
  }
  return s;
}

// Redis's isHLLObjectOrReply checks (after the type check).
bool LooksLikeHll(std::string_view s) {
  if (s.size() < kHdrSize || s.compare(0, 4, "HYLL") != 0) return false;
  uint8_t enc = uint8_t(s[4]);
  if (enc > kEncMax) return false;
  if (enc == kEncDense && s.size() != kDenseSize) return false;
  return true;
}

inline bool CacheValid(const uint8_t* hdr) { return (hdr[15] & 0x80) == 0; }
inline void InvalidateCache(uint8_t* hdr) { hdr[15] |= 0x80; }
inline uint64_t CachedCard(const uint8_t* hdr) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | hdr[8 + i];
  return v;
}
inline void StoreCard(uint8_t* hdr, uint64_t card) {
  for (int i = 0; i < 8; i++) hdr[8 + i] = uint8_t(card >> (8 * i));
}

// ------------------------------------------------------------------------------ estimate

double Sigma(double x) {
  if (x == 1.) return INFINITY;
  double z_prime;
  double y = 1;
  double z = x;
  do {
    x *= x;
    z_prime = z;
    z += x * y;
    y += y;
  } while (z_prime != z);
  return z;
}

double Tau(double x) {
  if (x == 0. || x == 1.) return 0.;
  double z_prime;
  double y = 1.0;
  double z = 1 - x;
  do {
    x = std::sqrt(x);
    z_prime = z;
    y *= 0.5;
    z -= std::pow(1 - x, 2) * y;
  } while (z_prime != z);
  return z / 3;
}

// Ertl's estimator over the histogram of register values (64 slots).
uint64_t EstimateFromHisto(const int* histo) {
  double m = double(kRegisters);
  double z = m * Tau((m - histo[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histo[j];
    z *= 0.5;
  }
  z += m * Sigma(histo[0] / m);
  double e = kAlphaInf * m * m / z;
  return uint64_t(std::llround(e));
}

// Cardinality of a validated HLL string; *invalid set for a corrupted sparse body.
uint64_t Count(const uint8_t* data, size_t len, bool* invalid) {
  int histo[64] = {0};
  const uint8_t* regs = data + kHdrSize;
  if (data[4] == kEncDense) {
    for (long i = 0; i < kRegisters; i++) histo[DenseGet(regs, i)]++;
  } else if (!SparseHisto(regs, data + len, histo)) {
    *invalid = true;
  }
  return EstimateFromHisto(histo);
}

uint64_t CountRaw(const uint8_t* max) {
  int histo[64] = {0};
  for (long i = 0; i < kRegisters; i++) histo[max[i] & 63]++;
  return EstimateFromHisto(histo);
}

// Max-merges any validated HLL string into one-byte registers; false if corrupted.
bool MergeInto(std::string_view s, uint8_t* max) {
  const uint8_t* d = reinterpret_cast<const uint8_t*>(s.data());
  if (d[4] == kEncDense) {
    for (long i = 0; i < kRegisters; i++) {
      uint8_t v = DenseGet(d + kHdrSize, i);
      if (v > max[i]) max[i] = v;
    }
    return true;
  }
  return SparseMergeInto(d + kHdrSize, d + s.size(), max);
}

// ------------------------------------------------------------------------------ updates

// A writable view of an HLL string value. Resizing may move the bytes: re-read data().
class HllBuf {
 public:
  // sparse_max: the size past which a sparse HLL converts to dense (hll_sparse_max_bytes).
  HllBuf(Value* v, size_t sparse_max) : v_(v), sparse_max_(sparse_max) {
    Resize(v->StringLength());
  }
  size_t sparse_max() const { return sparse_max_; }
  uint8_t* data() { return p_; }
  size_t size() const { return len_; }
  uint8_t encoding() const { return p_[4]; }
  void Resize(size_t n) {
    p_ = reinterpret_cast<uint8_t*>(v_->MutableString(n));
    len_ = n;
  }

 private:
  Value* v_;
  size_t sparse_max_;
  uint8_t* p_ = nullptr;
  size_t len_ = 0;
};

// Rewrites a sparse HLL as dense, keeping the header bytes. False if the sparse body is
// corrupted (the value is then left as it was). A dense HLL is left alone.
bool SparseToDense(HllBuf& h) {
  if (h.encoding() == kEncDense) return true;
  std::vector<uint8_t> dense(kDenseSize, 0);
  memcpy(dense.data(), h.data(), kHdrSize);
  dense[4] = kEncDense;
  uint8_t* regs = dense.data() + kHdrSize;
  long covered =
      WalkSparse(h.data() + kHdrSize, h.data() + h.size(), [&](long first, long run, int val) {
        if (val == 0) return;
        for (long i = first; i < first + run; i++) {
          DenseSetRaw(regs, i, uint8_t(val));
        }
      });
  if (covered != kRegisters) return false;
  h.Resize(kDenseSize);
  memcpy(h.data(), dense.data(), kDenseSize);
  return true;
}

int PromoteAndSet(HllBuf& h, long index, uint8_t count) {
  if (!SparseToDense(h)) return -1;
  // The register needed a change the sparse form could not hold, so this always updates.
  return DenseSet(h.data() + kHdrSize, index, count);
}

// Raises register `index` to `count` in a sparse HLL (promoting it to dense when needed).
// Returns 1 if a register changed, 0 if not, -1 if the value is corrupted.
int SparseSet(HllBuf& h, long index, uint8_t count) {
  if (count > kSparseValMaxValue) return PromoteAndSet(h, index, count);

  // Step 1: find the opcode covering the register.
  uint8_t* base = h.data();
  size_t end = h.size();
  size_t p = kHdrSize;
  size_t prev = 0;  // 0: none (the opcode at p is the first)
  long first = 0, span = 0;
  while (p < end) {
    size_t oplen = 1;
    if (IsZero(base[p])) {
      span = ZeroLen(base[p]);
    } else if (IsVal(base[p])) {
      span = ValLen(base[p]);
    } else {
      span = XZeroLenAt(base + p, base + end);
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span == 0 || p >= end) return -1;
  long last = first + span - 1;

  uint8_t op = base[p];
  bool is_zero = IsZero(op), is_xzero = IsXZero(op), is_val = IsVal(op);
  long runlen = span;

  // Step 2: the in-place cases.
  if (is_val) {
    int oldcount = ValValue(op);
    if (oldcount >= count) return 0;  // nothing to raise
    if (runlen == 1) {
      base[p] = ValOp(count, 1);
      goto updated;
    }
  }
  if (is_zero && runlen == 1) {
    base[p] = ValOp(count, 1);
    goto updated;
  }

  {
    // Step 3: split the opcode into up to three: the registers before, ours, the ones
    // after (at most 5 bytes).
    uint8_t seq[5];
    int n = 0;
    auto zeros = [&](long len) {  // a run of len zero registers: ZERO or XZERO
      if (len > kSparseZeroMaxLen) {
        XZeroOp(seq + n, int(len));
        n += 2;
      } else {
        seq[n++] = ZeroOp(int(len));
      }
    };
    if (is_zero || is_xzero) {
      if (index != first) zeros(index - first);
      seq[n++] = ValOp(count, 1);
      if (index != last) zeros(last - index);
    } else {
      int curval = ValValue(op);
      if (index != first) seq[n++] = ValOp(curval, int(index - first));
      seq[n++] = ValOp(count, 1);
      if (index != last) seq[n++] = ValOp(curval, int(last - index));
    }

    // Step 4: replace the old opcode with the sequence, or promote if it gets too big.
    long oldlen = is_xzero ? 2 : 1;
    long delta = n - oldlen;
    if (delta > 0 && h.size() + size_t(delta) > h.sparse_max()) {
      return PromoteAndSet(h, index, count);
    }
    size_t tail = p + size_t(oldlen);
    size_t old_size = h.size();
    if (tail > old_size) {
      // A corrupted value ending inside an XZERO. Redis sizes the result as if both
      // opcode bytes had been there, so the last byte of the sequence falls off the end.
      h.Resize(p + size_t(n));
      memcpy(h.data() + p, seq, size_t(n));
      h.Resize(p + size_t(n) - 1);
    } else {
      if (delta > 0) h.Resize(old_size + size_t(delta));
      base = h.data();
      memmove(base + tail + delta, base + tail, old_size - tail);
      memcpy(base + p, seq, size_t(n));
      if (delta < 0) h.Resize(old_size - size_t(-delta));
    }
  }

updated : {
  // Step 5: merge adjacent VAL opcodes with the same value, scanning up to 5 opcodes
  // from the one before the change.
  base = h.data();
  end = h.size();
  size_t q = prev ? prev : kHdrSize;
  int scanlen = 5;
  while (q < end && scanlen--) {
    if (IsXZero(base[q])) {
      q += 2;
      continue;
    }
    if (IsZero(base[q])) {
      q++;
      continue;
    }
    if (q + 1 < end && IsVal(base[q + 1])) {
      int v1 = ValValue(base[q]);
      int v2 = ValValue(base[q + 1]);
      if (v1 == v2) {
        int len = ValLen(base[q]) + ValLen(base[q + 1]);
        if (len <= kSparseValMaxLen) {
          base[q + 1] = ValOp(v1, len);
          memmove(base + q, base + q + 1, end - q - 1);
          h.Resize(end - 1);
          base = h.data();
          end = h.size();
          continue;  // try the merged opcode with its right neighbour
        }
      }
    }
    q++;
  }
  InvalidateCache(h.data());
  return 1;
}
}

// Adds one element. Returns 1 if a register changed, 0 if not, -1 if corrupted.
int HllAdd(HllBuf& h, std::string_view ele) {
  long index;
  uint8_t count = PatLen(ele, &index);
  if (h.encoding() == kEncDense) return DenseSet(h.data() + kHdrSize, index, count);
  return SparseSet(h, index, count);
}

// ------------------------------------------------------------------------------ commands

size_t SparseMax(CommandContext& ctx) {
  return size_t(std::max<int64_t>(0, ctx.engine.config().encoding.hll_sparse_max_bytes));
}

// Type and format check of a key's value (Redis's isHLLObjectOrReply). Replies on error.
bool CheckHll(CommandContext& ctx, const Entry* e) {
  std::string scratch;
  if (!LooksLikeHll(e->value.GetString(&scratch))) {
    ctx.rb.Error(kErrNotHll);
    return false;
  }
  return true;
}

void PfAdd(CommandContext& ctx) {
  std::string_view key = ctx.args[1];
  bool wrong;
  Entry* e = FindTyped(ctx, key, ValueType::kString, &wrong, true);
  if (wrong) return;
  int updated = 0;
  if (!e) {
    e = ctx.db().Insert(key, Value::String(EmptyHll()));
    updated++;
  } else if (!CheckHll(ctx, e)) {
    return;
  }
  HllBuf h(&e->value, SparseMax(ctx));
  for (size_t j = 2; j < ctx.args.size(); j++) {
    int r = HllAdd(h, ctx.args[j]);
    if (r < 0) return ctx.rb.Error(kErrInvalidHll);
    updated += r;
  }
  if (updated) {
    InvalidateCache(h.data());
    ctx.NotifyModified(key);
    ctx.Notify(notify::kString, "pfadd", key);
  }
  ctx.rb.Integer(updated ? 1 : 0);
}

void PfCount(CommandContext& ctx) {
  bool wrong;
  if (ctx.args.size() > 2) {
    // The cardinality of the union, without touching the keys.
    std::vector<uint8_t> max(kRegisters, 0);
    std::string scratch;
    for (size_t j = 1; j < ctx.args.size(); j++) {
      Entry* e = FindTyped(ctx, ctx.args[j], ValueType::kString, &wrong);
      if (wrong) return;
      if (!e) continue;
      if (!CheckHll(ctx, e)) return;
      if (!MergeInto(e->value.GetString(&scratch), max.data())) {
        return ctx.rb.Error(kErrInvalidHll);
      }
    }
    return ctx.rb.Integer(int64_t(CountRaw(max.data())));
  }

  std::string_view key = ctx.args[1];
  Entry* e = FindTyped(ctx, key, ValueType::kString, &wrong);
  if (wrong) return;
  if (!e) return ctx.rb.Integer(0);
  if (!CheckHll(ctx, e)) return;
  std::string scratch;
  std::string_view s = e->value.GetString(&scratch);
  const uint8_t* hdr = reinterpret_cast<const uint8_t*>(s.data());
  if (CacheValid(hdr) && e->value.raw()) return ctx.rb.Integer(int64_t(CachedCard(hdr)));

  // The cache is written back into the value (Redis unshares the string here too), so
  // take the entry for writing: checkpoints must see the bytes as they were.
  e = ctx.db().FindForWrite(key, ctx.now_ms);
  if (!e) return ctx.rb.Integer(0);
  HllBuf h(&e->value, SparseMax(ctx));
  if (CacheValid(h.data())) return ctx.rb.Integer(int64_t(CachedCard(h.data())));
  bool invalid = false;
  uint64_t card = Count(h.data(), h.size(), &invalid);
  if (invalid) return ctx.rb.Error(kErrInvalidHll);
  StoreCard(h.data(), card);
  // Redis signals the key as modified (WATCH) here. The cache is not data: the write is
  // not propagated (replaying the adds rebuilds an equivalent value).
  ctx.db().NotifyModified(key);
  ctx.rb.Integer(int64_t(card));
}

void PfMerge(CommandContext& ctx) {
  std::vector<uint8_t> max(kRegisters, 0);
  bool use_dense = false;
  bool wrong;
  std::string scratch;
  // The destination is a source too.
  for (size_t j = 1; j < ctx.args.size(); j++) {
    Entry* e = FindTyped(ctx, ctx.args[j], ValueType::kString, &wrong);
    if (wrong) return;
    if (!e) continue;
    if (!CheckHll(ctx, e)) return;
    std::string_view s = e->value.GetString(&scratch);
    if (uint8_t(s[4]) == kEncDense) use_dense = true;
    if (!MergeInto(s, max.data())) return ctx.rb.Error(kErrInvalidHll);
  }

  std::string_view dest = ctx.args[1];
  Entry* e = ctx.db().FindForWrite(dest, ctx.now_ms);
  if (!e) e = ctx.db().Insert(dest, Value::String(EmptyHll()));  // checked above if present
  HllBuf h(&e->value, SparseMax(ctx));
  if (use_dense && !SparseToDense(h)) return ctx.rb.Error(kErrInvalidHll);
  for (long j = 0; j < kRegisters; j++) {
    if (max[j] == 0) continue;
    if (h.encoding() == kEncDense)
      DenseSet(h.data() + kHdrSize, j, max[j]);
    else
      SparseSet(h, j, max[j]);
  }
  InvalidateCache(h.data());
  ctx.NotifyModified(dest);
  ctx.Notify(notify::kString, "pfadd", dest);  // Redis's PFMERGE sends "pfadd" too
  ctx.rb.Ok();
}

void PfDebug(CommandContext& ctx) {
  std::string_view sub = ctx.args[1];
  std::string_view key = ctx.args[2];
  bool wrong;
  Entry* e = FindTyped(ctx, key, ValueType::kString, &wrong, true);
  if (wrong) return;
  if (!e) return ctx.rb.Error(kErrNoKey);
  if (!CheckHll(ctx, e)) return;
  HllBuf h(&e->value, SparseMax(ctx));

  if (ArgIs(sub, "GETREG")) {
    if (h.encoding() == kEncSparse) {
      if (!SparseToDense(h)) return ctx.rb.Error(kErrInvalidHll);
      ctx.dirty++;  // propagate the encoding change, as Redis does
    }
    ctx.rb.ArrayHeader(size_t(kRegisters));
    for (long j = 0; j < kRegisters; j++) ctx.rb.Integer(DenseGet(h.data() + kHdrSize, j));
  } else if (ArgIs(sub, "DECODE")) {
    if (h.encoding() != kEncSparse) return ctx.rb.Error(kErrNotSparse);
    std::string out;
    const uint8_t* p = h.data() + kHdrSize;
    const uint8_t* end = h.data() + h.size();
    while (p < end) {
      if (IsZero(*p)) {
        out += "z:" + std::to_string(ZeroLen(*p)) + " ";
        p++;
      } else if (IsXZero(*p)) {
        out += "Z:" + std::to_string(XZeroLenAt(p, end)) + " ";
        p += 2;
      } else {
        out += "v:" + std::to_string(ValValue(*p)) + "," + std::to_string(ValLen(*p)) + " ";
        p++;
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    ctx.rb.Bulk(out);
  } else if (ArgIs(sub, "ENCODING")) {
    ctx.rb.SimpleString(h.encoding() == kEncDense ? "dense" : "sparse");
  } else if (ArgIs(sub, "TODENSE")) {
    bool conv = false;
    if (h.encoding() == kEncSparse) {
      if (!SparseToDense(h)) return ctx.rb.Error(kErrInvalidHll);
      conv = true;
      ctx.dirty++;
    }
    ctx.rb.Integer(conv ? 1 : 0);
  } else {
    ctx.rb.Error("ERR Unknown PFDEBUG subcommand '" + std::string(sub) + "'");
  }
}

// Self checks of the register layout and the estimator (Redis's PFSELFTEST, smaller).
void PfSelfTest(CommandContext& ctx) {
  std::mt19937_64 rng(std::random_device{}());
  std::vector<uint8_t> regs(kDenseRegBytes);
  std::vector<uint8_t> expect(kRegisters);
  for (int round = 0; round < 100; round++) {
    std::fill(regs.begin(), regs.end(), 0);
    for (long i = 0; i < kRegisters; i++) {
      expect[i] = uint8_t(rng() & kRegisterMax);
      DenseSetRaw(regs.data(), i, expect[i]);
    }
    for (long i = 0; i < kRegisters; i++) {
      if (DenseGet(regs.data(), i) != expect[i]) {
        return ctx.rb.Error("TESTFAILED Register error at " + std::to_string(i));
      }
    }
  }

  // Sparse and dense side by side must agree, and stay within 6 standard errors.
  Value sparse_val = Value::String(EmptyHll());
  HllBuf sparse(&sparse_val, kSparseMaxBytes);
  std::string dense_str(kDenseSize, '\0');
  memcpy(dense_str.data(), "HYLL", 4);
  Value dense_val = Value::String(dense_str);
  HllBuf dense(&dense_val, kSparseMaxBytes);
  const double relerr = 1.04 / std::sqrt(double(kRegisters));
  uint64_t seed = rng();
  int64_t checkpoint = 1;
  for (int64_t j = 1; j <= 1'000'000; j++) {
    uint64_t ele = uint64_t(j) ^ seed;
    std::string_view ev(reinterpret_cast<const char*>(&ele), sizeof(ele));
    HllAdd(dense, ev);
    if (HllAdd(sparse, ev) < 0) return ctx.rb.Error("TESTFAILED sparse HLL corrupted");
    if (j != checkpoint) continue;
    if (j < int64_t(kSparseMaxBytes / 2) && sparse.encoding() != kEncSparse) {
      return ctx.rb.Error("TESTFAILED sparse encoding not used");
    }
    bool invalid = false;
    uint64_t cd = Count(dense.data(), dense.size(), &invalid);
    uint64_t cs = Count(sparse.data(), sparse.size(), &invalid);
    if (invalid || cd != cs) return ctx.rb.Error("TESTFAILED dense/sparse disagree");
    int64_t abserr = std::llabs(checkpoint - int64_t(cd));
    int64_t maxerr = int64_t(std::ceil(relerr * 6 * double(checkpoint)));
    if (j == 10) maxerr = 1;
    if (abserr > maxerr) {
      return ctx.rb.Error("TESTFAILED Too big error. card:" + std::to_string(checkpoint) +
                          " abserr:" + std::to_string(abserr));
    }
    checkpoint *= 10;
  }
  ctx.rb.Ok();
}

}  // namespace

void RegisterHllFamily(CommandTable& t) {
  using namespace cmd;
  const char* g = "hyperloglog";
  t.Add({"pfadd", -2, kWrite | kDenyOom | kFast, 1, 1, 1, PfAdd, g,
         "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", "2.8.9",
         "@write @hyperloglog @fast"});
  t.Add({"pfcount", -2, kReadOnly, 1, -1, 1, PfCount, g,
         "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
         "2.8.9", "@read @hyperloglog @slow"});
  t.Add({"pfmerge", -2, kWrite | kDenyOom, 1, -1, 1, PfMerge, g,
         "Merges one or more HyperLogLog values into a single key.", "2.8.9",
         "@write @hyperloglog @slow"});
  t.Add({"pfdebug", 3, kWrite | kDenyOom | kAdmin, 2, 2, 1, PfDebug, g,
         "Internal commands for debugging HyperLogLog values.", "2.8.9",
         "@write @hyperloglog @admin @slow @dangerous"});
  t.Add({"pfselftest", 1, kAdmin, 0, 0, 0, PfSelfTest, g,
         "An internal command for testing HyperLogLog values.", "2.8.9",
         "@hyperloglog @admin @slow @dangerous"});
}

}  // namespace ferrite
