import Testing
@testable import VulkanMemory

/// Where `VulkanLoader.system()` looks on each platform: a pure function of the platform
/// and the environment, so Apple's and Windows' orders are checked here on Linux.
@Suite("Vulkan loader search order")
struct VulkanLoaderSearchTests {
    typealias Platform = VulkanLoader.Platform

    @Test func linuxTriesTheVersionedLoaderFirst() {
        #expect(VulkanLoader.searchOrder(platform: .linux, environment: [:]) == ["libvulkan.so.1", "libvulkan.so"])
    }

    @Test func appleTriesTheSearchPathThenTheSDKThenHomebrewThenWhatTheAppBundles() {
        let plain = VulkanLoader.searchOrder(platform: .apple, environment: [:])
        #expect(plain == [
            "libvulkan.1.dylib", "libvulkan.dylib",
            "/opt/homebrew/lib/libvulkan.1.dylib",
            "@executable_path/../Frameworks/libvulkan.1.dylib",
            "vulkan.framework/vulkan",
            "@executable_path/../Frameworks/vulkan.framework/vulkan",
            "libMoltenVK.dylib",
            "@executable_path/../Frameworks/libMoltenVK.dylib",
            "MoltenVK.framework/MoltenVK",
            "@executable_path/Frameworks/MoltenVK.framework/MoltenVK",
        ])
        // The LunarG SDK's setup-env.sh sets VULKAN_SDK to …/macOS, with or without a slash.
        for sdk in ["/Users/me/VulkanSDK/1.4.309.0/macOS", "/Users/me/VulkanSDK/1.4.309.0/macOS/"] {
            let withSDK = VulkanLoader.searchOrder(platform: .apple, environment: ["VULKAN_SDK": sdk])
            #expect(withSDK.count == plain.count + 1)
            #expect(withSDK[2] == "/Users/me/VulkanSDK/1.4.309.0/macOS/lib/libvulkan.1.dylib")
            #expect(Array(withSDK[..<2]) + Array(withSDK[3...]) == plain)
        }
        #expect(VulkanLoader.searchOrder(platform: .apple, environment: ["VULKAN_SDK": ""]) == plain)
        // A real loader (with its portability enumeration) before MoltenVK used alone.
        let lastLoader = plain.lastIndex { $0.contains("vulkan") && !$0.contains("MoltenVK") }!
        let firstMoltenVK = plain.firstIndex { $0.contains("MoltenVK") }!
        #expect(lastLoader < firstMoltenVK)
    }

    @Test func windowsTriesTheVulkanRuntime() {
        #expect(VulkanLoader.searchOrder(platform: .windows, environment: ["VULKAN_SDK": "C:\\VulkanSDK"]) == ["vulkan-1.dll"])
    }

    @Test func theOverrideIsTheOnlyLibraryTriedOnEveryPlatform() {
        for platform in Platform.allCases {
            let environment = ["VKMEM_VULKAN_LIBRARY": "/opt/engine/libvulkan-wrapped.so", "VULKAN_SDK": "/sdk"]
            #expect(VulkanLoader.searchOrder(platform: platform, environment: environment)
                    == ["/opt/engine/libvulkan-wrapped.so"], "\(platform)")
            // Empty means unset, as a shell's `VKMEM_VULKAN_LIBRARY=` would leave it.
            #expect(VulkanLoader.searchOrder(platform: platform, environment: ["VKMEM_VULKAN_LIBRARY": ""])
                    == VulkanLoader.searchOrder(platform: platform, environment: [:]), "\(platform)")
        }
        #expect(VulkanLoader.libraryOverrideVariable == "VKMEM_VULKAN_LIBRARY")
    }

    @Test func thisProcessUsesItsPlatformsOrder() {
        #if os(Linux)
        #expect(Platform.current == .linux)
        #endif
        #expect(VulkanLoader.libraryNames
                == VulkanLoader.searchOrder(platform: .current, environment: VulkanLoader.loaderEnvironment()))
    }

    @Test func aLibraryIsOpenedByPath() throws {
        #if os(Linux)
        let loader = try VulkanLoader.open(library: "libvulkan.so.1")
        #expect(loader.instanceVersion() >= .v1_1)
        #expect(try loader.instanceExtensions() == VulkanLoader.system().instanceExtensions())
        #endif
        #expect {
            _ = try VulkanLoader.open(library: "/nonexistent/libvulkan.so.1")
        } throws: { error in
            guard case VulkanError.loaderNotFound(let library, let reason) = error else { return false }
            return library == "/nonexistent/libvulkan.so.1" && reason.contains("/nonexistent/libvulkan.so.1")
                && "\(error)".contains("VKMEM_VULKAN_LIBRARY")
        }
    }

    @Test func theMissingLoaderErrorSaysHowToInstallOneOnEachPlatform() {
        func text(_ library: String) -> String {
            VulkanError.loaderNotFound(library: library, reason: "not found").description
        }
        #expect(text("libvulkan.so.1").contains("apt-get install libvulkan1"))
        #expect(text("libvulkan.1.dylib").contains("brew install vulkan-loader molten-vk"))
        #expect(text("vulkan.framework/vulkan").contains("VULKAN_SDK"))
        #expect(text("vulkan-1.dll").contains("Vulkan Runtime"))
        for library in ["libvulkan.so.1", "libvulkan.1.dylib", "vulkan-1.dll"] {
            #expect(text(library).contains("VKMEM_VULKAN_LIBRARY"))
        }
    }
}
