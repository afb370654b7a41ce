# Tests of the nn kernels (engine/nn/layers*.c, shaders/nn/): every kernel against the double
# reference of engine/nn/ref*.c on odd shapes, GEMM layouts and sizes past lavapipe's loop cap,
# optimizers, the GPU random generator, the fused tiny-MLP step. GPU tests: validation on, and
# any validation message fails them.
nnxr_add_test(test_nnk_gemm SOURCES ${NNXR_TEST_SRC}/unit/test_nnk_gemm.c GPU TIMEOUT 120)
nnxr_add_test(test_nnk_layers SOURCES ${NNXR_TEST_SRC}/unit/test_nnk_layers.c GPU TIMEOUT 120)
nnxr_add_test(test_nnk_loss SOURCES ${NNXR_TEST_SRC}/unit/test_nnk_loss.c GPU TIMEOUT 120)
nnxr_add_test(test_nnk_optim SOURCES ${NNXR_TEST_SRC}/unit/test_nnk_optim.c GPU TIMEOUT 60)
nnxr_add_test(test_nnk_fused SOURCES ${NNXR_TEST_SRC}/unit/test_nnk_fused.c GPU TIMEOUT 120)

# The GEMM benchmark (not a test: tests/bench/ holds no timed tests). tests/CMakeLists.txt
# has no bench section, so it is built from here.
add_executable(gemm_bench ${NNXR_TEST_SRC}/bench/gemm_bench.c)
target_link_libraries(gemm_bench PRIVATE nnxr_engine)

# Where a training step's time goes, kernel by kernel (device timestamps): the cnn and the
# fused tiny MLP of `nnxr bench train`. A profiling tool, not a test.
add_executable(nn_profile ${NNXR_TEST_SRC}/bench/nn_profile.c)
target_link_libraries(nn_profile PRIVATE nnxr_engine)
