// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
// The one Catch2 main of the test suite.
#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

int main(int argc, char* argv[]) {
  return Catch::Session().run(argc, argv);
}
