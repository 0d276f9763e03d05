# Helpers shared by every folder: one library per core folder, one test binary per library.

set(BERTH_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
if(BERTH_WERROR)
  list(APPEND BERTH_WARNINGS -Werror)
endif()

# berth_library(NAME SOURCES a.cc b.cc DEPS x y)
# Builds a static library berth_<NAME> whose headers are included as "<folder>/<file>.h".
function(berth_library NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(berth_${NAME} STATIC ${ARG_SOURCES})
  target_include_directories(berth_${NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(berth_${NAME} PRIVATE ${BERTH_WARNINGS})
  target_link_libraries(berth_${NAME} PUBLIC ${ARG_DEPS})
endfunction()

# berth_binary(NAME SOURCES main.cc DEPS ...): an executable landing in <build>/bin.
function(berth_binary NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${NAME} ${ARG_SOURCES})
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${NAME} PRIVATE ${BERTH_WARNINGS})
  target_link_libraries(${NAME} PRIVATE ${ARG_DEPS})
endfunction()

# berth_unit_test(NAME SOURCES x_test.cc DEPS ...): a GoogleTest binary whose tests ctest lists one by one.
function(berth_unit_test NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${NAME} ${ARG_SOURCES})
  set_target_properties(${NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${NAME} PRIVATE ${BERTH_WARNINGS})
  target_link_libraries(${NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(labels unit ${ARG_LABELS})
  gtest_discover_tests(${NAME} PROPERTIES LABELS "${labels}" DISCOVERY_TIMEOUT 60)
endfunction()

# berth_integration_test(NAME SCRIPT path [TIMEOUT s]): a bash test driving real binaries.
function(berth_integration_test NAME)
  cmake_parse_arguments(ARG "" "SCRIPT;TIMEOUT" "" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME integration.${NAME}
           COMMAND bash ${ARG_SCRIPT})
  set_tests_properties(integration.${NAME} PROPERTIES
    LABELS integration
    TIMEOUT ${ARG_TIMEOUT}
    RUN_SERIAL TRUE
    SKIP_RETURN_CODE 77
    ENVIRONMENT "BERTH_BIN=${CMAKE_BINARY_DIR}/bin;BERTH_SRC=${PROJECT_SOURCE_DIR}")
endfunction()

# Sanitizers and fuzzing (issue 15).
# BERTH_SANITIZE=ON builds everything with ASan+UBSan (gcc or clang); UBSan findings abort.
# BERTH_FUZZ=ON (clang only) instruments everything for libFuzzer and implies BERTH_SANITIZE;
# tests/fuzz then links its targets with -fsanitize=fuzzer instead of the corpus-replay main.
option(BERTH_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(BERTH_FUZZ "Build the fuzz targets as libFuzzer binaries (clang only)" OFF)
if(BERTH_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "BERTH_FUZZ=ON needs clang: CC=clang CXX=clang++ cmake -DBERTH_FUZZ=ON ...")
endif()
if(BERTH_FUZZ OR BERTH_SANITIZE)
  set(BERTH_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${BERTH_SANITIZER_FLAGS})
  add_link_options(${BERTH_SANITIZER_FLAGS})
endif()
if(BERTH_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
