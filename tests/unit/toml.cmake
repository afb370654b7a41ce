# Tests of engine/config/toml.c: our own edge cases, and the TOML 1.0 conformance suite run
# through `nnxr toml-json`.
nnxr_add_test(test_toml SOURCES ${NNXR_TEST_SRC}/unit/test_toml.c TIMEOUT 120)
nnxr_add_script_test(toml_conformance COMMAND python3 ${NNXR_TEST_SRC}/toml_conformance.py --decoder $<TARGET_FILE:nnxr> --suite ${NNXR_TEST_SRC}/toml-test)
