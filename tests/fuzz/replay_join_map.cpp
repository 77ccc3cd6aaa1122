// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// Replays a corpus through the differential fuzzer (join_map_fuzz.cpp).
#include "replay_main.hpp"

int main(int argc, char** argv) {
  return replay_main(argc, argv, "join_map_fuzz", "no divergence");
}
