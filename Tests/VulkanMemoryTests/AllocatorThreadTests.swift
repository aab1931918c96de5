import Dispatch
import Synchronization
import Testing
@testable import VulkanMemory

/// The allocator from many threads at once; `make test` runs this suite under the thread
/// sanitizer too (`--filter Thread`).
@Suite("Allocator threads")
struct AllocatorThreadTests {
    @Test func eightThreadsOfMixedOperations() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let threads = 8
            let operations = 10_000
            // Allocations handed from one thread to another, to be freed there.
            let handoff = Locked<[Allocation]>([])
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var generator = SplitMix(seed: UInt64(thread) &* 0x1234_5678 &+ 1)
                var live: [(Allocation, UInt32)] = []
                let usages: [MemoryUsage] = [.gpuOnly, .staging, .readback, .dynamic]
                func fail(_ message: String) { failures.withLock { $0.append("thread \(thread): \(message)") } }
                for step in 0..<operations {
                    let roll = generator.next() % 100
                    if roll < 50 || live.isEmpty {
                        let size = 256 + generator.next() % (256 * 1024)
                        let usage = usages[Int(generator.next() % 4)]
                        let mapped = usage != .gpuOnly
                        do {
                            let allocation = try allocator.allocate(
                                MemoryRequirements(size: size, alignment: 256), usage: usage,
                                options: AllocationOptions(mapped: mapped, name: step % 100 == 0 ? "t\(thread)" : nil))
                            let tag = UInt32(thread << 24 | step & 0xFFFFFF)
                            if let pointer = allocation.mappedPointer {
                                pointer.storeBytes(of: tag, as: UInt32.self)
                                (pointer + Int(allocation.size) - 4).storeBytes(of: tag, toByteOffset: 0, as: UInt32.self)
                            }
                            live.append((allocation, tag))
                        } catch {
                            fail("allocate: \(error)")
                        }
                    } else if roll < 90 {
                        let (allocation, tag) = live.remove(at: Int(generator.next() % UInt64(live.count)))
                        // No other thread may have written into this range.
                        if let pointer = allocation.mappedPointer {
                            let head = pointer.load(as: UInt32.self)
                            let tail = (pointer + Int(allocation.size) - 4).loadUnaligned(as: UInt32.self)
                            if head != tag || tail != tag { fail("range of \(allocation) was overwritten") }
                        }
                        do { try allocator.free(allocation) } catch { fail("free: \(error)") }
                    } else if roll < 95 {
                        let (allocation, _) = live.remove(at: Int(generator.next() % UInt64(live.count)))
                        handoff.withLock { $0.append(allocation) }
                    } else {
                        let foreign = handoff.withLock { $0.popLast() }
                        if let foreign {
                            do { try allocator.free(foreign) } catch { fail("free of a handed-off allocation: \(error)") }
                        }
                    }
                }
                for (allocation, _) in live {
                    do { try allocator.free(allocation) } catch { fail("final free: \(error)") }
                }
            }
            for allocation in handoff.withLock({ $0 }) { try allocator.free(allocation) }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
            let usage = allocator.usage
            #expect(usage.liveBytes == 0 && usage.allocationCount == 0)
            #expect(allocator.liveAllocations().isEmpty)
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0)
        }
    }

    @Test func concurrentDoubleFreesFailExactlyOnce() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocations = try (0..<1000).map { _ in
                try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            }
            let successes = Atomic<Int>(0)
            let doubles = Atomic<Int>(0)
            // Four threads race to free every allocation: each must be freed exactly once.
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                for allocation in allocations {
                    do throws(AllocationError) {
                        try allocator.free(allocation)
                        successes.add(1, ordering: .relaxed)
                    } catch {
                        if error == .alreadyFreed { doubles.add(1, ordering: .relaxed) }
                    }
                }
            }
            #expect(successes.load(ordering: .relaxed) == 1000)
            #expect(doubles.load(ordering: .relaxed) == 3000)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
