// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_FUZZ_REPLAY_MAIN_HPP
#define JOINERY_TESTS_FUZZ_REPLAY_MAIN_HPP

// The main() of a fuzz target built without libFuzzer: replays every file
// given (for a directory, every file in it, in name order) through
// LLVMFuzzerTestOneInput, so that ctest replays the committed corpus.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

inline int replay_main(int argc, char** argv, const char* name, const char* verdict) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file())
          files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::printf("%s: replayed %zu inputs, %s\n", name, files.size(), verdict);
  return files.empty() ? 1 : 0;
}

#endif  // JOINERY_TESTS_FUZZ_REPLAY_MAIN_HPP
