import Foundation
import Testing
@testable import VulkanMemory
#if canImport(Glibc)
import Glibc
#endif

/// Creates a device on lavapipe (or `VKMEM_DEVICE`) with the validation layer enabled as
/// `VKMEM_VALIDATION` says (`make test` requires it), runs `body`, and fails the test on
/// any validation warning or error the body caused.
///
/// Each test gets its own instance and messenger so messages are attributed to the test
/// that caused them, even when tests run in parallel.
func withTestDevice<R>(
    capabilities: DeviceCapabilities = [.memoryBudget, .memoryPriority, .bufferDeviceAddress, .externalMemoryFd],
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (VulkanContext) throws -> R
) throws -> R {
    _ = driverAnchor
    var options = VulkanContext.Options()
    options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
    options.capabilities = capabilities
    options.applicationName = "VulkanMemoryTests"
    let context = try VulkanContext(options: options)
    let result = try body(context)
    let messages = context.validationLog?.drain() ?? []
    #expect(messages.isEmpty, "validation messages: \(messages)", sourceLocation: sourceLocation)
    return result
}

/// One context (no validation layer, no capabilities, no memory) that lives as long as the
/// test process, so the driver is never wholly torn down between tests; `VKMEM_TEST_ANCHOR=0`
/// turns it off.
///
/// Why: on the GPU machine (NVIDIA driver 580, H200), creating and destroying the process's
/// last Vulkan instance over and over broke the driver. Run serially, the suite lost the GPU
/// after 29 tests (every later vkEnumeratePhysicalDevices answered no device); run in
/// parallel, the process died with a segmentation fault inside glvnd's libEGL
/// (`segfault at 9 … in libEGL.so.1.1.0`, on a Swift concurrency thread) during the seeded
/// random tests, which make 50 devices. With this anchor the whole suite passed there, in
/// parallel, 200 tests, and the random tests alone too.
let driverAnchor: VulkanContext? = {
    pinDriverLibraries()
    guard ProcessInfo.processInfo.environment["VKMEM_TEST_ANCHOR"] != "0" else { return nil }
    var options = VulkanContext.Options()
    options.validation = .off
    options.capabilities = []
    options.applicationName = "VulkanMemoryTests anchor"
    return try? VulkanContext(options: options)
}()

/// Keeps the Vulkan layers and drivers the loader opens mapped until the process ends
/// (`RTLD_NODELETE`), so LeakSanitizer can name the library a leak at exit came from: one
/// the loader had closed shows as "<unknown module>", which no suppression can match, and
/// `make test-asan` could then not tell the loader's and driver's own leaks (suppressed in
/// `scripts/lsan.supp`) from ours (which fail the run).
func pinDriverLibraries() {
    #if canImport(Glibc)
    for library in ["libvulkan.so.1", "libVkLayer_khronos_validation.so", "libvulkan_lvp.so",
                    "libVkLayer_MESA_device_select.so"] {
        // A library that is not installed is simply not pinned.
        _ = dlopen(library, RTLD_LAZY | RTLD_NODELETE)
    }
    #endif
}

/// The project's directory of shared data (`../shared` beside the clone): the VMA
/// recordings `ReplayTests` read live there.
let sharedDirectory: URL = {
    let here = URL(fileURLWithPath: #filePath)
    let root = here.deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared")
}()

/// The 46 real devices' memory tables: the test target's own fixture
/// (`Fixtures/gpu-profiles.json`, a copy of `shared/gpu-profiles/devices.json` that keeps
/// every entry's source; see `Fixtures/README.md`), so no file outside the clone is needed.
let profilePath: String = {
    guard let url = Bundle.module.url(forResource: "gpu-profiles", withExtension: "json",
                                      subdirectory: "Fixtures") else {
        fatalError("the test bundle has no Fixtures/gpu-profiles.json resource")
    }
    return url.path
}()

/// Every real device profile, decoded once.
let realProfiles: [DeviceProfile] = {
    do { return try DeviceProfile.load(path: profilePath) } catch {
        fatalError("cannot load \(profilePath): \(error)")
    }
}()
