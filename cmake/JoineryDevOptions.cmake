# Warnings and sanitizers for joinery's own tests and examples. They live on
# this private target, never on the exported joinery::joinery.
#
#   JOINERY_WERROR    treat warnings as errors (CI turns it on)
#   JOINERY_SANITIZE  "" | "address" (ASan+UBSan) | "thread" (TSan)
#   JOINERY_ASIO_INCLUDE_DIR  a Boost.Asio header tree to build our programs
#                     against instead of the system Boost's Asio (the
#                     compatibility builds of tests/run.sh)
#
# Our programs link JOINERY_DEV_LIBRARY: joinery::joinery, or with
# JOINERY_BOOST_ASIO=OFF joinery::joinery_standalone (the standalone builds
# of tests/run.sh, against JOINERY_STANDALONE_ASIO_INCLUDE_DIR).

option(JOINERY_WERROR "Treat warnings as errors in tests and examples" OFF)
set(JOINERY_SANITIZE "" CACHE STRING "Sanitizers for tests and examples: address | thread")
set(JOINERY_ASIO_INCLUDE_DIR "" CACHE PATH "Boost.Asio include tree to build tests against")

if(JOINERY_BOOST_ASIO)
  set(JOINERY_DEV_LIBRARY joinery::joinery)
else()
  set(JOINERY_DEV_LIBRARY joinery::joinery_standalone)
endif()

add_library(joinery_dev INTERFACE)
target_compile_options(joinery_dev INTERFACE -Wall -Wextra -Wpedantic)
if(JOINERY_ASIO_INCLUDE_DIR)
  if(EXISTS ${JOINERY_ASIO_INCLUDE_DIR}/asio/version.hpp)
    message(FATAL_ERROR "JOINERY_ASIO_INCLUDE_DIR: ${JOINERY_ASIO_INCLUDE_DIR} is a standalone Asio "
                        "tree: build against it with JOINERY_BOOST_ASIO=OFF and "
                        "JOINERY_STANDALONE_ASIO_INCLUDE_DIR")
  elseif(NOT EXISTS ${JOINERY_ASIO_INCLUDE_DIR}/boost/asio/version.hpp)
    message(FATAL_ERROR
      "JOINERY_ASIO_INCLUDE_DIR: no boost/asio/version.hpp in ${JOINERY_ASIO_INCLUDE_DIR}")
  elseif(NOT JOINERY_BOOST_ASIO)
    message(FATAL_ERROR "JOINERY_ASIO_INCLUDE_DIR (a Boost.Asio tree) needs JOINERY_BOOST_ASIO")
  endif()
  # Searched before /usr/include; a system directory, so its warnings stay
  # Asio's. Only Asio is replaced: the rest of Boost is the system's.
  target_include_directories(joinery_dev SYSTEM BEFORE INTERFACE ${JOINERY_ASIO_INCLUDE_DIR})
  file(STRINGS ${JOINERY_ASIO_INCLUDE_DIR}/boost/asio/version.hpp _joinery_asio_version
       REGEX "define BOOST_ASIO_VERSION ")
  message(STATUS "joinery: building tests against ${_joinery_asio_version}")
endif()

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
  # clang and coroutines on several threads need Asio's thread keyword
  # extension off in the whole program (README, "clang and threads"): our
  # own programs take the opt-in target users take.
  target_link_libraries(joinery_dev INTERFACE joinery::asio_thread_keyword_fix)
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
    # g++ warns (-Wtsan) that TSan does not instrument atomic_thread_fence,
    # which Asio uses in detail/atomic_count.hpp and std_fenced_block.hpp:
    # the warnings are about Asio's code, not a finding (README, "Sanitizers").
    target_compile_options(joinery_dev INTERFACE -Wno-tsan)
  endif()
elseif(NOT JOINERY_SANITIZE STREQUAL "")
  message(FATAL_ERROR "JOINERY_SANITIZE must be empty, 'address' or 'thread'")
endif()
