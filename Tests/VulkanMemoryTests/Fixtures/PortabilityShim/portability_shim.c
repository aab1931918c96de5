// A Vulkan "loader" for PortabilityTests: a shared library that exports
// vkGetInstanceProcAddr, forwards to the real libvulkan.so.1, and presents the two
// portability extensions a Vulkan loader on macOS presents over MoltenVK or KosmicKrisp:
//
// - vkEnumerateInstanceExtensionProperties lists VK_KHR_portability_enumeration (or hides
//   it, when configured to), as the Apple loader does;
// - vkEnumerateDeviceExtensionProperties lists VK_KHR_portability_subset (when configured
//   to), as a portability driver does;
// - vkCreateInstance and vkCreateDevice record what the application asked for (the
//   enumerate-portability flag and either extension), then remove from the request what
//   the real loader or device does not offer before forwarding, so that lavapipe and the
//   validation layer below see a valid request.
//
// The test compiles this file with the system C compiler, opens it with
// VulkanLoader.open(library:) and reads the record through portability_shim_record.
// State is process-wide: the tests that use it run serialized.
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PORTABILITY_ENUMERATION "VK_KHR_portability_enumeration"
#define PORTABILITY_SUBSET "VK_KHR_portability_subset"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static PFN_vkGetInstanceProcAddr next_get_instance_proc_addr;
static PFN_vkEnumerateDeviceExtensionProperties next_enumerate_device_extensions;
static PFN_vkCreateDevice next_create_device;

// Configuration (portability_shim_configure) and what was seen (portability_shim_record).
static int offer_instance_extension = 1;
static int offer_device_extension = 1;
static int instance_creates, asked_enumerate_portability_flag, asked_portability_enumeration;
static int device_creates, asked_portability_subset;

static PFN_vkGetInstanceProcAddr next(void) {
    pthread_mutex_lock(&lock);
    if (!next_get_instance_proc_addr) {
        void *real = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
        if (real) next_get_instance_proc_addr = (PFN_vkGetInstanceProcAddr)dlsym(real, "vkGetInstanceProcAddr");
    }
    PFN_vkGetInstanceProcAddr result = next_get_instance_proc_addr;
    pthread_mutex_unlock(&lock);
    return result;
}

static int has_name(uint32_t count, const char *const *names, const char *name) {
    for (uint32_t i = 0; i < count; i++) {
        if (names && names[i] && strcmp(names[i], name) == 0) return 1;
    }
    return 0;
}

static int lists_extension(uint32_t count, const VkExtensionProperties *list, const char *name) {
    for (uint32_t i = 0; i < count; i++) {
        if (strcmp(list[i].extensionName, name) == 0) return 1;
    }
    return 0;
}

// Copies `names` without `name` into a new array the caller frees; returns the new count.
static uint32_t without_name(uint32_t count, const char *const *names, const char *name, const char ***out) {
    *out = calloc(count ? count : 1, sizeof(char *));
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (strcmp(names[i], name) != 0) (*out)[kept++] = names[i];
    }
    return kept;
}

// Vulkan's two-call idiom over a list the shim built: count only, or fill with VK_INCOMPLETE.
static VkResult answer(const VkExtensionProperties *list, uint32_t count, uint32_t *pCount,
                       VkExtensionProperties *pProperties) {
    if (!pProperties) {
        *pCount = count;
        return VK_SUCCESS;
    }
    uint32_t copied = *pCount < count ? *pCount : count;
    memcpy(pProperties, list, copied * sizeof(VkExtensionProperties));
    *pCount = copied;
    return copied < count ? VK_INCOMPLETE : VK_SUCCESS;
}

// The real list with `name` added (add != 0) or removed (add == 0); the caller frees it.
static VkResult edited_list(VkResult (*fill)(void *, uint32_t *, VkExtensionProperties *), void *context,
                            const char *name, int add, VkExtensionProperties **out, uint32_t *outCount) {
    uint32_t count = 0;
    VkResult result = fill(context, &count, NULL);
    if (result != VK_SUCCESS) return result;
    VkExtensionProperties *list = calloc(count + 1, sizeof(VkExtensionProperties));
    result = fill(context, &count, list);
    if (result < 0) { free(list); return result; }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (!add && strcmp(list[i].extensionName, name) == 0) continue;
        list[kept++] = list[i];
    }
    if (add && !lists_extension(kept, list, name)) {
        memset(&list[kept], 0, sizeof(VkExtensionProperties));
        strncpy(list[kept].extensionName, name, VK_MAX_EXTENSION_NAME_SIZE - 1);
        list[kept].specVersion = 1;
        kept++;
    }
    *out = list;
    *outCount = kept;
    return VK_SUCCESS;
}

// Whether the real loader or device lists `name`.
static int real_lists(VkResult (*fill)(void *, uint32_t *, VkExtensionProperties *), void *context,
                      const char *name) {
    uint32_t count = 0;
    if (fill(context, &count, NULL) != VK_SUCCESS) return 0;
    VkExtensionProperties *list = calloc(count ? count : 1, sizeof(VkExtensionProperties));
    int found = fill(context, &count, list) >= 0 && lists_extension(count, list, name);
    free(list);
    return found;
}

static VkResult fill_instance(void *context, uint32_t *count, VkExtensionProperties *list) {
    (void)context;
    PFN_vkEnumerateInstanceExtensionProperties real =
        (PFN_vkEnumerateInstanceExtensionProperties)next()(NULL, "vkEnumerateInstanceExtensionProperties");
    return real(NULL, count, list);
}

static VKAPI_ATTR VkResult VKAPI_CALL shim_enumerate_instance_extensions(
    const char *pLayerName, uint32_t *pCount, VkExtensionProperties *pProperties) {
    if (pLayerName) {
        PFN_vkEnumerateInstanceExtensionProperties real =
            (PFN_vkEnumerateInstanceExtensionProperties)next()(NULL, "vkEnumerateInstanceExtensionProperties");
        return real(pLayerName, pCount, pProperties);
    }
    VkExtensionProperties *list = NULL;
    uint32_t count = 0;
    VkResult result = edited_list(fill_instance, NULL, PORTABILITY_ENUMERATION, offer_instance_extension, &list, &count);
    if (result != VK_SUCCESS) return result;
    result = answer(list, count, pCount, pProperties);
    free(list);
    return result;
}

static VKAPI_ATTR VkResult VKAPI_CALL shim_create_instance(
    const VkInstanceCreateInfo *pCreateInfo, const VkAllocationCallbacks *pAllocator, VkInstance *pInstance) {
    int flag = (pCreateInfo->flags & VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR) != 0;
    int extension = has_name(pCreateInfo->enabledExtensionCount, pCreateInfo->ppEnabledExtensionNames,
                             PORTABILITY_ENUMERATION);
    pthread_mutex_lock(&lock);
    instance_creates++;
    asked_enumerate_portability_flag |= flag;
    asked_portability_enumeration |= extension;
    pthread_mutex_unlock(&lock);

    // Forward unchanged where the real loader implements the extension (the Khronos
    // loader does since 1.3.216); remove the flag and the name where it does not.
    int supported = real_lists(fill_instance, NULL, PORTABILITY_ENUMERATION);
    PFN_vkCreateInstance create = (PFN_vkCreateInstance)next()(NULL, "vkCreateInstance");
    if (supported || (!flag && !extension)) return create(pCreateInfo, pAllocator, pInstance);
    VkInstanceCreateInfo info = *pCreateInfo;
    const char **names = NULL;
    info.flags &= ~(VkInstanceCreateFlags)VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
    info.enabledExtensionCount = without_name(pCreateInfo->enabledExtensionCount, pCreateInfo->ppEnabledExtensionNames,
                                              PORTABILITY_ENUMERATION, &names);
    info.ppEnabledExtensionNames = names;
    VkResult result = create(&info, pAllocator, pInstance);
    free(names);
    return result;
}

static VkResult fill_device(void *context, uint32_t *count, VkExtensionProperties *list) {
    return next_enumerate_device_extensions((VkPhysicalDevice)context, NULL, count, list);
}

static VKAPI_ATTR VkResult VKAPI_CALL shim_enumerate_device_extensions(
    VkPhysicalDevice physicalDevice, const char *pLayerName, uint32_t *pCount, VkExtensionProperties *pProperties) {
    if (pLayerName || !offer_device_extension) {
        return next_enumerate_device_extensions(physicalDevice, pLayerName, pCount, pProperties);
    }
    VkExtensionProperties *list = NULL;
    uint32_t count = 0;
    VkResult result = edited_list(fill_device, physicalDevice, PORTABILITY_SUBSET, 1, &list, &count);
    if (result != VK_SUCCESS) return result;
    result = answer(list, count, pCount, pProperties);
    free(list);
    return result;
}

static VKAPI_ATTR VkResult VKAPI_CALL shim_create_device(
    VkPhysicalDevice physicalDevice, const VkDeviceCreateInfo *pCreateInfo, const VkAllocationCallbacks *pAllocator,
    VkDevice *pDevice) {
    int subset = has_name(pCreateInfo->enabledExtensionCount, pCreateInfo->ppEnabledExtensionNames, PORTABILITY_SUBSET);
    pthread_mutex_lock(&lock);
    device_creates++;
    asked_portability_subset |= subset;
    pthread_mutex_unlock(&lock);

    int supported = real_lists(fill_device, physicalDevice, PORTABILITY_SUBSET);
    if (supported || !subset) return next_create_device(physicalDevice, pCreateInfo, pAllocator, pDevice);
    VkDeviceCreateInfo info = *pCreateInfo;
    const char **names = NULL;
    info.enabledExtensionCount = without_name(pCreateInfo->enabledExtensionCount, pCreateInfo->ppEnabledExtensionNames,
                                              PORTABILITY_SUBSET, &names);
    info.ppEnabledExtensionNames = names;
    VkResult result = next_create_device(physicalDevice, &info, pAllocator, pDevice);
    free(names);
    return result;
}

VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL vkGetInstanceProcAddr(VkInstance instance, const char *pName) {
    PFN_vkGetInstanceProcAddr real = next();
    if (!real) return NULL;
    if (strcmp(pName, "vkGetInstanceProcAddr") == 0) return (PFN_vkVoidFunction)vkGetInstanceProcAddr;
    if (!instance) {
        if (strcmp(pName, "vkEnumerateInstanceExtensionProperties") == 0)
            return (PFN_vkVoidFunction)shim_enumerate_instance_extensions;
        if (strcmp(pName, "vkCreateInstance") == 0) return (PFN_vkVoidFunction)shim_create_instance;
        return real(instance, pName);
    }
    PFN_vkVoidFunction function = real(instance, pName);
    if (!function) return NULL;
    // One instance at a time uses the shim, so the last instance's functions are the ones.
    if (strcmp(pName, "vkEnumerateDeviceExtensionProperties") == 0) {
        next_enumerate_device_extensions = (PFN_vkEnumerateDeviceExtensionProperties)function;
        return (PFN_vkVoidFunction)shim_enumerate_device_extensions;
    }
    if (strcmp(pName, "vkCreateDevice") == 0) {
        next_create_device = (PFN_vkCreateDevice)function;
        return (PFN_vkVoidFunction)shim_create_device;
    }
    return function;
}

// Sets what the shim presents and clears the record.
void portability_shim_configure(int offerInstanceExtension, int offerDeviceExtension) {
    pthread_mutex_lock(&lock);
    offer_instance_extension = offerInstanceExtension;
    offer_device_extension = offerDeviceExtension;
    instance_creates = asked_enumerate_portability_flag = asked_portability_enumeration = 0;
    device_creates = asked_portability_subset = 0;
    pthread_mutex_unlock(&lock);
}

// What was asked since the last configure: instance creates, the enumerate-portability
// flag, VK_KHR_portability_enumeration, device creates, VK_KHR_portability_subset.
void portability_shim_record(int out[5]) {
    pthread_mutex_lock(&lock);
    out[0] = instance_creates;
    out[1] = asked_enumerate_portability_flag;
    out[2] = asked_portability_enumeration;
    out[3] = device_creates;
    out[4] = asked_portability_subset;
    pthread_mutex_unlock(&lock);
}
