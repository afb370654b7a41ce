# Tests of the trainer (engine/nn: model.c, trainer*.c, surgery.c, checkpoint.c, train_data.c)
# and of training in the app. All run on the Vulkan device with validation on.
#   test_train_ref      GPU steps against nn/ref step for step (mlp, fused mlp, cnn, vae)
#   test_train_control  evaluation outputs against nn/ref, surgery, set_weights, checkpoints
#                       (numpy reads them), divergence, hyperparameters, chunked data, frames
#   test_train_learn    learning: Fashion-MNIST mlp, playground spiral and xor, VAE labels
#   train_run_headless  `nnxr run` of an mlp scene: rising accuracy, checkpoint, exports
nnxr_add_test(test_train_ref SOURCES ${NNXR_TEST_SRC}/unit/test_train_ref.c GPU TIMEOUT 120
  LABELS train)
nnxr_add_test(test_train_control SOURCES ${NNXR_TEST_SRC}/unit/test_train_control.c GPU
  TIMEOUT 180 LABELS train)
nnxr_add_test(test_train_learn SOURCES ${NNXR_TEST_SRC}/unit/test_train_learn.c GPU
  TIMEOUT 300 LABELS train)
# Exit code 77: dataset-fashion-mnist is not installed (the Fashion-MNIST parts cannot run).
set_tests_properties(test_train_learn PROPERTIES SKIP_RETURN_CODE 77)
nnxr_add_script_test(train_run_headless GPU COMMAND python3
  ${NNXR_TEST_SRC}/unit/test_train_run.py --nnxr $<TARGET_FILE:nnxr>
  --out ${NNXR_TEST_OUT}/train_run TIMEOUT 300 LABELS train)
set_tests_properties(train_run_headless PROPERTIES SKIP_RETURN_CODE 77)
#   bench_train_json    `nnxr bench train --json` with a stand-in for PyTorch
nnxr_add_script_test(bench_train_json GPU COMMAND python3
  ${NNXR_TEST_SRC}/bench/check_train_json.py $<TARGET_FILE:nnxr>
  ${NNXR_TEST_SRC}/bench/fake_torch_python.sh TIMEOUT 600 LABELS train)
