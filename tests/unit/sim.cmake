# Tests of engine/sim: the latent cloud's forces against a double-precision CPU reference,
# sphere annotation and labels, the label journal (incl. a SIGKILL crash test), the graph
# layout; and the C reference of the forces benchmark (tests/bench/forces_ref.c).
nnxr_add_test(test_sim_forces SOURCES ${NNXR_TEST_SRC}/unit/test_sim_forces.c GPU TIMEOUT 300)
nnxr_add_test(test_sim_labels SOURCES ${NNXR_TEST_SRC}/unit/test_sim_labels.c GPU TIMEOUT 120)
nnxr_add_test(test_sim_journal SOURCES ${NNXR_TEST_SRC}/unit/test_sim_journal.c TIMEOUT 120)
nnxr_add_test(test_sim_graph SOURCES ${NNXR_TEST_SRC}/unit/test_sim_graph.c TIMEOUT 60)

# The C baseline of `nnxr bench forces`, built for speed whatever the build type: -O3
# -march=native, OpenMP on all cores. -fno-math-errno changes no result; without it gcc keeps
# sqrtf's errno path and will not vectorise the j-loop (measured: 0.1 vs 2.3 G pairs/s).
find_package(OpenMP REQUIRED COMPONENTS C)
add_executable(forces_ref ${NNXR_TEST_SRC}/bench/forces_ref.c)
target_compile_options(forces_ref PRIVATE -O3 -march=native -fno-math-errno)
target_link_libraries(forces_ref PRIVATE OpenMP::OpenMP_C m)
# The same at 256-bit vectors: where -march=native means AVX-512, it tells the kernel's cost
# from the vector width (llvmpipe runs 256-bit code; the loop is divider-bound per
# instruction, so the 512-bit build does twice the pairs).
include(CheckCCompilerFlag)
check_c_compiler_flag(-mprefer-vector-width=256 NNXR_HAVE_PREFER_WIDTH)
if(NNXR_HAVE_PREFER_WIDTH)
  add_executable(forces_ref_256 ${NNXR_TEST_SRC}/bench/forces_ref.c)
  target_compile_options(forces_ref_256 PRIVATE -O3 -march=native -fno-math-errno
    -mprefer-vector-width=256)
  target_link_libraries(forces_ref_256 PRIVATE OpenMP::OpenMP_C m)
endif()
# A driver of nnxr_bench_forces until the CLI calls it.
add_executable(bench_forces ${NNXR_TEST_SRC}/bench/bench_forces_main.c)
target_link_libraries(bench_forces PRIVATE nnxr_engine)
add_dependencies(bench_forces forces_ref)
if(TARGET forces_ref_256)
  add_dependencies(bench_forces forces_ref_256)
endif()
nnxr_add_script_test(bench_forces_json GPU TIMEOUT 300
  COMMAND python3 ${NNXR_TEST_SRC}/bench/check_forces_json.py $<TARGET_FILE:bench_forces>)
