// nn/unroll.glsl — loops unrolled by the preprocessor: N16_k / N32_k expand M over the
// indices 0u..15u / 0u..31u with k-1 leading arguments (N16_3(M, a, b) is M(a, b, 0u) ...
// M(a, b, 15u)). Why: lavapipe (Mesa 22.3) does not honour [[unroll]], and a loop left rolled
// costs a branch per iteration and counts against its 65,535-iteration cap per invocation.
// Bodies guard the indices they do not use ("if (i < D1)"); specialization folds the guards
// away. A list macro must not appear inside its own expansion (it would not expand again).
#ifndef NN_UNROLL_GLSL
#define NN_UNROLL_GLSL
#define N16_1(M) M(0u) M(1u) M(2u) M(3u) M(4u) M(5u) M(6u) M(7u) M(8u) M(9u) M(10u) M(11u) M(12u) M(13u) \
    M(14u) M(15u)
#define N16_2(M, a) M(a, 0u) M(a, 1u) M(a, 2u) M(a, 3u) M(a, 4u) M(a, 5u) M(a, 6u) M(a, 7u) M(a, 8u) M(a, 9u) \
    M(a, 10u) M(a, 11u) M(a, 12u) M(a, 13u) M(a, 14u) M(a, 15u)
#define N16_3(M, a, b) M(a, b, 0u) M(a, b, 1u) M(a, b, 2u) M(a, b, 3u) M(a, b, 4u) M(a, b, 5u) M(a, b, 6u) \
    M(a, b, 7u) M(a, b, 8u) M(a, b, 9u) M(a, b, 10u) M(a, b, 11u) M(a, b, 12u) M(a, b, 13u) \
    M(a, b, 14u) M(a, b, 15u)
#define N32_1(M) M(0u) M(1u) M(2u) M(3u) M(4u) M(5u) M(6u) M(7u) M(8u) M(9u) M(10u) M(11u) M(12u) M(13u) \
    M(14u) M(15u) M(16u) M(17u) M(18u) M(19u) M(20u) M(21u) M(22u) M(23u) M(24u) M(25u) \
    M(26u) M(27u) M(28u) M(29u) M(30u) M(31u)
#define N32_2(M, a) M(a, 0u) M(a, 1u) M(a, 2u) M(a, 3u) M(a, 4u) M(a, 5u) M(a, 6u) M(a, 7u) M(a, 8u) M(a, 9u) \
    M(a, 10u) M(a, 11u) M(a, 12u) M(a, 13u) M(a, 14u) M(a, 15u) M(a, 16u) M(a, 17u) \
    M(a, 18u) M(a, 19u) M(a, 20u) M(a, 21u) M(a, 22u) M(a, 23u) M(a, 24u) M(a, 25u) \
    M(a, 26u) M(a, 27u) M(a, 28u) M(a, 29u) M(a, 30u) M(a, 31u)
#define N32_3(M, a, b) M(a, b, 0u) M(a, b, 1u) M(a, b, 2u) M(a, b, 3u) M(a, b, 4u) M(a, b, 5u) M(a, b, 6u) \
    M(a, b, 7u) M(a, b, 8u) M(a, b, 9u) M(a, b, 10u) M(a, b, 11u) M(a, b, 12u) M(a, b, 13u) \
    M(a, b, 14u) M(a, b, 15u) M(a, b, 16u) M(a, b, 17u) M(a, b, 18u) M(a, b, 19u) \
    M(a, b, 20u) M(a, b, 21u) M(a, b, 22u) M(a, b, 23u) M(a, b, 24u) M(a, b, 25u) \
    M(a, b, 26u) M(a, b, 27u) M(a, b, 28u) M(a, b, 29u) M(a, b, 30u) M(a, b, 31u)
#endif
