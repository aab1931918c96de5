#if os(Linux)
import Foundation
import Testing
@testable import VulkanMemory

// The portability path of the bootstrap, run for real on lavapipe: a loader wrapper
// (Fixtures/PortabilityShim/portability_shim.c, compiled here into a shared library and
// opened with `VulkanLoader.open(library:)`) presents VK_KHR_portability_enumeration and
// VK_KHR_portability_subset as a Vulkan loader over MoltenVK does on macOS, records what
// `VulkanContext` asks for, and forwards to the real libvulkan.so.1, the validation layer
// and lavapipe.

/// The compiled wrapper, built once per process.
enum PortabilityShim {
    /// What the bootstrap asked of the wrapper since the last `configure`.
    struct Record: Equatable, CustomStringConvertible {
        var instanceCreates: Int32
        var enumeratePortabilityFlag: Bool
        var portabilityEnumeration: Bool
        var deviceCreates: Int32
        var portabilitySubset: Bool

        var description: String {
            "\(instanceCreates) instance(s), flag \(enumeratePortabilityFlag), VK_KHR_portability_enumeration "
                + "\(portabilityEnumeration); \(deviceCreates) device(s), VK_KHR_portability_subset \(portabilitySubset)"
        }
    }

    /// Why the wrapper could not be built.
    struct BuildFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// A C compiler on `PATH` and the Vulkan headers: what building the wrapper needs.
    static let canBuild: Bool = compiler != nil
        && FileManager.default.fileExists(atPath: "/usr/include/vulkan/vulkan.h")

    static var compiler: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["cc", "gcc", "clang"] {
            for directory in path.split(separator: ":") {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    /// The built library and its control functions.
    struct Library: @unchecked Sendable {
        let path: String
        let configure: @convention(c) (Int32, Int32) -> Void
        let record: @convention(c) (UnsafeMutablePointer<Int32>) -> Void
    }

    static let library: Result<Library, BuildFailure> = build()

    private static func build() -> Result<Library, BuildFailure> {
        guard let compiler else { return .failure(BuildFailure(description: "no C compiler on PATH")) }
        guard let source = Bundle.module.url(forResource: "portability_shim", withExtension: "c",
                                             subdirectory: "Fixtures/PortabilityShim") else {
            return .failure(BuildFailure(description: "the test bundle has no Fixtures/PortabilityShim/portability_shim.c"))
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vkmem-portability-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("libportability_shim.so").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: compiler)
        process.arguments = ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", output, source.path, "-ldl", "-lpthread"]
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch {
            return .failure(BuildFailure(description: "\(compiler) did not start: \(error)"))
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(BuildFailure(description: "\(compiler) failed (\(process.terminationStatus)): \(message)"))
        }
        guard let handle = dlopen(output, RTLD_NOW | RTLD_LOCAL),
              let configure = dlsym(handle, "portability_shim_configure"),
              let record = dlsym(handle, "portability_shim_record") else {
            return .failure(BuildFailure(description: "\(output) does not load: \(String(cString: dlerror()))"))
        }
        return .success(Library(
            path: output,
            configure: unsafeBitCast(configure, to: (@convention(c) (Int32, Int32) -> Void).self),
            record: unsafeBitCast(record, to: (@convention(c) (UnsafeMutablePointer<Int32>) -> Void).self)))
    }

    static func record(_ library: Library) -> Record {
        var values = [Int32](repeating: 0, count: 5)
        library.record(&values)
        return Record(instanceCreates: values[0], enumeratePortabilityFlag: values[1] != 0,
                      portabilityEnumeration: values[2] != 0, deviceCreates: values[3],
                      portabilitySubset: values[4] != 0)
    }
}

/// The wrapper's state is the process's: these tests run one at a time.
@Suite("Portability enumeration and subset through a wrapped loader", .serialized, needsLavapipe,
       .enabled(if: PortabilityShim.canBuild, "skipped: no C compiler or Vulkan headers to build the loader wrapper"))
struct PortabilityTests {
    /// A context through the wrapper, with the validation layer as `VKMEM_VALIDATION` says,
    /// failing the test on any validation message.
    private func withWrappedContext(offerInstance: Bool, offerDevice: Bool,
                                    _ body: (VulkanContext, PortabilityShim.Library) throws -> Void) throws {
        let library = try PortabilityShim.library.get()
        library.configure(offerInstance ? 1 : 0, offerDevice ? 1 : 0)
        var options = VulkanContext.Options()
        options.loader = try VulkanLoader.open(library: library.path)
        options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
        options.applicationName = "PortabilityTests"
        options.device = .nameContaining("llvmpipe")
        let context = try VulkanContext(options: options)
        try body(context, library)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages)")
    }

    @Test func offeredPortabilityExtensionsAreEnabled() throws {
        try withWrappedContext(offerInstance: true, offerDevice: true) { context, library in
            let record = PortabilityShim.record(library)
            #expect(record == PortabilityShim.Record(instanceCreates: 1, enumeratePortabilityFlag: true,
                                                     portabilityEnumeration: true, deviceCreates: 1,
                                                     portabilitySubset: true), "\(record)")
            #expect(context.enabledInstanceExtensions.contains("VK_KHR_portability_enumeration"))
            #expect(context.enabledExtensions.contains("VK_KHR_portability_subset"))
            // The device made through the wrapper is an ordinary one for the library.
            let allocator = Allocator(device: context.device)
            let buffer = try allocator.createBuffer(
                BufferDescription(size: 1 << 16, usage: .storageBuffer).exclusiveCreateInfo, .usage(.gpuOnly))
            try allocator.destroyBuffer(buffer)
        }
    }

    @Test func portabilityExtensionsAreNotAskedForWhereNotOffered() throws {
        try withWrappedContext(offerInstance: false, offerDevice: false) { context, library in
            let record = PortabilityShim.record(library)
            #expect(record == PortabilityShim.Record(instanceCreates: 1, enumeratePortabilityFlag: false,
                                                     portabilityEnumeration: false, deviceCreates: 1,
                                                     portabilitySubset: false), "\(record)")
            #expect(!context.enabledInstanceExtensions.contains("VK_KHR_portability_enumeration"))
            #expect(!context.enabledExtensions.contains("VK_KHR_portability_subset"))
        }
    }

    @Test func listingDevicesEnumeratesPortabilityDrivers() throws {
        let library = try PortabilityShim.library.get()
        library.configure(1, 0)
        let devices = try VulkanContext.availableDevices(loader: VulkanLoader.open(library: library.path))
        #expect(devices.contains { $0.name.contains("llvmpipe") })
        let record = PortabilityShim.record(library)
        #expect(record.instanceCreates == 1 && record.enumeratePortabilityFlag && record.portabilityEnumeration,
                "\(record)")
    }
}
#endif
