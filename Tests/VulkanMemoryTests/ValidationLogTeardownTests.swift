import CVulkan
import Synchronization
import Testing
@testable import VulkanMemory

/// The validation layer's leak reports, sent while the device is destroyed, reach a log
/// the caller passed in and its handler, after the context is gone.
@Suite("Validation log at teardown")
struct ValidationLogTeardownTests {
    @Test(.enabled(if: VulkanContext.Validation.fromEnvironment() != .off,
                   "skipped: VKMEM_VALIDATION is off, so no layer reports leaks"))
    func leakReportsReachTheCallersLogAfterTheContextIsGone() throws {
        let handled = Mutex<[ValidationMessage]>([])
        let log = ValidationLog { message in handled.withLock { $0.append(message) } }
        var options = VulkanContext.Options()
        options.validation = .required
        options.validationLog = log
        options.applicationName = "ValidationLogTeardownTests"
        try {
            let context = try VulkanContext(options: options)
            #expect(context.validationLog === log)
            // A buffer made behind the library's back and never destroyed: a leak only the
            // device's destruction reveals.
            let device = context.device
            let create = try #require(device.instanceFunctions.getDeviceProcAddr(device.device, "vkCreateBuffer"))
            var info = BufferDescription(size: 4096, usage: .transferDestination).exclusiveCreateInfo
            var buffer: VkBuffer?
            #expect(unsafeBitCast(create, to: PFN_vkCreateBuffer.self)(device.device, &info, nil, &buffer) == VK_SUCCESS)
            #expect(buffer != nil)
            #expect(log.messages.isEmpty, "\(log.messages)")
            #expect(!log.isFinished)
        }()
        // The context, its device and instance are gone; their reports are in the log.
        #expect(log.isFinished)
        let messages = log.messages
        let leaks = messages.filter { $0.severity == .error && $0.id.contains("vkDestroyDevice") }
        #expect(leaks.contains { $0.text.contains("VkBuffer") }, "expected a leaked VkBuffer report, got \(messages)")
        #expect(handled.withLock { $0 } == messages)
    }

    @Test func aLogStartsEmptyAndUnfinished() {
        let log = ValidationLog()
        #expect(log.messages.isEmpty && !log.isFinished && log.handler == nil)
    }
}
