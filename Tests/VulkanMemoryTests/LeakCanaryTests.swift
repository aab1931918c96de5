import Foundation
import Testing
@testable import VulkanMemory

/// Proof that `make test-lsan` catches a leak of ours: with `VKMEM_LEAK_CANARY=1` this
/// test leaks an allocator with a live page, the way a forgotten retain cycle would, and
/// the Makefile expects LeakSanitizer to fail that run. Without the variable it leaks
/// nothing and checks nothing else.
@Suite("Leak canary")
struct LeakCanaryTests {
    @Test func leaksOnlyWhenAsked() throws {
        guard ProcessInfo.processInfo.environment["VKMEM_LEAK_CANARY"] == "1" else { return }
        try withTestDevice { context in
            var options = AllocatorOptions()
            options.reportLeaksAtTeardown = false
            let allocator = Allocator(device: context.device, options: options)
            _ = try allocator.allocate(MemoryRequirements(size: 4096), usage: .staging)
            // Never released: neither the allocator nor its bookkeeping is freed at exit.
            _ = Unmanaged.passRetained(allocator)
        }
    }
}
