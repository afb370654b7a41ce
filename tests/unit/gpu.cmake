# The Vulkan compute runtime (engine/gpu): device choice, buffers, kernels, the recorder and
# its barriers, timestamps, the pipeline cache, run-time GLSL. All run with validation on.
foreach(t device compute chain cache glsl limits workers)
  nnxr_add_test(test_gpu_${t} SOURCES ${NNXR_TEST_SRC}/unit/test_gpu_${t}.c GPU TIMEOUT 300)
endforeach()

# `nnxr devices --json`: parseable, every device with its limits, exactly one default.
nnxr_add_script_test(cli_devices_json GPU COMMAND python3 -c
  "import json,subprocess,sys; r=subprocess.run([sys.argv[1],'devices','--json'],capture_output=True,check=True); d=json.loads(r.stdout); assert len(d)>=1, d; assert sum(x['default'] for x in d)==1, d; assert all(x['max_storage_buffer_range']>0 and x['subgroup_size']>0 and x['max_compute_work_group_invocations']>0 and x['heaps'] for x in d), d; print(len(d), 'devices')"
  $<TARGET_FILE:nnxr>)
