import Testing
import VulkanMemory
import Workloads

/// W6's harness on lavapipe: threads on one allocator, every mode, small sizes.
@Suite("W6 harness")
struct ThreadWorkloadTests {
    /// Each mode runs on three threads to the end, counts every operation, samples one
    /// step in `sampleEvery`, and leaves nothing allocated (the allocator's teardown
    /// would report a leak through the validation layer otherwise).
    @Test(arguments: ThreadWorkload.Mode.allCases)
    func everyModeRunsOnThreeThreads(_ mode: ThreadWorkload.Mode) throws {
        var options = VulkanContext.Options()
        options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
        options.applicationName = "WorkloadsTests"
        let context = try VulkanContext(options: options)
        var workload = ThreadWorkload(mode: mode, threads: 3, live: 20, steps: 160)
        workload.sampleEvery = 4
        let result = try workload.run(on: context.device)
        #expect(result.operations == 2 * 160 * 3)
        #expect(result.threads == 3 && result.mode == mode.rawValue)
        #expect(result.allocLatency.count == 3 * 160 / 4)
        #expect(result.freeLatency.count == 3 * 160 / 4)
        #expect(result.seconds > 0 && result.threadSpread >= 1)
        #expect(result.allocLatency.p50 <= result.allocLatency.p99 && result.allocLatency.p99 <= result.allocLatency.max)
        let messages = context.validationLog?.drain() ?? []
        #expect(messages.isEmpty, "validation messages: \(messages)")
    }
}
