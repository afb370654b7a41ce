// nn/common.glsl — what every nn kernel shares: activations and their derivatives taken from the
// activated OUTPUT (relu: y > 0, tanh: 1 - y^2, sigmoid: y (1 - y), linear: 1), with the same
// numbering as engine/nn/layers.h (0 linear, 1 relu, 2 tanh, 3 sigmoid), and numerically safe
// forms (no overflow of exp for large |z|).
#ifndef NN_COMMON_GLSL
#define NN_COMMON_GLSL

#define NN_LINEAR 0u
#define NN_RELU 1u
#define NN_TANH 2u
#define NN_SIGMOID 3u

float nn_sigmoid(float z)
{
    // exp of a non-positive argument only, so neither branch overflows.
    float e = exp(-abs(z));
    return z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

float nn_tanh(float z)
{
    float a = abs(z);
    float r;
    if (a < 0.125) {
        // (1 - t) / (1 + t) loses digits to cancellation near 0: use the series there.
        float a2 = a * a;
        r = a * (1.0 + a2 * (-1.0 / 3.0 + a2 * (2.0 / 15.0 + a2 * (-17.0 / 315.0))));
    } else {
        float t = exp(-2.0 * a);
        r = (1.0 - t) / (1.0 + t);
    }
    return z < 0.0 ? -r : r;
}

float nn_act(uint act, float z)
{
    if (act == NN_RELU)
        return max(z, 0.0);
    if (act == NN_TANH)
        return nn_tanh(z);
    if (act == NN_SIGMOID)
        return nn_sigmoid(z);
    return z;
}

// The derivative at the pre-activation that produced y = act(z), from y alone.
float nn_act_deriv_y(uint act, float y)
{
    if (act == NN_RELU)
        return y > 0.0 ? 1.0 : 0.0;
    if (act == NN_TANH)
        return 1.0 - y * y;
    if (act == NN_SIGMOID)
        return y * (1.0 - y);
    return 1.0;
}

#endif
