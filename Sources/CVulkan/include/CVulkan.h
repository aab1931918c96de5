#ifndef CVULKAN_H
#define CVULKAN_H
// Every Vulkan entry point is resolved at run time through vkGetInstanceProcAddr /
// vkGetDeviceProcAddr, so the package has no link-time dependency on libvulkan.
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#endif
