# Checks a standalone Asio include directory for joinery::joinery_standalone
# (JOINERY_STANDALONE_ASIO_INCLUDE_DIR): it must hold asio/version.hpp, of
# Asio 1.28 or later (include/joinery/detail/config.hpp has the same minimum
# as an #error). Used by joinery's CMakeLists.txt and by the installed
# joineryConfig.cmake, so that both say the same.
#
#   joinery_check_standalone_asio(<dir> <error-variable>)
#
# sets <error-variable> to a message when <dir> does not qualify, else to ""
# (and reports the version found).
function(joinery_check_standalone_asio dir error_variable)
  set(header ${dir}/asio/version.hpp)
  if(NOT EXISTS ${header})
    if(EXISTS ${dir}/boost/asio/version.hpp)
      set(${error_variable} "${dir} is a Boost.Asio tree; joinery::joinery_standalone needs \
standalone Asio (asio/version.hpp; Boost.Asio is joinery::joinery's)" PARENT_SCOPE)
    else()
      set(${error_variable} "no asio/version.hpp in ${dir}" PARENT_SCOPE)
    endif()
    return()
  endif()
  file(STRINGS ${header} line REGEX "^#define ASIO_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" version "${line}")
  if(NOT version OR version LESS 102800)
    set(${error_variable} "${dir} holds standalone Asio ${version}; joinery needs 1.28 \
(102800) or later (Debian 12's libasio-dev, 1.22, is too old)" PARENT_SCOPE)
    return()
  endif()
  math(EXPR major "${version} / 100000")
  math(EXPR minor "${version} / 100 % 1000")
  math(EXPR patch "${version} % 100")
  message(STATUS "joinery: standalone Asio ${major}.${minor}.${patch} at ${dir}")
  set(${error_variable} "" PARENT_SCOPE)
endfunction()
