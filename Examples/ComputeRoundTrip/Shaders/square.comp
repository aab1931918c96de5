#version 450
// The example's compute shader: squares every value of a storage buffer in place and
// adds a constant, so the host can check each result exactly (i * i + add, modulo 2^32).
// Compiled to square.comp.spv by `make shaders` (glslangValidator -V); both are committed.

layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) buffer Values {
    uint values[];
};

layout(push_constant) uniform Parameters {
    uint count; // values past the last workgroup's end are left alone
    uint add;
};

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < count) {
        values[i] = values[i] * values[i] + add;
    }
}
