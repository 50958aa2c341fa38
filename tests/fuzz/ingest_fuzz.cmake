# ingest: the webhook request/body parser (ingest/oks_ingest_request.c).
set(OKS_INGEST_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR})

# Every build: replay the seed corpus through the same entry point.
oks_add_test(NAME ingest_fuzz_replay
    SOURCES ${OKS_INGEST_FUZZ_DIR}/ingest_fuzz_request.c ${OKS_INGEST_FUZZ_DIR}/ingest_fuzz_replay.c
    LABEL unit LIBS oks_ingest_core ARGS ${OKS_INGEST_FUZZ_DIR}/ingest_corpus)

# -DOKS_FUZZ=ON with clang: the libFuzzer target plus a short fixed-length run in the suite.
# (The jansson arena the parser allocates from is common/core's, linked from oks_core.)
if(OKS_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    # The parser sources are compiled into the target itself, so only they carry the coverage
    # instrumentation (the daemon and its library stay uninstrumented).
    add_executable(ingest_fuzz_request ${OKS_INGEST_FUZZ_DIR}/ingest_fuzz_request.c
        ${CMAKE_SOURCE_DIR}/ingest/oks_ingest_request.c
        ${CMAKE_SOURCE_DIR}/common/event/oks_event.c
        ${CMAKE_SOURCE_DIR}/common/kafka/oks_kafka_dead_letter.c)
    target_include_directories(ingest_fuzz_request PRIVATE ${CMAKE_SOURCE_DIR}/ingest
        ${CMAKE_SOURCE_DIR}/common)
    target_compile_options(ingest_fuzz_request PRIVATE -fsanitize=fuzzer,address)
    target_link_options(ingest_fuzz_request PRIVATE -fsanitize=fuzzer,address)
    target_link_libraries(ingest_fuzz_request PRIVATE oks_core PkgConfig::JANSSON
        PkgConfig::CRYPTO)
    set_target_properties(ingest_fuzz_request PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    set(work ${CMAKE_CURRENT_BINARY_DIR}/ingest_corpus_work)
    file(MAKE_DIRECTORY ${work})
    # New inputs go to the work dir (first corpus argument); the seeds stay untouched.
    add_test(NAME ingest_fuzz_request
        COMMAND ingest_fuzz_request -runs=200000 -seed=1 -max_len=8192 -timeout=10 ${work}
                ${OKS_INGEST_FUZZ_DIR}/ingest_corpus)
    set_tests_properties(ingest_fuzz_request PROPERTIES LABELS unit TIMEOUT 120)
endif()
