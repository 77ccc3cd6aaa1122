// Copyright (c) 2026 The joinery authors. Distributed under the Boost Software License 1.0.
#ifndef JOINERY_HPP
#define JOINERY_HPP

// joinery: task groups that own their tasks, for Boost.Asio coroutines.
// Includes every public header.

#include <joinery/abort_handle.hpp>
#include <joinery/error.hpp>
#include <joinery/fail_fast.hpp>
#include <joinery/join_error.hpp>
#include <joinery/join_handle.hpp>
#include <joinery/join_map.hpp>
#include <joinery/join_set.hpp>
#include <joinery/scope.hpp>
#include <joinery/task_id.hpp>
#include <joinery/task_info.hpp>
#include <joinery/wait_if_empty.hpp>

#endif  // JOINERY_HPP
