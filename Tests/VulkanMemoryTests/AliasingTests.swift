import CVulkan
import Foundation
import Testing
import Yams
@testable import VulkanMemory

/// Resources aliasing one allocation (VMA's `VMA_ALLOCATION_CREATE_CAN_ALIAS_BIT`,
/// `vmaCreateAliasingBuffer2`, `vmaCreateAliasingImage2`), on lavapipe with the validation
/// layer, which checks every bind.
@Suite("Aliasing resources")
struct AliasingTests {
    static var bufferInfo: VkBufferCreateInfo {
        BufferDescription(size: 64 << 10, usage: [.storageBuffer, .transferDestination]).exclusiveCreateInfo
    }
    static var imageInfo: VkImageCreateInfo {
        ImageDescription(width: 64, height: 64, usage: [.sampled, .transferDestination]).exclusiveCreateInfo
    }

    /// The requirements of a resource made from `info`, from a throwaway object.
    static func requirements(_ info: VkBufferCreateInfo, on device: VulkanDevice) throws -> MemoryRequirements {
        let object = try ResourceObject.create(info, on: device)
        defer { object.destroy(on: device) }
        return object.requirements(on: device)
    }

    /// A buffer and an image alias one allocation: created, bound (the validation layer
    /// sees both binds), listed in leak reports and statistics; the allocation cannot be
    /// freed while they live, and can once they are destroyed.
    @Test func aBufferAndAnImageAliasOneAllocation() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 1 << 20, alignment: 1 << 16),
                                                    usage: .gpuOnly,
                                                    options: AllocationOptions(name: "transient pool", canAlias: true))
            let buffer = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation)
            let image = try allocator.createAliasingImage(Self.imageInfo, aliasing: allocation)
            let tail = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation, at: 512 << 10)
            #expect(buffer.offset == 0 && image.offset == 0 && tail.offset == 512 << 10 && buffer.size == 64 << 10)
            allocator._checkInvariants()

            let report = try #require(allocator.liveAllocations().first { $0.name == "transient pool" })
            #expect(report.aliasCount == 3)
            #expect(report.description.contains("aliased by 3"), "\(report)")
            let range = try #require(allocator.statistics().pages.flatMap(\.ranges).first { $0.name == "transient pool" })
            let aliases = try #require(range.aliases)
            #expect(aliases.map(\.resource).sorted { $0.rawValue < $1.rawValue } == [.buffer, .buffer, .image])
            #expect(Set(aliases.map(\.offset)) == [0, 512 << 10])
            #expect(aliases.contains { $0.handle == UInt64(UInt(bitPattern: image.image)) })
            // The statistics still encode and parse with the aliases in them.
            #expect(try allocator.statistics().json().contains("\"aliases\""))

            #expect(throws: AllocationError.aliasesLive(count: 3)) { try allocator.free(allocation) }
            #expect(allocator.isLive(allocation))
            allocator._checkInvariants()

            try allocator.destroyAliasingBuffer(buffer)
            try allocator.destroyAliasingImage(image)
            #expect(throws: AllocationError.unknownAllocation) { try allocator.destroyAliasingImage(image) }
            #expect(throws: AllocationError.aliasesLive(count: 1)) { try allocator.free(allocation) }
            try allocator.destroyAliasingBuffer(tail)
            #expect(allocator.statistics().pages.flatMap(\.ranges).allSatisfy { $0.aliases == nil })
            try allocator.free(allocation)
            #expect(allocator.usage.allocationCount == 0)
            allocator._checkInvariants()
        }
    }

    /// A resource bound with `createBuffer(_:boundTo:)` owns the allocation; aliases may
    /// join it, and destroying the owner while they live is refused with nothing destroyed.
    @Test func anOwnerIsNotDestroyedWhileAliasesLive() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let needs = try Self.requirements(Self.bufferInfo, on: context.device)
            let allocation = try allocator.allocate(needs, usage: .gpuOnly)
            let owner = try allocator.createBuffer(Self.bufferInfo, boundTo: allocation)
            let alias = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation)
            #expect(throws: AllocationError.aliasesLive(count: 1)) { try allocator.destroyBuffer(owner) }
            #expect(allocator.isLive(allocation))
            try allocator.destroyAliasingBuffer(alias)
            try allocator.destroyBuffer(owner)
            #expect(!allocator.isLive(allocation))
            allocator._checkInvariants()
        }
    }

    /// `destroy(many:)` checks aliases with everything else before destroying any: a list
    /// whose second resource is still aliased destroys none (it used to destroy the first,
    /// report it freed, then throw), on pages and on dedicated memory.
    @Test(arguments: [AllocationOptions.DedicatedPolicy.never, .always])
    func destroyManyDestroysNoneWhileOneIsAliased(_ dedicated: AllocationOptions.DedicatedPolicy) throws {
        try withTestDevice { context in
            let log = EventLog()
            var allocatorOptions = AllocatorOptions()
            allocatorOptions.observers = [log]
            let allocator = Allocator(device: context.device, options: allocatorOptions)
            let options = AllocationOptions(dedicated: dedicated, canAlias: true)
            let first = try allocator.createBuffer(Self.bufferInfo, .usage(.gpuOnly), options: options)
            let second = try allocator.createBuffer(Self.bufferInfo, .usage(.gpuOnly), options: options)
            let alias = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: second.allocation)
            let before = log.all.count
            #expect(throws: AllocationError.aliasesLive(count: 1)) {
                try allocator.destroy(many: [.buffer(first), .buffer(second)])
            }
            #expect(allocator.isLive(first.allocation) && allocator.isLive(second.allocation))
            #expect(log.all.count == before, "an observer saw a free of a call that failed: \(log.all.suffix(2))")
            try allocator.destroyAliasingBuffer(alias)
            try allocator.destroy(many: [.buffer(first), .buffer(second)])
            #expect(!allocator.isLive(first.allocation) && !allocator.isLive(second.allocation))
            allocator._checkInvariants()
        }
    }

    /// A buffer whose memory a committed defragmentation pass moved is destroyed by
    /// `destroy(many:)` even after a new allocation took its freed record and got an
    /// alias there, on a page that is still live: the alias count is the live
    /// allocation's, not the record slot's (the page check alone let the newcomer's alias
    /// refuse the destroy).
    @Test func aMovedBufferIsNotHeldByTheAliasesOfItsRecordsNextOwner() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            let info = BufferDescription(size: 1 << 20, usage: [.storageBuffer, .transferDestination]).exclusiveCreateInfo
            // Several pages' worth (the first, the smallest, holds the first two), then
            // every other later one freed so each page keeps two or more; one move only,
            // so the page it leaves keeps its other buffers and stays.
            let made = try (0..<24).map { _ in try allocator.createBuffer(info, .usage(.gpuOnly)) }
            #expect(allocator.usage.pageCount >= 2)
            let freed = { (index: Int) in index >= 2 && !index.isMultiple(of: 2) }
            for (index, buffer) in made.enumerated() where freed(index) { try allocator.destroyBuffer(buffer) }
            let buffers = made.enumerated().filter { !freed($0.offset) }.map(\.element)
            let pass = try allocator.beginDefragmentation(maxMoves: 1)
            let move = try #require(pass.moves.first)
            try #require(pass.pagesToRelease == 0, "the source's page must stay for this test")
            let replacement = try allocator.createBuffer(info, boundTo: move.destination)
            pass.commit()
            let old = try #require(buffers.first { $0.allocation == move.source })
            #expect(!allocator.isLive(old.allocation))

            // New aliased allocations until one takes the moved buffer's record.
            func recordIndex(_ allocation: Allocation) -> UInt32? {
                if case let .page(_, _, handle) = allocation.location { handle.index } else { nil }
            }
            let target = try #require(recordIndex(move.source))
            var newcomers: [(owner: Allocation, alias: AliasingBuffer)] = []
            while newcomers.count < 64, !newcomers.contains(where: { recordIndex($0.owner) == target }) {
                let owner = try allocator.allocate(MemoryRequirements(size: 64 << 10, alignment: 256), usage: .gpuOnly,
                                                   options: AllocationOptions(canAlias: true))
                newcomers.append((owner, try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: owner)))
            }
            try #require(newcomers.contains { recordIndex($0.owner) == target },
                         "no new allocation took the moved buffer's record")
            try allocator.destroy(many: [.buffer(old)])
            allocator._checkInvariants()

            for (owner, alias) in newcomers {
                try allocator.destroyAliasingBuffer(alias)
                try allocator.free(owner)
            }
            try allocator.destroy(many: (buffers.filter { $0.allocation != move.source } + [replacement]).map { .buffer($0) })
            #expect(allocator.usage.allocationCount == 0)
            allocator._checkInvariants()
        }
    }

    /// Dedicated memory made with `canAlias` has no `VkMemoryDedicatedAllocateInfo` and
    /// takes aliases; memory dedicated to a resource takes none (typed error, nothing left).
    @Test func dedicatedMemoryAliasesOnlyWithCanAlias() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let needs = try Self.requirements(Self.bufferInfo, on: context.device)
            let owner = try ResourceObject.create(Self.bufferInfo, on: context.device)
            defer { owner.destroy(on: context.device) }
            let shared = try allocator.allocate(needs, usage: .gpuOnly,
                                                options: AllocationOptions(dedicated: .always, dedicatedTarget: .buffer(owner.buffer),
                                                                           canAlias: true))
            #expect(shared.isDedicated)
            let first = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: shared)
            let second = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: shared)
            #expect(allocator.statistics().dedicated.first?.aliases?.count == 2)
            #expect(allocator.liveAllocations().first?.aliasCount == 2)
            #expect(throws: AllocationError.aliasesLive(count: 2)) { try allocator.free(shared) }
            try allocator.destroyAliasingBuffer(first)
            try allocator.destroyAliasingBuffer(second)
            try allocator.free(shared)

            let exclusive = try allocator.allocate(needs, usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always,
                                                                              dedicatedTarget: .buffer(owner.buffer)))
            #expect(throws: AllocationError.requirementsNotMet(allocation: exclusive.description,
                                                               reason: .dedicatedToAnotherResource)) {
                try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: exclusive)
            }
            try allocator.free(exclusive)
            allocator._checkInvariants()
        }
    }

    /// Bad input is a typed error and leaves nothing behind: a resource running past the
    /// allocation (or an offset that overflows), an offset that breaks its alignment, an
    /// optimal image in a range placed for buffers, a freed allocation.
    @Test func badPlacementsAreTypedErrors() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let needs = try Self.requirements(Self.bufferInfo, on: context.device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 128 << 10, alignment: 4096, kind: .linear),
                                                    usage: .gpuOnly)
            let start = allocator.usage
            func reason(_ body: () throws(AllocationError) -> Void) -> UnmetRequirement? {
                do throws(AllocationError) { try body() } catch {
                    if case let .requirementsNotMet(_, reason) = error { return reason }
                    Issue.record("unexpected \(error)")
                }
                return nil
            }
            let pastEnd = allocation.size - needs.size + needs.alignment
            #expect(reason { () throws(AllocationError) in _ = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation, at: pastEnd) }
                    == .range(offset: pastEnd, size: needs.size, available: allocation.size))
            #expect(reason { () throws(AllocationError) in _ = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation, at: .max) }
                    == .range(offset: .max, size: needs.size, available: allocation.size))
            try #require(needs.alignment > 1, "lavapipe's storage buffers are aligned")
            #expect(reason { () throws(AllocationError) in _ = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation, at: 1) }
                    == .alignment(needed: needs.alignment, offset: allocation.offset + 1))
            #expect(reason { () throws(AllocationError) in _ = try allocator.createAliasingImage(Self.imageInfo, aliasing: allocation) }
                    == .kind(placed: .linear, needed: .optimal))
            // The exact end is fine.
            let last = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation,
                                                          at: allocation.size - needs.size)
            try allocator.destroyAliasingBuffer(last)
            #expect(allocator.usage == start)
            allocator._checkInvariants()
            try allocator.free(allocation)
            #expect(throws: AllocationError.alreadyFreed) {
                try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation)
            }
        }
    }

    /// A buffer never accepts a lazily allocated memory type: aliasing one into an
    /// allocation there is `.memoryType`, on a profiled Apple M1 (whose table has one).
    @Test(needsLavapipe, .enabled(if: realProfiles(matching: ["Apple M1"]).count >= 1))
    func wrongMemoryTypeBitsAreATypedError() throws {
        let profile = try realProfile("Apple M1")
        try withProfiledDevice(profile) { device in
            let allocator = Allocator(device: device)
            let lazy = try #require(allocator.properties.types.first { $0.flags.contains(.lazilyAllocated) })
            let allocation = try allocator.allocate(MemoryRequirements(size: 1 << 20, memoryTypeBits: 1 << UInt32(lazy.index)),
                                                    usage: .transientAttachment)
            #expect(allocation.memoryTypeIndex == lazy.index)
            do throws(AllocationError) {
                let alias = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: allocation)
                Issue.record("a buffer aliased lazily allocated memory")
                try allocator.destroyAliasingBuffer(alias)
            } catch {
                guard case .requirementsNotMet(_, .memoryType(let index, let allowed)) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(index == lazy.index && allowed & (1 << UInt32(lazy.index)) == 0)
            }
            try allocator.free(allocation)
            allocator._checkInvariants()
        }
    }

    /// A page holding an aliased allocation is not emptied by defragmentation: the
    /// aliases hold its offset.
    @Test func defragmentationLeavesAliasedPagesAlone() throws {
        try withTestDevice { context in
            let allocator = smallPageAllocator(context)
            let aliased = try allocator.allocate(MemoryRequirements(size: 64 << 10, alignment: 4096), usage: .gpuOnly)
            let alias = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: aliased)
            let pass = try allocator.beginDefragmentation()
            #expect(!pass.moves.contains { $0.source == aliased })
            pass.cancel()
            try allocator.destroyAliasingBuffer(alias)
            try allocator.free(aliased)
            allocator._checkInvariants()
        }
    }

    /// Aliases in every writer of the statistics: JSON and YAML keep them and read back
    /// equal; VMA's dump, which has no place for them, stays valid against VMA's schema
    /// with the aliased allocation once; the memory map draws each alias over the lower
    /// half of the allocation it shares, inside that allocation's box, while the boxes
    /// still tile their row.
    @Test func aliasesInEveryStatisticsWriter() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let paged = try allocator.allocate(MemoryRequirements(size: 1 << 20, alignment: 1 << 16), usage: .gpuOnly,
                                               options: AllocationOptions(name: "transient", canAlias: true))
            let buffer = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: paged, at: 256 << 10)
            let image = try allocator.createAliasingImage(Self.imageInfo, aliasing: paged)
            let dedicated = try allocator.allocate(MemoryRequirements(size: 256 << 10), usage: .gpuOnly,
                                                   options: AllocationOptions(dedicated: .always, name: "own", canAlias: true))
            let onDedicated = try allocator.createAliasingBuffer(Self.bufferInfo, aliasing: dedicated)
            let statistics = allocator.statistics()

            #expect(try JSONDecoder().decode(Statistics.self, from: Data(statistics.json().utf8)) == statistics)
            #expect(try YAMLDecoder().decode(Statistics.self, from: statistics.yaml()) == statistics)

            let dump = try JSONValue.parse(statistics.vmaJSON())
            #expect(dump["Total"]?["AllocationCount"]?.integerValue == Int64(statistics.totals.allocationCount))
            if FileManager.default.fileExists(atPath: vmaSchemaPath) {
                let validator = JSONSchemaValidator(root: try JSONValue.parse(String(contentsOfFile: vmaSchemaPath,
                                                                                     encoding: .utf8)))
                #expect(try validator.errors(in: dump).isEmpty)
            }

            let layout = MemoryMapLayout(statistics)
            let overlays = layout.rows.flatMap(\.overlays)
            #expect(overlays.count == 3)
            for row in layout.rows {
                let covered = row.boxes.reduce(0.0) { $0 + $1.width }
                #expect(abs(covered - row.width) < Double(row.boxes.count), "boxes tile the row")
                for overlay in row.overlays {
                    let owner = try #require(row.boxes.first { $0.name == overlay.allocationName })
                    #expect(overlay.x >= owner.x && overlay.x + overlay.width <= owner.x + owner.width + 0.001)
                    #expect(overlay.y > owner.y && overlay.y + overlay.height <= owner.y + owner.height + 0.001)
                }
            }
            let bufferOverlay = try #require(overlays.first { $0.handle == UInt64(UInt(bitPattern: buffer.buffer)) })
            #expect(bufferOverlay.resource == .buffer && bufferOverlay.offset == 256 << 10 && bufferOverlay.size == 64 << 10)
            let svg = statistics.svg()
            #expect(svg.components(separatedBy: "class=\"alias\"").count - 1 == 3)
            #expect(svg.contains("alias (lower half"))
            #expect(statistics.html().contains("wire(aliases)"))

            try allocator.destroyAliasingBuffer(buffer)
            try allocator.destroyAliasingImage(image)
            try allocator.destroyAliasingBuffer(onDedicated)
            try allocator.free(paged)
            try allocator.free(dedicated)
        }
    }
}
