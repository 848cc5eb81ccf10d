# Project-wide helpers: warnings, sanitizers, one library per src/ folder, tests with labels.

set(FERRITE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(FERRITE_WERROR)
  list(APPEND FERRITE_WARNINGS -Werror)
endif()

if(FERRITE_FUZZ)
  # Every library gets coverage instrumentation; only fuzz targets link the fuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(FERRITE_SANITIZE STREQUAL "thread")
  # ThreadSanitizer: every access shared between the loop and the helper threads is checked.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  add_compile_definitions(FERRITE_SANITIZE=1 FERRITE_TSAN=1)
elseif(FERRITE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(FERRITE_SANITIZE=1)
endif()

# Clang's thread-safety analysis: the GUARDED_BY / REQUIRES contracts of base/thread_annotations.h
# are checked at compile time (gcc ignores the attributes).
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND FERRITE_WARNINGS -Wthread-safety -Werror=thread-safety)
endif()

# ferrite_library(NAME SOURCES ... DEPS ...)
# A library per src/ folder; dependencies point down only.
function(ferrite_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${FERRITE_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# ferrite_test(NAME SOURCES ... DEPS ... LABELS ...)
# A GoogleTest binary registered with CTest; default label "unit".
function(ferrite_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT FERRITE_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FERRITE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
endfunction()
