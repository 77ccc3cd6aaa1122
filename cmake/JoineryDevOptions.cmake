# Warnings and sanitizers for joinery's own tests and examples. They live on
# this private target, never on the exported joinery::joinery.
#
#   JOINERY_WERROR    treat warnings as errors (CI turns it on)
#   JOINERY_SANITIZE  "" | "address" (ASan+UBSan) | "thread" (TSan)

option(JOINERY_WERROR "Treat warnings as errors in tests and examples" OFF)
set(JOINERY_SANITIZE "" CACHE STRING "Sanitizers for tests and examples: address | thread")

add_library(joinery_dev INTERFACE)
target_compile_options(joinery_dev INTERFACE -Wall -Wextra -Wpedantic)

if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 (with -O1 and sanitizers) reports Asio's awaitable frames, which
  # are allocated by their class operator new (thread_info_base::allocate)
  # and freed by the matching class operator delete, as "mismatched
  # new/delete" at the end of every coroutine: GCC PR middle-end/109224,
  # also asio#1391. It is attributed to each coroutine, not to one header,
  # so it cannot be silenced with a pragma around the cause.
  target_compile_options(joinery_dev INTERFACE -Wno-mismatched-new-delete)
endif()

if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang (seen with 16) caches the address of a thread_local across a
  # co_await inside a coroutine: after the coroutine resumes on another
  # thread, Asio's per-thread recycling allocator (reached through inlined
  # thread_local access) then works on the previous thread's cache, a real
  # data race that TSan reports. Asio's pthread-key TSS is an out-of-line
  # call that clang cannot cache. The define must be the same in every
  # translation unit of a program, so it lives here, on our own programs,
  # not on the exported target (see README, "clang and coroutines").
  target_compile_definitions(joinery_dev INTERFACE BOOST_ASIO_DISABLE_THREAD_KEYWORD_EXTENSION)
endif()
if(JOINERY_WERROR)
  target_compile_options(joinery_dev INTERFACE -Werror)
endif()

if(JOINERY_SANITIZE STREQUAL "address")
  set(_joinery_san -fsanitize=address,undefined -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang cannot compile Asio coroutines with -fsanitize=function
    # ("Cannot represent a difference across sections", llvm#49689).
    list(APPEND _joinery_san -fno-sanitize=function)
  endif()
  target_compile_options(joinery_dev INTERFACE ${_joinery_san} -fno-omit-frame-pointer)
  target_link_options(joinery_dev INTERFACE ${_joinery_san})
elseif(JOINERY_SANITIZE STREQUAL "thread")
  target_compile_options(joinery_dev INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(joinery_dev INTERFACE -fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ warns that TSan does not model Asio's atomic_thread_fence
    # (detail/atomic_count.hpp, std_fenced_block.hpp); see RELIABILITY B-A10.
    target_compile_options(joinery_dev INTERFACE -Wno-tsan)
  endif()
elseif(NOT JOINERY_SANITIZE STREQUAL "")
  message(FATAL_ERROR "JOINERY_SANITIZE must be empty, 'address' or 'thread'")
endif()
