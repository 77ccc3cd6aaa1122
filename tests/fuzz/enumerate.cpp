// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
//
// Bounded exhaustive schedule enumeration (docs/spec.md AC-45, the C++
// analogue of tokio's loom model of JoinSet): three tasks (one that yields
// once, one behind a gate, one ready at once), then every sequence of up to
// `depth` operations from {step one handler, abort task 1, abort task 2,
// open task 2's gate, try_join_next, start a join, cancel it}. Each
// sequence runs through the differential fuzzer's model (join_map_fuzz.cpp),
// which checks every result, the order, wake-ups and leaks. The enumeration
// must reach both sides of the abort/completion race (AC-21): an aborted
// task that had finished keeps its value, one that had not is cancelled.

#include "join_map_fuzz.hpp"

#include <cstdio>
#include <cstdlib>
#include <vector>

using join_map_fuzz::aborted_outcomes;

int main(int argc, char** argv) {
  const int depth = argc > 1 ? std::atoi(argv[1]) : 5;
  // variant 0 (uint8 keys); spawn key 1: 1 step, a yield; key 2: 1 step, a
  // gate; key 3: no step (see join_map_fuzz.cpp's decoder).
  const std::vector<std::uint8_t> prefix = {0, 0, 1, 1 | (1 << 3), 0, 11, 0, 2, 1, 0, 22, 0, 3,
                                            0, 0, 33};
  const std::vector<std::vector<std::uint8_t>> alphabet = {{6, 0}, {1, 1}, {1, 2}, {5, 1},
                                                           {8},    {9},    {10, 0}};
  long sequences = 0;
  std::vector<int> choice;
  for (int len = 0; len <= depth; ++len) {
    choice.assign(len, 0);
    for (;;) {
      std::vector<std::uint8_t> input = prefix;
      for (int c : choice)
        input.insert(input.end(), alphabet[c].begin(), alphabet[c].end());
      LLVMFuzzerTestOneInput(input.data(), input.size());
      ++sequences;
      int i = len - 1;
      while (i >= 0 && ++choice[i] == static_cast<int>(alphabet.size()))
        choice[i--] = 0;
      if (i < 0)
        break;
    }
  }
  std::printf(
      "enumerated %ld schedules up to depth %d: no divergence; aborted tasks: %ld kept their "
      "value, %ld cancelled\n",
      sequences, depth, aborted_outcomes.value_kept, aborted_outcomes.cancelled);
  const bool both = aborted_outcomes.value_kept > 0 && aborted_outcomes.cancelled > 0;
  std::printf(both ? "both outcomes of the abort/completion race reached\n"
                   : "FAILED: one outcome of the abort/completion race never reached\n");
  return both ? 0 : 1;
}
