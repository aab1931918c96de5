import CVulkan
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

/// The allocator from many threads at once; `make test` runs this suite under the thread
/// sanitizer too (`--filter Thread`).
@Suite("Allocator threads")
struct AllocatorThreadTests {
    /// The load test: eight threads, or one per core where there are more, of mixed
    /// allocations, frees, hand-offs to other threads and buffers, each range's pattern
    /// checked before it is freed. 10,000 operations a thread in `make test`;
    /// `VKMEM_LOAD_OPERATIONS` sets more (`make test-long`).
    @Test func eightThreadsOfMixedOperations() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let threads = stressThreadCount(minimum: 8)
            let operations = ProcessInfo.processInfo.environment["VKMEM_LOAD_OPERATIONS"].flatMap { Int($0) } ?? 10_000
            // Allocations handed from one thread to another, to be freed there.
            let handoff = Locked<[Allocation]>([])
            let failures = Locked<[String]>([])
            // Each thread holds at most this many allocations: half the operations
            // allocate and 40% free, so without a limit the set grows by 0.07 allocations
            // an operation, and `make test-long`'s 200,000 a thread filled lavapipe's
            // 2 GiB heap (8 threads × 14,000 × 128 KiB on average). With it the load stays
            // steady, about 512 MiB at most, however long the run.
            let liveLimit = 512
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                var generator = SplitMix(seed: UInt64(thread) &* 0x1234_5678 &+ 1)
                var live: [(Allocation, UInt32)] = []
                let usages: [MemoryUsage] = [.gpuOnly, .staging, .readback, .dynamic]
                func fail(_ message: String) { failures.withLock { $0.append("thread \(thread): \(message)") } }
                for step in 0..<operations {
                    let roll = generator.next() % 100
                    if roll < 50 && live.count < liveLimit || live.isEmpty {
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
                    } else if roll < 93 {
                        let (allocation, _) = live.remove(at: Int(generator.next() % UInt64(live.count)))
                        handoff.withLock { $0.append(allocation) }
                    } else if roll < 97 {
                        // A buffer made, filled through its checked view, read back, destroyed.
                        do {
                            var info = VkBufferCreateInfo()
                            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
                            info.size = 64 + generator.next() % 65536
                            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
                            let buffer = try allocator.createBuffer(info, .usage(.staging))
                            let view = try allocator.map(.buffer(buffer))
                            let words = Int(info.size / 4)
                            let tag = UInt32(truncatingIfNeeded: generator.next())
                            try view.write(contentsOf: [UInt32](repeating: tag, count: words))
                            if try view.read(UInt32.self, count: words).contains(where: { $0 != tag }) {
                                fail("buffer \(buffer.allocation) was overwritten")
                            }
                            try allocator.destroyBuffer(buffer)
                            if view.isValid { fail("a destroyed buffer's view stayed valid") }
                        } catch {
                            fail("buffer: \(error)")
                        }
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

    /// A recorder shared by four threads writes every call on a line of its own, each
    /// allocation before its free, so the recording reads back and replays whole.
    @Test func recordingFromFourThreads() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            var options = AllocatorOptions()
            options.recorder = recorder
            let threads = stressThreadCount(minimum: 4)
            let operations = 500
            do {
                let allocator = Allocator(device: context.device, options: options)
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    var generator = SplitMix(seed: UInt64(thread) &+ 99)
                    var live: [Allocation] = []
                    for _ in 0..<operations {
                        if generator.next() % 2 == 0 || live.isEmpty {
                            let size = 256 + generator.next() % 65536
                            if let allocation = try? allocator.allocate(MemoryRequirements(size: size, alignment: 256),
                                                                        usage: .gpuOnly) {
                                live.append(allocation)
                            }
                        } else {
                            try? allocator.free(live.remove(at: Int(generator.next() % UInt64(live.count))))
                        }
                    }
                    for allocation in live { try? allocator.free(allocation) }
                }
                #expect(allocator.usage.allocationCount == 0)
            }
            let recording = try VMARecording(parsing: recorder.text)
            let names = recording.calls.map(\.function.name)
            #expect(names.first == "vmaCreateAllocator" && names.last == "vmaDestroyAllocator")
            let allocations = names.filter { $0 == "vmaAllocateMemory" }.count
            #expect(allocations == names.filter { $0 == "vmaFreeMemory" }.count)
            #expect(names.count == 2 + 2 * allocations)
            let report = Allocator(device: context.device).replay(recording)
            #expect(report.failures.isEmpty, "\(report.failures.prefix(3))")
            #expect(report.leftAlive.isEmpty)
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
            // Four threads (one per core where there are more) race to free every
            // allocation: each must be freed exactly once.
            let threads = stressThreadCount(minimum: 4)
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
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
            #expect(doubles.load(ordering: .relaxed) == (threads - 1) * 1000)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// Passes planned, copied and committed on one thread while four others (one per
    /// remaining core where there are more) allocate, write, check and free in the same
    /// memory type: no range is handed out twice, the moved bytes arrive, and the books
    /// balance at the end.
    @Test func defragmentationWhileThreadsAllocate() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            // Dynamic memory, mapped: lavapipe's one type; on a discrete GPU the
            // host-visible VRAM type (or host memory where there is none).
            let pool = allocator.expectedPool(for: .dynamic)
            // Movable allocations of the defragmenting thread, each holding its index.
            var mine: [Int: Allocation] = [:]
            for index in 0..<90 {
                let allocation = try allocator.allocate(MemoryRequirements(size: 60_000, alignment: 256), usage: .dynamic,
                                                        options: AllocationOptions(mapped: true))
                allocation.mappedPointer!.storeBytes(of: UInt64(index), as: UInt64.self)
                mine[index] = allocation
            }
            #expect(mine.values.allSatisfy { $0.memoryTypeIndex == pool.typeIndex })
            for index in 0..<90 where index % 3 != 0 { try allocator.free(mine.removeValue(forKey: index)!) }
            let failures = Locked<[String]>([])
            let done = Atomic<Bool>(false)
            // Only the defragmenting thread touches it; the lock makes that checkable.
            let moved = Locked(mine)
            DispatchQueue.concurrentPerform(iterations: stressThreadCount(minimum: 5)) { thread in
                func fail(_ message: String) { failures.withLock { $0.append("thread \(thread): \(message)") } }
                if thread == 0 {
                    defer { done.store(true, ordering: .releasing) }
                    for _ in 0..<4 {
                        do {
                            let pass = try allocator.beginDefragmentation()
                            for move in pass.moves {
                                guard let key = moved.withLock({ $0.first { $0.value == move.source }?.key }) else {
                                    pass.ignore(move)
                                    continue
                                }
                                move.destination.mappedPointer!.copyMemory(from: move.source.mappedPointer!,
                                                                           byteCount: Int(move.source.size))
                                moved.withLock { $0[key] = move.destination }
                            }
                            pass.commit()
                        } catch { fail("defragmentation: \(error)") }
                    }
                    return
                }
                var generator = SplitMix(seed: UInt64(thread) &* 7_919)
                var live: [(Allocation, UInt64)] = []
                while !done.load(ordering: .acquiring) || live.count > 0 {
                    if !done.load(ordering: .acquiring), live.count < 40, generator.next() % 2 == 0 {
                        do {
                            let allocation = try allocator.allocate(
                                MemoryRequirements(size: 1_024 + generator.next() % 90_000, alignment: 256),
                                usage: .dynamic, options: AllocationOptions(mapped: true))
                            let tag = generator.next()
                            allocation.mappedPointer!.storeBytes(of: tag, as: UInt64.self)
                            live.append((allocation, tag))
                        } catch { fail("allocate: \(error)") }
                    } else if !live.isEmpty {
                        let (allocation, tag) = live.remove(at: Int(generator.next() % UInt64(live.count)))
                        if allocation.mappedPointer!.load(as: UInt64.self) != tag { fail("\(allocation) was overwritten") }
                        do { try allocator.free(allocation) } catch { fail("free: \(error)") }
                    }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
            for (index, allocation) in moved.withLock({ $0 }) {
                #expect(allocation.mappedPointer!.load(as: UInt64.self) == UInt64(index))
                try allocator.free(allocation)
            }
            #expect(allocator.usage.allocationCount == 0 && allocator.usage.liveBytes == 0)
            pool.state.withLock { $0.arena._checkInvariants() }
        }
    }
}
