// VMA on this project's benchmark workloads, for side-by-side rounds with `vkmem bench`.
//
// The same generator (wyrand), the same draws in the same order and the same timed loops as
// Sources/Workloads/VirtualWorkloads.swift (W1, W2, W4, W5 on one virtual block) and
// Sources/Workloads/ResourceWorkload.swift (W3: 2,000 live buffers, destroy + create + bind
// steps in chunks of 5,000 alternating with the same raw Vulkan calls). It prints JSON
// lines with the keys `vkmem bench ... --json` prints, so one script reads both.
//
// VMA is not part of this repository: fetch-vma.sh puts its header under .build/vma/, and
// the Makefile's `vma-side-by-side` target builds this file against it (g++ -O2 -DNDEBUG,
// Vulkan through dlopen as vkmem does). See README.md beside this file.

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#define VMA_STATIC_VULKAN_FUNCTIONS 0
#define VMA_DYNAMIC_VULKAN_FUNCTIONS 1
#define VMA_IMPLEMENTATION
#include "vk_mem_alloc.h"

#include "workload_draws.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <malloc.h>
#include <string>
#include <sys/resource.h>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double nanosecondsSince(Clock::time_point start) {
    return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

long minorFaults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void fail(const char* what, VkResult result) {
    std::fprintf(stderr, "vma-side-by-side: %s failed (VkResult %d)\n", what, (int)result);
    std::exit(1);
}

// MARK: - W1, W2, W4, W5 on a VmaVirtualBlock

struct VirtualResult {
    std::string workload;
    double allocNs = 0, freeNs = 0, stepNs = 0;
    int failures = 0;
    uint64_t live = 0, freeRanges = 0, largestFree = 0;
    long allocPageFaults = 0;
    double firstRunAllocNs = 0;
    long firstRunPageFaults = 0;
};

VmaVirtualBlock createBlock(uint64_t size) {
    VmaVirtualBlockCreateInfo info{};
    info.size = size;
    VmaVirtualBlock block = nullptr;
    VkResult result = vmaCreateVirtualBlock(&info, &block);
    if (result != VK_SUCCESS) fail("vmaCreateVirtualBlock", result);
    return block;
}

void destroyBlock(VmaVirtualBlock block) {
    vmaClearVirtualBlock(block);
    vmaDestroyVirtualBlock(block);
}

// Null when the block has no room.
VmaVirtualAllocation allocate(VmaVirtualBlock block, uint64_t size) {
    VmaVirtualAllocationCreateInfo info{};
    info.size = size;
    info.alignment = 256;
    VmaVirtualAllocation allocation = nullptr;
    return vmaVirtualAllocate(block, &info, &allocation, nullptr) == VK_SUCCESS ? allocation : nullptr;
}

void recordStatistics(VmaVirtualBlock block, VirtualResult& result) {
    VmaDetailedStatistics stats{};
    vmaCalculateVirtualBlockStatistics(block, &stats);
    result.live = stats.statistics.allocationCount;
    result.freeRanges = stats.unusedRangeCount;
    result.largestFree = stats.unusedRangeCount > 0 ? stats.unusedRangeSizeMax : 0;
}

struct SteadyStep {
    uint32_t victim;
    uint32_t size;
};

VirtualResult runSteady(const char* name, uint64_t blockSize, int live, int steps, uint64_t seed) {
    draws::SteadyDraw drawn = draws::drawSteady(seed, live, steps);
    const std::vector<uint64_t>& initial = drawn.initial;
    std::vector<SteadyStep> work(steps);
    for (int i = 0; i < steps; i++) work[i] = {drawn.victims[i], drawn.sizes[i]};

    auto fill = [&](VmaVirtualBlock block, std::vector<VmaVirtualAllocation>& slots) {
        slots.assign(live, nullptr);
        for (int i = 0; i < live; i++) slots[i] = allocate(block, initial[i]);
    };

    VirtualResult result;
    result.workload = name;
    std::vector<VmaVirtualAllocation> slots;

    // Pass 1: interleaved steps, timed as a whole.
    VmaVirtualBlock block = createBlock(blockSize);
    fill(block, slots);
    int failures = 0;
    auto start = Clock::now();
    for (const SteadyStep& step : work) {
        VmaVirtualAllocation& slot = slots[step.victim];
        if (slot) vmaVirtualFree(block, slot);
        slot = allocate(block, step.size);
        if (!slot) failures++;
    }
    result.stepNs = nanosecondsSince(start) / steps;
    result.failures = failures;
    recordStatistics(block, result);
    destroyBlock(block);

    // Pass 2: the same steps, frees and allocations timed apart per batch of 256.
    block = createBlock(blockSize);
    fill(block, slots);
    double freeTime = 0, allocTime = 0;
    long frees = 0;
    const int batch = 256;
    std::vector<int> batchVictims(batch);
    std::vector<VmaVirtualAllocation> displaced;
    for (int step = 0; step < steps;) {
        int n = std::min(batch, steps - step);
        auto t = Clock::now();
        for (VmaVirtualAllocation a : displaced) vmaVirtualFree(block, a);
        frees += (long)displaced.size();
        for (int k = 0; k < n; k++) {
            int v = (int)work[step + k].victim;
            batchVictims[k] = v;
            if (slots[v]) {
                vmaVirtualFree(block, slots[v]);
                slots[v] = nullptr;
                frees++;
            }
        }
        freeTime += nanosecondsSince(t);
        displaced.clear();
        t = Clock::now();
        for (int k = 0; k < n; k++) {
            if (VmaVirtualAllocation a = allocate(block, work[step + k].size)) {
                int v = batchVictims[k];
                if (slots[v]) displaced.push_back(slots[v]);
                slots[v] = a;
            }
        }
        allocTime += nanosecondsSince(t);
        step += n;
    }
    destroyBlock(block);
    result.allocNs = allocTime / steps;
    result.freeNs = freeTime / (double)std::max(frees, 1L);
    return result;
}

VirtualResult runFillThenDrain(int count, uint64_t size, uint64_t seed) {
    std::vector<int> order = draws::drawFreeOrder(seed, count);
    VmaVirtualBlock block = createBlock((uint64_t)count * size);
    std::vector<VmaVirtualAllocation> handles(count, nullptr);
    VirtualResult result;
    result.workload = "W2";

    long faultsBefore = minorFaults();
    auto t = Clock::now();
    for (int i = 0; i < count; i++) {
        handles[i] = allocate(block, size);
        if (!handles[i]) result.failures++;
    }
    result.allocNs = nanosecondsSince(t) / count;
    result.allocPageFaults = minorFaults() - faultsBefore;
    recordStatistics(block, result);
    t = Clock::now();
    for (int i : order)
        if (handles[i]) vmaVirtualFree(block, handles[i]);
    result.freeNs = nanosecondsSince(t) / count;
    result.stepNs = result.allocNs + result.freeNs;
    destroyBlock(block);
    return result;
}

VirtualResult runVirtual(const std::string& workload) {
    if (workload == "W1") return runSteady("W1", 2ULL << 30, 10000, 1000000, 1);
    if (workload == "W4") return runSteady("W4", 1ULL << 30, 10000, 1000000, 1);
    if (workload == "W5") return runSteady("W5", 16ULL << 30, 100000, 1000000, 1);
    return runFillThenDrain(100000, 64 << 10, 1);
}

// As VirtualWorkloadResult.median: counts from the median-step run, each time the median.
VirtualResult medianOf(const std::vector<VirtualResult>& runs) {
    std::vector<VirtualResult> sorted = runs;
    std::sort(sorted.begin(), sorted.end(),
              [](const VirtualResult& a, const VirtualResult& b) { return a.stepNs < b.stepNs; });
    VirtualResult result = sorted[sorted.size() / 2];
    std::vector<double> a, f, s;
    for (const auto& r : runs) {
        a.push_back(r.allocNs);
        f.push_back(r.freeNs);
        s.push_back(r.stepNs);
    }
    result.allocNs = median(a);
    result.freeNs = median(f);
    result.stepNs = median(s);
    return result;
}

void printVirtual(const VirtualResult& r) {
    std::printf("{\"library\": \"VMA %u.%u.%u\", \"workload\": \"%s\", \"alloc_ns\": %.1f, \"free_ns\": %.1f, "
                "\"step_ns\": %.1f, \"failures\": %d, \"live\": %llu, \"free_ranges\": %llu, \"largest_free\": %llu",
                VK_VERSION_MAJOR(VMA_VERSION), VK_VERSION_MINOR(VMA_VERSION), VK_VERSION_PATCH(VMA_VERSION), r.workload.c_str(), r.allocNs, r.freeNs,
                r.stepNs, r.failures, (unsigned long long)r.live, (unsigned long long)r.freeRanges,
                (unsigned long long)r.largestFree);
    if (r.workload == "W2")
        std::printf(", \"alloc_page_faults\": %ld, \"first_run_alloc_ns\": %.1f, \"first_run_page_faults\": %ld",
                    r.allocPageFaults, r.firstRunAllocNs, r.firstRunPageFaults);
    std::printf("}\n");
    std::fflush(stdout);
}

// MARK: - Vulkan, loaded at run time as vkmem loads it

struct Vulkan {
    void* library = nullptr;
    PFN_vkGetInstanceProcAddr getInstanceProcAddr = nullptr;
    PFN_vkGetDeviceProcAddr getDeviceProcAddr = nullptr;
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physicalDevice = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    std::string deviceName;
    uint32_t apiVersion = VK_API_VERSION_1_3;
    PFN_vkCreateBuffer createBuffer = nullptr;
    PFN_vkDestroyBuffer destroyBuffer = nullptr;
    PFN_vkGetBufferMemoryRequirements2 getBufferMemoryRequirements2 = nullptr;
    PFN_vkBindBufferMemory bindBufferMemory = nullptr;
    PFN_vkAllocateMemory allocateMemory = nullptr;
    PFN_vkFreeMemory freeMemory = nullptr;

    template <typename F> static F required(PFN_vkVoidFunction f, const char* name) {
        if (!f) {
            std::fprintf(stderr, "vma-side-by-side: %s is missing\n", name);
            std::exit(1);
        }
        return (F)f;
    }

    template <typename F> F instanceFunction(const char* name) {
        return required<F>(getInstanceProcAddr(instance, name), name);
    }

    template <typename F> F deviceFunction(const char* name) {
        return required<F>(getDeviceProcAddr(device, name), name);
    }

    // The first discrete GPU, else the first integrated GPU, else the first device: the
    // order vkmem's default follows (VKMEM_DEVICE aside).
    // With `bufferDeviceAddress`, the device gets that Vulkan 1.2 feature on (as vkmem asks
    // for by default) and VMA is told so.
    bool bufferDeviceAddress = false;

    void open() {
        library = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            std::fprintf(stderr, "vma-side-by-side: libvulkan.so.1 could not be loaded: %s\n", dlerror());
            std::exit(1);
        }
        getInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(library, "vkGetInstanceProcAddr");
        auto createInstance = (PFN_vkCreateInstance)getInstanceProcAddr(nullptr, "vkCreateInstance");
        VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
        app.pApplicationName = "vma-side-by-side";
        app.apiVersion = VK_API_VERSION_1_3;
        VkInstanceCreateInfo instanceInfo{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
        instanceInfo.pApplicationInfo = &app;
        VkResult result = createInstance(&instanceInfo, nullptr, &instance);
        if (result != VK_SUCCESS) fail("vkCreateInstance", result);

        auto enumerate = instanceFunction<PFN_vkEnumeratePhysicalDevices>("vkEnumeratePhysicalDevices");
        auto properties = instanceFunction<PFN_vkGetPhysicalDeviceProperties>("vkGetPhysicalDeviceProperties");
        uint32_t count = 0;
        enumerate(instance, &count, nullptr);
        std::vector<VkPhysicalDevice> devices(count);
        enumerate(instance, &count, devices.data());
        if (count == 0) {
            std::fprintf(stderr, "vma-side-by-side: no Vulkan device\n");
            std::exit(1);
        }
        VkPhysicalDeviceProperties chosen{};
        for (VkPhysicalDeviceType type : {VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
                                          VK_PHYSICAL_DEVICE_TYPE_CPU, VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU,
                                          VK_PHYSICAL_DEVICE_TYPE_OTHER}) {
            for (VkPhysicalDevice candidate : devices) {
                VkPhysicalDeviceProperties p{};
                properties(candidate, &p);
                if (p.deviceType == type && !physicalDevice) {
                    physicalDevice = candidate;
                    chosen = p;
                }
            }
        }
        deviceName = chosen.deviceName;
        apiVersion = std::min<uint32_t>(chosen.apiVersion, VK_API_VERSION_1_3);
        if (apiVersion < VK_API_VERSION_1_1) {
            std::fprintf(stderr, "vma-side-by-side: %s has Vulkan below 1.1\n", deviceName.c_str());
            std::exit(1);
        }

        float priority = 1;
        VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
        queue.queueFamilyIndex = 0;
        queue.queueCount = 1;
        queue.pQueuePriorities = &priority;
        VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
        features12.bufferDeviceAddress = VK_TRUE;
        VkDeviceCreateInfo deviceInfo{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
        if (bufferDeviceAddress) {
            if (apiVersion < VK_API_VERSION_1_2) {
                std::fprintf(stderr, "vma-side-by-side: --buffer-device-address needs Vulkan 1.2\n");
                std::exit(1);
            }
            deviceInfo.pNext = &features12;
        }
        deviceInfo.queueCreateInfoCount = 1;
        deviceInfo.pQueueCreateInfos = &queue;
        auto createDevice = instanceFunction<PFN_vkCreateDevice>("vkCreateDevice");
        result = createDevice(physicalDevice, &deviceInfo, nullptr, &device);
        if (result != VK_SUCCESS) fail("vkCreateDevice", result);
        getDeviceProcAddr = instanceFunction<PFN_vkGetDeviceProcAddr>("vkGetDeviceProcAddr");
        createBuffer = deviceFunction<PFN_vkCreateBuffer>("vkCreateBuffer");
        destroyBuffer = deviceFunction<PFN_vkDestroyBuffer>("vkDestroyBuffer");
        getBufferMemoryRequirements2 =
            deviceFunction<PFN_vkGetBufferMemoryRequirements2>("vkGetBufferMemoryRequirements2");
        bindBufferMemory = deviceFunction<PFN_vkBindBufferMemory>("vkBindBufferMemory");
        allocateMemory = deviceFunction<PFN_vkAllocateMemory>("vkAllocateMemory");
        freeMemory = deviceFunction<PFN_vkFreeMemory>("vkFreeMemory");
    }

    void close() {
        instanceFunction<PFN_vkDestroyDevice>("vkDestroyDevice")(device, nullptr);
        instanceFunction<PFN_vkDestroyInstance>("vkDestroyInstance")(instance, nullptr);
    }

    // vkCreateBuffer, vkGetBufferMemoryRequirements2 with the dedicated chain (as VMA and
    // the project's allocator ask), vkBindBufferMemory: RawBufferCalls.createAndBind.
    VkBuffer createAndBind(const VkBufferCreateInfo& info, VkDeviceMemory memory, VkDeviceSize* size = nullptr) {
        VkBuffer buffer = VK_NULL_HANDLE;
        VkResult result = createBuffer(device, &info, nullptr, &buffer);
        if (result != VK_SUCCESS) fail("vkCreateBuffer", result);
        VkMemoryDedicatedRequirements dedicated{VK_STRUCTURE_TYPE_MEMORY_DEDICATED_REQUIREMENTS};
        VkMemoryRequirements2 requirements{VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2, &dedicated};
        VkBufferMemoryRequirementsInfo2 query{VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2};
        query.buffer = buffer;
        getBufferMemoryRequirements2(device, &query, &requirements);
        if (size) *size = requirements.memoryRequirements.size;
        if (memory != VK_NULL_HANDLE) {
            result = bindBufferMemory(device, buffer, memory, 0);
            if (result != VK_SUCCESS) fail("vkBindBufferMemory", result);
        }
        return buffer;
    }
};

// MARK: - W3 with VMA

struct ResourceResult {
    double pairNs = 0, rawPairNs = 0, allocatorPairNs = 0;
    long allocateCalls = 0;
    uint64_t committedBytes = 0, liveBytes = 0, peakLiveBytes = 0, blocks = 0;
    uint64_t bufferAlignment = 0;
};

long deviceMemoryAllocations = 0;

void VKAPI_PTR countAllocation(VmaAllocator, uint32_t, VkDeviceMemory, VkDeviceSize, void*) {
    deviceMemoryAllocations++;
}

VmaAllocator createAllocator(Vulkan& vk) {
    VmaVulkanFunctions functions{};
    functions.vkGetInstanceProcAddr = vk.getInstanceProcAddr;
    functions.vkGetDeviceProcAddr = vk.getDeviceProcAddr;
    static VmaDeviceMemoryCallbacks callbacks{countAllocation, nullptr, nullptr};
    VmaAllocatorCreateInfo info{};
    info.physicalDevice = vk.physicalDevice;
    info.device = vk.device;
    info.instance = vk.instance;
    info.vulkanApiVersion = vk.apiVersion;
    info.pVulkanFunctions = &functions;
    info.pDeviceMemoryCallbacks = &callbacks;
    if (vk.bufferDeviceAddress) info.flags |= VMA_ALLOCATOR_CREATE_BUFFER_DEVICE_ADDRESS_BIT;
    VmaAllocator allocator = nullptr;
    VkResult result = vmaCreateAllocator(&info, &allocator);
    if (result != VK_SUCCESS) fail("vmaCreateAllocator", result);
    return allocator;
}

VkBufferCreateInfo bufferInfo() {
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    return info;
}

ResourceResult runResources(Vulkan& vk, int live, int steps, uint64_t seed) {
    draws::ResourceDraw drawn = draws::drawResources(seed, live, steps);
    const std::vector<uint64_t>& initialSizes = drawn.initialSizes;
    const std::vector<uint64_t>& stepSizes = drawn.stepSizes;
    const std::vector<int>& victims = drawn.victims;
    VkBufferCreateInfo info = bufferInfo();
    const int chunk = 5000;

    VmaAllocator allocator = createAllocator(vk);
    VmaAllocationCreateInfo gpuOnly{};
    gpuOnly.usage = VMA_MEMORY_USAGE_AUTO;
    uint32_t typeIndex = 0;
    info.size = 4096;
    VkResult result = vmaFindMemoryTypeIndexForBufferInfo(allocator, &info, &gpuOnly, &typeIndex);
    if (result != VK_SUCCESS) fail("vmaFindMemoryTypeIndexForBufferInfo", result);

    // The raw side: the same calls, every buffer bound at offset 0 of one 2 MiB memory.
    VkMemoryAllocateInfo rawMemoryInfo{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    rawMemoryInfo.allocationSize = 2 << 20;
    rawMemoryInfo.memoryTypeIndex = typeIndex;
    VkDeviceMemory rawMemory = VK_NULL_HANDLE;
    result = vk.allocateMemory(vk.device, &rawMemoryInfo, nullptr, &rawMemory);
    if (result != VK_SUCCESS) fail("vkAllocateMemory", result);
    std::vector<VkBuffer> rawBuffers(live);
    for (int i = 0; i < live; i++) {
        info.size = initialSizes[i];
        rawBuffers[i] = vk.createAndBind(info, rawMemory);
    }

    std::vector<VkBuffer> buffers(live);
    std::vector<VmaAllocation> allocations(live);
    for (int i = 0; i < live; i++) {
        info.size = initialSizes[i];
        result = vmaCreateBuffer(allocator, &info, &gpuOnly, &buffers[i], &allocations[i], nullptr);
        if (result != VK_SUCCESS) fail("vmaCreateBuffer", result);
    }
    long callsBefore = deviceMemoryAllocations;

    double rawTime = 0, allocatorTime = 0;
    for (int first = 0; first < steps; first += chunk) {
        int end = std::min(first + chunk, steps);
        auto start = Clock::now();
        for (int step = first; step < end; step++) {
            vk.destroyBuffer(vk.device, rawBuffers[victims[step]], nullptr);
            info.size = stepSizes[step];
            rawBuffers[victims[step]] = vk.createAndBind(info, rawMemory);
        }
        rawTime += nanosecondsSince(start);
        start = Clock::now();
        for (int step = first; step < end; step++) {
            int victim = victims[step];
            vmaDestroyBuffer(allocator, buffers[victim], allocations[victim]);
            info.size = stepSizes[step];
            result = vmaCreateBuffer(allocator, &info, &gpuOnly, &buffers[victim], &allocations[victim], nullptr);
            if (result != VK_SUCCESS) fail("vmaCreateBuffer", result);
        }
        allocatorTime += nanosecondsSince(start);
    }

    ResourceResult r;
    r.pairNs = allocatorTime / steps;
    r.rawPairNs = rawTime / steps;
    r.allocateCalls = deviceMemoryAllocations - callsBefore;
    VmaTotalStatistics stats{};
    vmaCalculateStatistics(allocator, &stats);
    r.committedBytes = stats.total.statistics.blockBytes;
    r.liveBytes = stats.total.statistics.allocationBytes;
    r.blocks = stats.total.statistics.blockCount;
    VmaAllocationInfo first{};
    vmaGetAllocationInfo(allocator, allocations[0], &first);

    for (int i = 0; i < live; i++) vmaDestroyBuffer(allocator, buffers[i], allocations[i]);
    vmaDestroyAllocator(allocator);
    for (VkBuffer buffer : rawBuffers) vk.destroyBuffer(vk.device, buffer, nullptr);
    vk.freeMemory(vk.device, rawMemory, nullptr);

    // The driver's sizes, for the live peak (ResourceWorkload.peakLive), and its alignment.
    std::unordered_map<uint64_t, uint64_t> placedSize;
    auto requirementSize = [&](uint64_t size) {
        auto found = placedSize.find(size);
        if (found != placedSize.end()) return found->second;
        info.size = size;
        VkDeviceSize required = 0;
        vk.destroyBuffer(vk.device, vk.createAndBind(info, VK_NULL_HANDLE, &required), nullptr);
        placedSize[size] = required;
        return (uint64_t)required;
    };
    std::vector<uint64_t> slots(live);
    uint64_t liveBytes = 0;
    for (int i = 0; i < live; i++) liveBytes += (slots[i] = requirementSize(initialSizes[i]));
    uint64_t peak = liveBytes;
    for (int step = 0; step < steps; step++) {
        uint64_t size = requirementSize(stepSizes[step]);
        liveBytes = liveBytes - slots[victims[step]] + size;
        slots[victims[step]] = size;
        peak = std::max(peak, liveBytes);
    }
    r.peakLiveBytes = peak;
    {
        info.size = 4096;
        VkBuffer probe = vk.createAndBind(info, VK_NULL_HANDLE);
        VkMemoryRequirements2 requirements{VK_STRUCTURE_TYPE_MEMORY_REQUIREMENTS_2};
        VkBufferMemoryRequirementsInfo2 query{VK_STRUCTURE_TYPE_BUFFER_MEMORY_REQUIREMENTS_INFO_2};
        query.buffer = probe;
        vk.getBufferMemoryRequirements2(vk.device, &query, &requirements);
        r.bufferAlignment = requirements.memoryRequirements.alignment;
        vk.destroyBuffer(vk.device, probe, nullptr);
    }

    // The allocator alone: free + allocate of the same sizes, no Vulkan object, in a fresh
    // allocator (ResourceWorkload.allocatorPairs: alignment 64, the GPU-only type).
    allocator = createAllocator(vk);
    VmaAllocationCreateInfo typed{};
    typed.memoryTypeBits = 1u << typeIndex;
    auto allocateAlone = [&](uint64_t size) {
        VkMemoryRequirements requirements{size, 64, 1u << typeIndex};
        VmaAllocation allocation = nullptr;
        VkResult allocated = vmaAllocateMemory(allocator, &requirements, &typed, &allocation, nullptr);
        if (allocated != VK_SUCCESS) fail("vmaAllocateMemory", allocated);
        return allocation;
    };
    for (int i = 0; i < live; i++) allocations[i] = allocateAlone(initialSizes[i]);
    auto start = Clock::now();
    for (int step = 0; step < steps; step++) {
        vmaFreeMemory(allocator, allocations[victims[step]]);
        allocations[victims[step]] = allocateAlone(stepSizes[step]);
    }
    r.allocatorPairNs = nanosecondsSince(start) / steps;
    for (VmaAllocation allocation : allocations) vmaFreeMemory(allocator, allocation);
    vmaDestroyAllocator(allocator);
    return r;
}

int usage() {
    std::fprintf(stderr,
                 "usage: vma-side-by-side virtual [--workload W1|W2|W4|W5] [--runs N]\n"
                 "       vma-side-by-side resources [--runs N] [--steps N] [--live N] [--seed N]\n"
                 "                                  [--buffer-device-address 1]\n"
                 "Prints JSON lines with the keys of vkmem bench ... --json (means only, no latency pass).\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string command = argv[1];
    std::string workload;
    int runs = 3, steps = 100000, live = 2000;
    uint64_t seed = 3;
    bool bufferDeviceAddress = false;
    for (int i = 2; i < argc; i++) {
        std::string arg = argv[i];
        if (i + 1 >= argc) return usage();
        std::string value = argv[++i];
        if (arg == "--workload") workload = value;
        else if (arg == "--runs") runs = std::atoi(value.c_str());
        else if (arg == "--steps") steps = std::atoi(value.c_str());
        else if (arg == "--live") live = std::atoi(value.c_str());
        else if (arg == "--seed") seed = std::strtoull(value.c_str(), nullptr, 10);
        else if (arg == "--buffer-device-address") bufferDeviceAddress = value == "1";
        else return usage();
    }
    if (runs < 1 || steps < 1 || live < 1) return usage();
    // As `vkmem bench` (HeapRetention): freed heap memory stays in the process.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT32_MAX);

    if (command == "virtual") {
        std::vector<std::string> selected = {"W1", "W2", "W4", "W5"};
        if (!workload.empty()) selected = {workload};
        for (const std::string& w : selected) {
            if (w != "W1" && w != "W2" && w != "W4" && w != "W5") return usage();
            // W2's first run pays the page faults of fresh memory; reported apart, as vkmem does.
            VirtualResult firstRun;
            if (w == "W2") firstRun = runVirtual(w);
            std::vector<VirtualResult> results;
            for (int run = 0; run < runs; run++) results.push_back(runVirtual(w));
            VirtualResult r = medianOf(results);
            r.firstRunAllocNs = firstRun.allocNs;
            r.firstRunPageFaults = firstRun.allocPageFaults;
            printVirtual(r);
        }
        return 0;
    }
    if (command == "resources") {
        Vulkan vk;
        vk.bufferDeviceAddress = bufferDeviceAddress;
        vk.open();
        std::vector<ResourceResult> results;
        for (int run = 0; run < runs; run++) results.push_back(runResources(vk, live, steps, seed));
        std::vector<ResourceResult> sorted = results;
        std::sort(sorted.begin(), sorted.end(),
                  [](const ResourceResult& a, const ResourceResult& b) { return a.pairNs < b.pairNs; });
        ResourceResult r = sorted[sorted.size() / 2];
        std::vector<double> raw, alone;
        for (const auto& x : results) {
            raw.push_back(x.rawPairNs);
            alone.push_back(x.allocatorPairNs);
        }
        std::sort(raw.begin(), raw.end());
        std::sort(alone.begin(), alone.end());
        r.rawPairNs = raw[raw.size() / 2];
        r.allocatorPairNs = alone[alone.size() / 2];
        std::printf("{\"library\": \"VMA %u.%u.%u\", \"workload\": \"W3\", \"pair_ns\": %.1f, \"raw_pair_ns\": %.1f, "
                    "\"allocate_calls\": %ld, \"committed_bytes\": %llu, \"live_bytes\": %llu, \"pages\": %llu, "
                    "\"buffer_alignment\": %llu, \"allocator_pair_ns\": %.1f, \"peak_live_bytes\": %llu, "
                    "\"buffer_device_address\": %s, \"device\": \"%s\", \"runs\": %d}\n",
                    VK_VERSION_MAJOR(VMA_VERSION), VK_VERSION_MINOR(VMA_VERSION), VK_VERSION_PATCH(VMA_VERSION), r.pairNs, r.rawPairNs, r.allocateCalls,
                    (unsigned long long)r.committedBytes, (unsigned long long)r.liveBytes,
                    (unsigned long long)r.blocks, (unsigned long long)r.bufferAlignment, r.allocatorPairNs,
                    (unsigned long long)r.peakLiveBytes, bufferDeviceAddress ? "true" : "false", vk.deviceName.c_str(), runs);
        vk.close();
        return 0;
    }
    return usage();
}
