#include "types/pack.h"

#include <algorithm>
#include <new>

#include "base/coding.h"

namespace ferrite::pack {
namespace {

PackBlock* Alloc(size_t payload) {
  auto* b = static_cast<PackBlock*>(::operator new(sizeof(PackBlock) + payload));
  b->bytes = 0;
  b->count = 0;
  return b;
}

}  // namespace

PackBlock* New(size_t reserve_bytes) { return Alloc(reserve_bytes); }

void Free(PackBlock* b) { ::operator delete(b); }

PackBlock* Clone(const PackBlock* b) {
  PackBlock* c = Alloc(b->bytes);
  memcpy(static_cast<void*>(c), b, sizeof(PackBlock) + b->bytes);
  return c;
}

size_t AllocSize(const PackBlock* b) { return sizeof(PackBlock) + b->bytes; }

uint32_t OffsetOf(const PackBlock* b, uint32_t index) {
  uint32_t off = 0;
  std::string_view v;
  for (uint32_t i = 0; i < index && off < b->bytes; ++i) off = Read(b, off, &v);
  return off;
}

PackBlock* Insert(PackBlock* b, uint32_t off, const std::string_view* elems, size_t n) {
  size_t add = 0;
  for (size_t i = 0; i < n; ++i) add += EntrySize(elems[i].size());
  // A new block of the exact size: packs are small and the allocator rounds up anyway.
  PackBlock* nb = Alloc(b->bytes + add);
  memcpy(nb->data(), b->data(), off);
  char* w = nb->data() + off;
  for (size_t i = 0; i < n; ++i) {
    w = EncodeVarint64(w, elems[i].size());
    if (!elems[i].empty()) memcpy(w, elems[i].data(), elems[i].size());
    w += elems[i].size();
  }
  memcpy(w, b->data() + off, b->bytes - off);
  nb->bytes = uint32_t(b->bytes + add);
  nb->count = uint32_t(b->count + n);
  Free(b);
  return nb;
}

PackBlock* Erase(PackBlock* b, uint32_t off, uint32_t n) {
  uint32_t end = off;
  std::string_view v;
  uint32_t removed = 0;
  while (removed < n && end < b->bytes) {
    end = Read(b, end, &v);
    ++removed;
  }
  memmove(b->data() + off, b->data() + end, b->bytes - end);
  b->bytes -= end - off;
  b->count -= removed;
  return b;
}

PackBlock* Replace(PackBlock* b, uint32_t off, std::string_view elem) {
  std::string_view old;
  uint32_t end = Read(b, off, &old);
  size_t old_size = end - off;
  size_t new_size = EntrySize(elem.size());
  if (new_size == old_size) {
    char* w = b->data() + off;
    w = EncodeVarint64(w, elem.size());
    memmove(w, elem.data(), elem.size());
    return b;
  }
  PackBlock* nb = Alloc(b->bytes - old_size + new_size);
  memcpy(nb->data(), b->data(), off);
  char* w = nb->data() + off;
  w = EncodeVarint64(w, elem.size());
  memcpy(w, elem.data(), elem.size());
  w += elem.size();
  memcpy(w, b->data() + end, b->bytes - end);
  nb->bytes = uint32_t(b->bytes - old_size + new_size);
  nb->count = b->count;
  Free(b);
  return nb;
}

}  // namespace ferrite::pack
