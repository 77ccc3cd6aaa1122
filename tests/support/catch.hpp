// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_TESTS_SUPPORT_CATCH_HPP
#define JOINERY_TESTS_SUPPORT_CATCH_HPP

// Catch2 v3 where it is installed, else v2 (what Debian 12 ships).
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#else
#include <catch2/catch.hpp>
#endif

#endif  // JOINERY_TESTS_SUPPORT_CATCH_HPP
