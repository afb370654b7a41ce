// nn/class_sums.comp — per-class sums of activations: invocation (c, f) adds sum over samples
// with label c of x[n][f] to sums[c][f]; invocations with f == 0 add the sample count to
// counts[c]. Labels outside [0, classes) are skipped.
#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Labels { int labels[]; };
layout(std430, binding = 2) buffer Sums { float sums[]; };
layout(std430, binding = 3) buffer Counts { float counts[]; };
layout(push_constant) uniform Push {
    uint batch, features, classes, x_off, labels_off, sums_off, counts_off;
} pc;

void main()
{
    uint total = pc.classes * pc.features;
    uint stride = gl_NumWorkGroups.x * 64u;
    for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
        uint c = i / pc.features, f = i % pc.features;
        float s = 0.0, cnt = 0.0;
        for (uint n = 0u; n < pc.batch; n++) {
            if (labels[pc.labels_off + n] == int(c)) {
                s += x[pc.x_off + n * pc.features + f];
                cnt += 1.0;
            }
        }
        sums[pc.sums_off + i] += s;
        if (f == 0u)
            counts[pc.counts_off + c] += cnt;
    }
}
