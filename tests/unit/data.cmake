# Tests of engine/data: PRNG, IDX files and image data sets, the real Fashion-MNIST, playground
# generators and feature maps, npy/npz (checked by numpy itself when python3-numpy is there).
nnxr_add_test(test_data_rng SOURCES ${NNXR_TEST_SRC}/unit/test_data_rng.c TIMEOUT 60 LABELS data)
nnxr_add_test(test_data_idx SOURCES ${NNXR_TEST_SRC}/unit/test_data_idx.c TIMEOUT 60 LABELS data)
nnxr_add_test(test_data_fashion SOURCES ${NNXR_TEST_SRC}/unit/test_data_fashion.c TIMEOUT 120
  LABELS data)
# Exit code 77: dataset-fashion-mnist is not installed (the test says so).
set_tests_properties(test_data_fashion PROPERTIES SKIP_RETURN_CODE 77)
nnxr_add_test(test_data_playground SOURCES ${NNXR_TEST_SRC}/unit/test_data_playground.c
  TIMEOUT 60 LABELS data)
nnxr_add_test(test_data_npy SOURCES ${NNXR_TEST_SRC}/unit/test_data_npy.c TIMEOUT 60 LABELS data)
