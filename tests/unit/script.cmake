# nnxr.script: commands on a timetable drive live control in a real headless run (surgery,
# hyperparameters, evaluation, pause; a command the scene cannot carry out is refused), and a
# malformed entry is an error naming the plugin's table, the entry and what was expected.
nnxr_add_script_test(script_training GPU COMMAND /usr/bin/python3
  ${NNXR_TEST_SRC}/script/script_run.py --nnxr $<TARGET_FILE:nnxr>
  --scene ${NNXR_TEST_SRC}/script/training.toml --out ${NNXR_TEST_OUT}/script_training)
nnxr_add_script_test(script_bad_command COMMAND python3 ${NNXR_TEST_SRC}/expect.py --exit 1
  --stderr "bad_command.toml:1:1: [[plugin]] #1: plugin 'nnxr.script'"
  --stderr "its create failed: [[plugin]] #1 (nnxr.script) commands[1] \"2 add_nueron 0\": unknown command 'add_nueron', expected one of pause,"
  -- $<TARGET_FILE:nnxr> check ${NNXR_TEST_SRC}/script/bad_command.toml)

