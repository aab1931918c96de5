import Testing
@testable import VulkanMemory

@Suite("Vulkan access")
struct VulkanAccessTests {
    @Test func resultNamesFollowVulkan() {
        #expect(VulkanResult.errorOutOfDeviceMemory.name == "VK_ERROR_OUT_OF_DEVICE_MEMORY")
        #expect(VulkanResult(rawValue: -1_000_069_000).name == "VK_ERROR_OUT_OF_POOL_MEMORY")
        #expect(VulkanResult(rawValue: 123_456).name == "VkResult(123456)")
        #expect(VulkanResult.success.isSuccess && VulkanResult.incomplete.isSuccess)
        #expect(!VulkanResult.errorTooManyObjects.isSuccess)
        let error = VulkanError.callFailed(function: "vkAllocateMemory", result: .errorOutOfDeviceMemory)
        #expect(error.description == "vkAllocateMemory failed with VK_ERROR_OUT_OF_DEVICE_MEMORY")
    }

    @Test func versionsPackLikeVulkan() {
        let version = VulkanVersion(1, 3, 230)
        #expect(version.rawValue == (1 << 22) | (3 << 12) | 230)
        #expect((version.major, version.minor, version.patch) == (1, 3, 230))
        #expect(version.description == "1.3.230")
        #expect(version.withoutPatch == .v1_3)
        #expect(VulkanVersion.v1_1 < .v1_2 && VulkanVersion.v1_2 < version)
    }

    @Test func aMissingLoaderIsATypedError() {
        let result = VulkanLoader.open(libraryNames: ["libvulkan-does-not-exist.so.1"])
        guard case .failure(.loaderNotFound(let library, let reason)) = result else {
            Issue.record("expected loaderNotFound, got \(result)")
            return
        }
        #expect(library == "libvulkan-does-not-exist.so.1")
        #expect(reason.contains("libvulkan-does-not-exist.so.1"))
        // A library without vkGetInstanceProcAddr is refused too.
        guard case .failure(.loaderNotFound(_, let other)) = VulkanLoader.open(libraryNames: ["libc.so.6"]) else {
            Issue.record("libc.so.6 was accepted as a Vulkan loader")
            return
        }
        #expect(other.contains("no vkGetInstanceProcAddr"))
    }

    @Test func missingLoaderIsExplained() {
        let error = VulkanError.loaderNotFound(library: "libvulkan.so.1", reason: "no such file")
        #expect(error.description.contains("libvulkan.so.1"))
        #expect(error.description.contains("apt-get install libvulkan1"))
        #expect(VulkanError.noPhysicalDevice.description.contains("mesa-vulkan-drivers"))
    }

    @Test func systemLoaderReportsVersionAndLayers() throws {
        let loader = try VulkanLoader.system()
        #expect(loader.instanceVersion() >= .v1_1)
        #expect(try loader.instanceExtensions().contains("VK_EXT_debug_utils"))
        if VulkanContext.Validation.fromEnvironment() == .required {
            #expect(try loader.instanceLayers().contains("VK_LAYER_KHRONOS_validation"))
        }
    }

    /// What lavapipe offers, or any other device (the H200 offers memory budget and priority).
    @Test func contextEnablesWhatLavapipeOffers() throws {
        try withTestDevice { context in
            let device = context.device
            #expect(device.apiVersion >= .v1_1)
            #expect(device.apiVersion <= .v1_3)
            #expect(device.capabilities.contains(.externalMemoryFd))
            #expect(device.capabilities.contains(.bufferDeviceAddress))
            // lavapipe of Mesa 22 has neither memory budget nor priority: not enabled.
            let offered = try device.availableExtensions()
            #expect(device.capabilities.contains(.memoryBudget) == offered.contains("VK_EXT_memory_budget"))
            #expect(context.enabledExtensions.contains("VK_KHR_external_memory_fd"))
            #expect(context.enabledExtensions.allSatisfy(offered.contains))
            if VulkanContext.Validation.fromEnvironment() == .required {
                #expect(context.validationEnabled)
                #expect(context.validationLog != nil)
            }
        }
    }

    @Test func capabilitiesAreOnlyEnabledWhenAsked() throws {
        try withTestDevice(capabilities: []) { context in
            #expect(context.device.capabilities.isEmpty)
            #expect(context.enabledExtensions.isEmpty)
            #expect(context.device.deviceFunctions.getMemoryFd == nil)
        }
    }

    /// Memory priority is opt-in: NVIDIA's driver charges every buffer's create and bind for
    /// it (2.2× W3's raw calls on an H100), so the bootstrap's defaults leave it off and a
    /// device opened with them never enables it, whatever the driver offers.
    @Test func memoryPriorityIsOnlyEnabledWhenAsked() throws {
        let defaults = VulkanContext.Options().capabilities
        #expect(!defaults.contains(.memoryPriority))
        #expect(defaults.isSuperset(of: [.memoryBudget, .bufferDeviceAddress, .externalMemoryFd]))
        try withTestDevice(capabilities: defaults) { context in
            #expect(!context.device.capabilities.contains(.memoryPriority))
            #expect(!context.enabledExtensions.contains("VK_EXT_memory_priority"))
        }
        try withTestDevice(capabilities: [.memoryPriority]) { context in
            // Enabled where the driver offers the extension with its feature (NVIDIA does;
            // lavapipe of Mesa 22 does not).
            let offered = try context.device.availableExtensions().contains("VK_EXT_memory_priority")
            let enabled = context.device.capabilities.contains(.memoryPriority)
            #expect(!enabled || offered)
            #expect(context.enabledExtensions.contains("VK_EXT_memory_priority") == enabled)
        }
    }

    @Test func devicesAreSelectedByIndexAndName() throws {
        let devices = try VulkanContext.availableDevices()
        #expect(!devices.isEmpty)
        var options = VulkanContext.Options()
        options.validation = .off
        options.device = .index(0)
        #expect(try VulkanContext(options: options).device.info == devices[0])
        options.device = .nameContaining(String(devices[0].name.prefix(4)).uppercased())
        #expect(try VulkanContext(options: options).device.info.name == devices[0].name)
    }

    @Test func unknownDevicesAreClearErrors() throws {
        var options = VulkanContext.Options()
        options.validation = .off
        options.device = .nameContaining("no-such-gpu")
        #expect {
            _ = try VulkanContext(options: options)
        } throws: { error in
            guard case VulkanError.deviceNotFound(let selector, let available) = error else { return false }
            return selector == "no-such-gpu" && !available.isEmpty
                && error.localizedDescription.isEmpty == false
        }
        options.device = .index(99)
        #expect(throws: VulkanError.self) { _ = try VulkanContext(options: options) }
        #expect(VulkanContext.DeviceSelector(parsing: "1") == .index(1))
        #expect(VulkanContext.DeviceSelector(parsing: "llvm") == .nameContaining("llvm"))
    }

    @Test func userHandlesAreWrappedWithoutOwnership() throws {
        try withTestDevice { context in
            let own = context.device
            // An engine hands in its handles and loader: the library resolves its own tables
            // and reports the same device.
            let wrapped = try VulkanDevice(
                instance: own.instance, physicalDevice: own.physicalDevice, device: own.device,
                apiVersion: own.apiVersion, capabilities: own.capabilities,
                loader: VulkanLoader(getInstanceProcAddr: own.loader.getInstanceProcAddr))
            #expect(wrapped.info == own.info)
            let memory = try DeviceMemory.allocate(on: wrapped, size: 4096, memoryTypeIndex: 0)
            try memory.free()
            #expect(throws: VulkanError.unsupportedVersion(found: VulkanVersion(1, 0), required: .v1_1)) {
                _ = try VulkanDevice(instance: own.instance, physicalDevice: own.physicalDevice,
                                     device: own.device, apiVersion: VulkanVersion(1, 0),
                                     capabilities: [])
            }
        }
    }
}

@Suite("Validation harness")
struct ValidationHarnessTests {
    /// Proves the harness would catch a mistake: a raw second `vkMapMemory` of the same
    /// memory, which Vulkan forbids, must produce a validation error.
    @Test(.enabled(if: VulkanContext.Validation.fromEnvironment() != .off))
    func theLayerReportsMisuse() throws {
        var options = VulkanContext.Options()
        options.validation = .required
        let context = try VulkanContext(options: options)
        let device = context.device
        // Mappable memory, so that the second map is the only misuse: vkMapMemory on a type
        // without HOST_VISIBLE (the H200's type 0) is undefined behaviour in the driver.
        let type = try #require(MemoryProperties(device: device).mappableType)
        let memory = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: type.index)
        var first: UnsafeMutableRawPointer?
        var second: UnsafeMutableRawPointer?
        _ = device.deviceFunctions.mapMemory(device.device, memory.handle, 0, 4096, 0, &first)
        _ = device.deviceFunctions.mapMemory(device.device, memory.handle, 0, 4096, 0, &second)
        device.deviceFunctions.unmapMemory(device.device, memory.handle)
        let messages = try #require(context.validationLog).drain()
        #expect(messages.contains { $0.severity == .error && $0.id.contains("vkMapMemory") },
                "expected a vkMapMemory validation error, got \(messages)")
        try memory.free()
    }
}
