// Re-exports the Vulkan headers' module, so that `import VulkanMemory` is all a user writes:
// the public API takes and returns Vulkan's own types (`VkBufferCreateInfo`, `VkFormat`,
// `VkDevice`, `PFN_vkGetInstanceProcAddr`, …), and `CVulkan` is no product of this package,
// so a dependent package could not name it in its own target's dependencies.
@_exported import CVulkan
