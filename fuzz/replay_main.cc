// Runs a fuzz target's entry point over files instead of under libFuzzer: every file
// named, and every file in every directory named. The normal (gcc) build links each
// target with this main and CTest runs it over the target's seed corpus and its
// regression inputs (fuzz/regressions/<target>/), so every input that once found a bug
// is fed again on every test run, with or without sanitizers. Without ASan the address
// space is capped at 512 MB, so an input that makes a reader allocate what it cannot
// justify (the bug class libFuzzer's -malloc_limit_mb catches) fails here too.

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

int main(int argc, char** argv) {
  // A cap on address space catches a reader that allocates from a hostile length; not in
  // sanitizer builds, whose shadow memory reserves terabytes of address space.
#if !defined(__SANITIZE_ADDRESS__) && !defined(FERRITE_SANITIZE)
  struct rlimit lim = {512ull << 20, 512ull << 20};
  setrlimit(RLIMIT_AS, &lim);
#endif
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path().string());
    } else {
      files.push_back(p.string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    fprintf(stderr, "%s (%zu bytes)\n", f.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  fprintf(stderr, "%zu inputs replayed\n", files.size());
  return files.empty() ? 1 : 0;
}
