import CVulkan
import Foundation
import Synchronization
import Testing
@testable import VulkanMemory

/// Lanes: once a memory type's lock is contended, each thread places that type's
/// allocations in a page set of its own (`LaneTable`). `make test` runs this suite under
/// the thread sanitizer too (`--filter Thread`).
@Suite("Lanes of a contended memory type")
struct LaneThreadTests {
    private static let requirements = MemoryRequirements(size: 4096, alignment: 256, kind: .linear)

    /// The type `.dynamic` ranks first: host-visible everywhere, so bytes can be checked.
    private static func dynamicType(of allocator: Allocator) -> Int {
        allocator.rankedTypes(for: .usage(.dynamic))[0]
    }

    /// Eight threads on a type marked contended: the threads whose number is not a
    /// multiple of the lane count land in lanes, each allocation keeps its bytes, frees
    /// from other threads reach the right lane, and the statistics, the invariants and
    /// `freeUnusedPages` see lane pages as the type's own.
    @Test func contendedTypesSpreadOverLanesAndEverythingStillAddsUp() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let type = Self.dynamicType(of: allocator)
            allocator.pools[type].state._countContentions(LaneTable.contentionThreshold)
            let threads = 8
            let perThread = 64
            let made = Locked<[(Allocation, UInt8)]>([])
            let failures = Failures()
            runOnThreads(threads) { thread in
                for index in 0..<perThread {
                    do {
                        let allocation = try allocator.allocate(Self.requirements, usage: .dynamic,
                                                                options: AllocationOptions(mapped: true))
                        guard let pointer = allocation.mappedPointer else {
                            failures.append("\(allocation) has no mapping")
                            continue
                        }
                        let byte = UInt8(truncatingIfNeeded: thread &* 31 &+ index)
                        pointer.initializeMemory(as: UInt8.self, repeating: byte, count: 4096)
                        made.withLock { $0.append((allocation, byte)) }
                    } catch {
                        failures.append("thread \(thread): \(error)")
                    }
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let all = made.withLock { $0 }
            #expect(all.count == threads * perThread)
            let inLanes = all.filter { $0.0.description.contains("lane") }
            #expect(!inLanes.isEmpty, "eight threads on a contended type made no lane")
            #expect(allocator.lanes.existingLanes().allSatisfy { $0.typeIndex == type })
            allocator._checkInvariants()
            #expect(allocator.usage.liveBytes == UInt64(all.count) * 4096)
            let statistics = allocator.statistics()
            #expect(statistics.types[type].allocationCount == all.count)
            #expect(statistics.totals.pageCount == allocator.usage.pageCount)
            // Freed from threads other than the ones that made them, after a check of every byte.
            let failuresOnFree = Failures()
            runOnThreads(threads) { thread in
                for (allocation, byte) in all.enumerated().filter({ $0.offset % threads == (thread + 3) % threads }).map(\.element) {
                    let bytes = UnsafeRawBufferPointer(start: allocation.mappedPointer!, count: 4096)
                    if !bytes.allSatisfy({ $0 == byte }) { failuresOnFree.append("\(allocation) was overwritten") }
                    do { try allocator.free(allocation) } catch { failuresOnFree.append("\(error)") }
                }
            }
            #expect(failuresOnFree.all.isEmpty, "\(failuresOnFree.all.prefix(3))")
            allocator._checkInvariants()
            #expect(allocator.usage.liveBytes == 0)
            #expect(throws: AllocationError.alreadyFreed) { try allocator.free(inLanes[0].0) }
            allocator.freeUnusedPages()
            #expect(allocator.usage.committedBytes == 0 && allocator.ledger.objectCount == 0)
        }
    }

    /// A lane's allocations behave as the type's own on every path that finds a page by
    /// its allocation: naming, mapping, defragmentation, and a failed batch that must
    /// leave no page behind.
    @Test func laneAllocationsTakeEveryPathOfTheTypesOwn() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let type = Self.dynamicType(of: allocator)
            allocator.pools[type].state._countContentions(LaneTable.contentionThreshold)
            let lane = allocator.lanes.lane(ofType: type, number: 3)
            let placement = try PlacementRequest(Self.requirements, AllocationOptions(mapped: true),
                                                 fileID: #fileID, line: #line)
            var live: [Allocation] = []
            for _ in 0..<16 { live.append(try allocator.place(placement, in: lane, name: nil)) }
            #expect(live.allSatisfy { $0.description.contains("lane 3 ") })
            try allocator.setName("in a lane", of: live[0])
            #expect(allocator.liveAllocations().contains { $0.name == "in a lane" })
            let view = try allocator.map(live[1])
            try view.write(UInt32(0xC0FFEE), at: 0)
            #expect(try view.read(UInt32.self, at: 0) == 0xC0FFEE)
            // Every other one freed: the lane's page has holes a pass can fill.
            for index in stride(from: 0, to: live.count, by: 2) { try allocator.free(live[index]) }
            let pass = try allocator.beginDefragmentation()
            pass.cancel()
            allocator._checkInvariants()
            for index in stride(from: 1, to: live.count, by: 2) { try allocator.free(live[index]) }
            allocator._checkInvariants()
            #expect(allocator.usage.liveBytes == 0)
            // The lane's emptied page stays as the type's policy says, and goes with freeUnusedPages.
            #expect(allocator.freeUnusedPages() > 0)
            #expect(allocator.ledger.objectCount == 0)
        }
    }

    /// A tag naming a lane never made, or a lane of another type, is an unknown
    /// allocation, not a crash.
    @Test func forgedLaneTagsAreUnknown() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let type = Self.dynamicType(of: allocator)
            let real = try allocator.allocate(Self.requirements, usage: .dynamic)
            guard case let .page(slot, generation, handle) = real.location else {
                Issue.record("a small allocation should be in a page")
                return
            }
            let tag = UInt32(LaneTable.firstTag + 2) << MemoryTypePool.slotTagShift
            let forged = Allocation(memory: real.memory, offset: real.offset, size: real.size, memoryTypeIndex: type,
                                    mappedPointer: nil,
                                    location: .page(slot: slot | tag, generation: generation, handle: handle))
            #expect(throws: AllocationError.unknownAllocation) { try allocator.free(forged) }
            try allocator.free(real)
            allocator._checkInvariants()
        }
    }
}
