# The CPU reference of the network layers, models and optimizers (nn/ref*.c): CPU only, fast.
nnxr_add_test(test_ref_layers SOURCES ${NNXR_TEST_SRC}/unit/test_ref_layers.c TIMEOUT 60)
nnxr_add_test(test_ref_models SOURCES ${NNXR_TEST_SRC}/unit/test_ref_models.c TIMEOUT 60)
nnxr_add_test(test_ref_optim SOURCES ${NNXR_TEST_SRC}/unit/test_ref_optim.c TIMEOUT 60)
