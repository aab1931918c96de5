#version 450
// BufferArenaComputeTests' shader: one invocation per job, each reading one slice of the
// arena's buffer and writing a transformed copy into another slice (dst[j] = src[j] * 3 + salt),
// so the host can check every word. The jobs come from a frame-ring slice bound at its
// own offset. Compiled by `make shaders` (glslangValidator -V); SPIR-V words committed
// in SlicesShader+SPIRV.swift.

layout(local_size_x = 64) in;

// The whole arena buffer, as words.
layout(std430, set = 0, binding = 0) buffer Arena {
    uint words[];
};

// One job per invocation: source word, destination word, word count, salt.
layout(std430, set = 0, binding = 1) readonly buffer Jobs {
    uvec4 jobs[];
};

layout(push_constant) uniform Parameters {
    uint jobCount;
};

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= jobCount) {
        return;
    }
    uvec4 job = jobs[i];
    for (uint j = 0u; j < job.z; ++j) {
        words[job.y + j] = words[job.x + j] * 3u + job.w;
    }
}
