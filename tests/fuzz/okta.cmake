# Okta response parsers (owner: okta-client). Four entry points: user, app_user, error, link.
# Every build: okta_fuzz_replay_<t> runs the seed corpus through the entry point (CTest, unit).
# -DOKS_FUZZ=ON with clang: libFuzzer binaries okta_fuzz_<t> plus a short fixed-iteration
# CTest okta_fuzz_run_<t> each (new inputs go to a scratch dir in the build tree, never into
# the seed corpus).
set(OKTA_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(OKTA_SRC ${CMAKE_SOURCE_DIR}/common/okta)
set(OKTA_FUZZ_PARSER_user ${OKTA_SRC}/oks_okta_user.c)
set(OKTA_FUZZ_PARSER_app_user ${OKTA_SRC}/oks_okta_user.c)
set(OKTA_FUZZ_PARSER_error ${OKTA_SRC}/oks_okta_error.c)
set(OKTA_FUZZ_PARSER_link ${OKTA_SRC}/oks_okta_link.c)

foreach(t user app_user error link)
    oks_add_test(NAME okta_fuzz_replay_${t}
        SOURCES ${OKTA_FUZZ_DIR}/okta_replay.c ${OKTA_FUZZ_DIR}/okta_fuzz_${t}.c
        LABEL unit TIMEOUT 60
        ARGS ${OKTA_FUZZ_DIR}/okta_corpus/${t})
    if(OKS_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
        # The parser (and the three core files it needs) are compiled into the target itself so
        # libFuzzer sees their coverage and the target does not depend on the rest of oks_core.
        add_executable(okta_fuzz_${t} ${OKTA_FUZZ_DIR}/okta_fuzz_${t}.c ${OKTA_FUZZ_PARSER_${t}}
            ${CMAKE_SOURCE_DIR}/common/core/oks_err.c ${CMAKE_SOURCE_DIR}/common/core/oks_time.c
            ${CMAKE_SOURCE_DIR}/common/core/oks_json_arena.c)
        target_include_directories(okta_fuzz_${t} PRIVATE ${CMAKE_SOURCE_DIR}/common)
        set_target_properties(okta_fuzz_${t} PROPERTIES
            RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
        target_compile_options(okta_fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
        target_link_options(okta_fuzz_${t} PRIVATE -fsanitize=fuzzer,address,undefined)
        target_link_libraries(okta_fuzz_${t} PRIVATE PkgConfig::JANSSON PkgConfig::CURL Threads::Threads)
        set(work ${CMAKE_BINARY_DIR}/fuzz/okta_${t}_work)
        add_test(NAME okta_fuzz_run_${t}
            COMMAND sh -c "mkdir -p '${work}' && exec \"$0\" -runs=200000 -max_total_time=20 -max_len=4096 '${work}' '${OKTA_FUZZ_DIR}/okta_corpus/${t}'"
                    $<TARGET_FILE:okta_fuzz_${t}>)
        set_tests_properties(okta_fuzz_run_${t} PROPERTIES LABELS unit TIMEOUT 90)
    endif()
endforeach()
