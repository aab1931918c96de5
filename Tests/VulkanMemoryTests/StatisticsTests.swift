import CVulkan
import Foundation
import Testing
import Yams
@testable import VulkanMemory

@Suite("Statistics on lavapipe")
struct StatisticsTests {
    @Test func figuresAgreeWithUsageAndWithARecountOfTheRanges() throws {
        try withTestDevice { context in
            let scene = try StatisticsScene(device: context.device)
            let statistics = scene.allocator.statistics()
            let usage = scene.allocator.usage
            let totals = statistics.totals
            #expect(totals.committedBytes == usage.committedBytes)
            #expect(totals.liveBytes == usage.liveBytes)
            #expect(totals.allocationCount == usage.allocationCount)
            #expect(totals.pageCount == usage.pageCount)
            #expect(totals.emptyPageCount == usage.emptyPageCount)
            #expect(totals.dedicatedCount == usage.dedicatedCount)
            #expect(totals.deviceMemoryCount == usage.pageCount + usage.dedicatedCount)
            #expect(totals.allocationCount == scene.liveCount)
            #expect(statistics.device == context.device.info.name)

            for page in statistics.pages {
                var cursor: UInt64 = 0
                var used: UInt64 = 0
                var free: UInt64 = 0
                var allocations = 0
                var freeRanges = 0
                var largest: UInt64 = 0
                var previousWasFree = false
                for range in page.ranges {
                    #expect(range.offset == cursor, "ranges must be contiguous")
                    #expect(range.size > 0)
                    cursor = range.offset + range.size
                    if range.kind == .free {
                        #expect(!previousWasFree, "two free ranges side by side are one free range")
                        #expect(range.name == nil)
                        free += range.size
                        freeRanges += 1
                        largest = max(largest, range.size)
                    } else {
                        used += range.size
                        allocations += 1
                    }
                    previousWasFree = range.kind == .free
                }
                #expect(cursor == page.size, "ranges must end at the page's end")
                #expect(used == page.usedBytes)
                #expect(free == page.freeBytes)
                #expect(page.usedBytes + page.freeBytes == page.size)
                #expect(allocations == page.allocationCount)
                #expect(freeRanges == page.freeRangeCount)
                #expect(largest == page.largestFreeRange)
            }

            // Every figure above the pages is the sum of what lies below it.
            for type in statistics.types {
                let pages = statistics.pages.filter { $0.memoryTypeIndex == type.index }
                let dedicated = statistics.dedicated.filter { $0.memoryTypeIndex == type.index }
                #expect(type.pageCount == pages.count)
                #expect(type.dedicatedCount == dedicated.count)
                #expect(type.committedBytes == pages.reduce(0) { $0 + $1.size } + dedicated.reduce(0) { $0 + $1.size })
                #expect(type.liveBytes == pages.reduce(0) { $0 + $1.usedBytes } + dedicated.reduce(0) { $0 + $1.size })
                #expect(type.allocationCount == pages.reduce(0) { $0 + $1.allocationCount } + dedicated.count)
                #expect(type.flags == scene.allocator.properties.types[type.index].flags.names)
            }
            for heap in statistics.heaps {
                let types = statistics.types.filter { $0.heapIndex == heap.index }
                #expect(heap.committedBytes == types.reduce(0) { $0 + $1.committedBytes })
                #expect(heap.size == scene.allocator.properties.heaps[heap.index].size)
                #expect(heap.budget > 0)
                #expect(MemoryBudget.Source(rawValue: heap.budgetSource) != nil)
            }
            #expect(statistics.heaps.reduce(0) { $0 + $1.committedBytes } == totals.committedBytes)
            #expect(statistics.pages.reduce(0) { $0 + $1.freeBytes } == totals.freeBytesInPages)
            #expect(totals.committedBytes - totals.liveBytes == totals.freeBytesInPages)
            try scene.destroy()
        }
    }

    @Test func namesKindsAndMappingAreWhereTheAllocationsAre() throws {
        try withTestDevice { context in
            let scene = try StatisticsScene(device: context.device)
            let statistics = scene.allocator.statistics()

            // Each live page allocation appears once, at its offset, with its size, kind and name.
            for (allocation, expected) in scene.pageAllocations {
                let matches = statistics.pages.flatMap(\.ranges).filter {
                    $0.kind != .free && $0.name == expected.name && $0.offset == allocation.offset
                }
                #expect(matches.count == 1, "\(expected.name ?? "unnamed") at \(allocation.offset)")
                #expect(matches.first?.size == allocation.size)
                #expect(matches.first?.kind == expected.kind)
            }
            let namedRanges = statistics.pages.flatMap(\.ranges).compactMap(\.name)
            #expect(Set(namedRanges) == Set(scene.pageAllocations.compactMap(\.1.name)))
            #expect(namedRanges.count == Set(namedRanges).count)
            for freed in StatisticsScene.freedNames { #expect(!namedRanges.contains(freed)) }

            // The freed allocations left free ranges between live ones.
            let firstPage = try #require(statistics.pages.first { $0.ranges.contains { $0.name == "vertices" } })
            let interior = firstPage.ranges.dropFirst().dropLast().filter { $0.kind == .free }
            #expect(interior.count >= 2)

            // Pages are mapped exactly where their memory type is host-visible: mapped once,
            // when made, so no later vkMapMemory races a bind to the same memory.
            for page in statistics.pages {
                #expect(page.mapped == scene.allocator.properties.types[page.memoryTypeIndex].isHostVisible)
            }

            #expect(statistics.dedicated.map(\.name) == scene.dedicatedAllocations.map(\.1.name))
            #expect(statistics.dedicated.map(\.mapped) == scene.dedicatedAllocations.map(\.1.mapped))
            #expect(statistics.dedicated.map(\.size) == scene.dedicatedAllocations.map(\.0.size))
            try scene.destroy()
        }
    }

    @Test func yamlAndJSONReadBackEqual() throws {
        try withTestDevice { context in
            let scene = try StatisticsScene(device: context.device)
            let statistics = scene.allocator.statistics()

            let yaml = try statistics.yaml()
            #expect(try YAMLDecoder().decode(Statistics.self, from: yaml) == statistics)
            // Any YAML reader, not only a decoder that knows the model, must accept it.
            let node = try #require(try Yams.load(yaml: yaml) as? [String: Any])
            #expect(node["device"] as? String == statistics.device)
            let totals = try #require(node["totals"] as? [String: Any])
            #expect((totals["committedBytes"] as? Int).map(UInt64.init) == statistics.totals.committedBytes)
            let pages = try #require(node["pages"] as? [[String: Any]])
            #expect(pages.count == statistics.pages.count)
            let names = pages.flatMap { ($0["ranges"] as? [[String: Any]]) ?? [] }.compactMap { $0["name"] as? String }
            #expect(Set(names) == Set(statistics.pages.flatMap(\.ranges).compactMap(\.name)))
            #expect(try statistics.text(.yaml) == yaml)
            // Names are searchable in the text: written as is, one line each.
            #expect(yaml.contains("ünïcødé ✓"))
            #expect(yaml.split(separator: "\n").contains { $0.contains(StatisticsScene.longName) })

            let json = try statistics.json()
            #expect(try JSONDecoder().decode(Statistics.self, from: Data(json.utf8)) == statistics)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["device", "totals", "heaps", "types", "pages", "dedicated", "pools"])
            #expect(try statistics.text(.json) == json)
            #expect(StatisticsError.encodingFailed(format: .yaml, message: "no room").description
                == "cannot encode the statistics as yaml: no room")
            try scene.destroy()
        }
    }

    @Test func nothingIsLeftAfterFreeingEverything() throws {
        try withTestDevice { context in
            let scene = try StatisticsScene(device: context.device)
            #expect(!scene.allocator.statistics().pages.isEmpty)
            try scene.destroy()
            let kept = scene.allocator.statistics()
            #expect(kept.totals.allocationCount == 0)
            #expect(kept.totals.liveBytes == 0)
            #expect(kept.pages.allSatisfy { $0.allocationCount == 0 && $0.ranges.count == 1 && $0.ranges[0].kind == .free })

            scene.allocator.freeUnusedPages()
            let statistics = scene.allocator.statistics()
            #expect(statistics.pages.isEmpty)
            #expect(statistics.dedicated.isEmpty)
            #expect(statistics.totals.committedBytes == 0)
            #expect(statistics.totals.pageCount == 0)
            #expect(statistics.totals.emptyPageCount == 0)
            #expect(statistics.totals.freeBytesInPages == 0)
            #expect(statistics.totals.deviceMemoryCount == 0, "the count is of memory held, not calls made")
            #expect(scene.allocator.usage.deviceMemoryAllocations > 0, "usage counts the calls made")
            #expect(statistics.types.allSatisfy { $0.committedBytes == 0 && $0.pageCount == 0 && $0.allocationCount == 0 })
            #expect(statistics.heaps.allSatisfy { $0.committedBytes == 0 })
            #expect(try YAMLDecoder().decode(Statistics.self, from: try statistics.yaml()) == statistics)
        }
    }
}

/// What a test allocation should look like in the statistics.
struct ExpectedRange {
    let name: String?
    let kind: RangeStatistics.Kind
    let mapped: Bool
    /// The order the allocation was made in.
    let sequence: Int
}

/// A scene with known sizes, names and kinds on 1 MiB pages.
///
/// The first page gets only unmapped GPU-only allocations, filled so that the mapped ones
/// that follow cannot fit and go to a page of their own; two allocations between others
/// are freed to leave interior free ranges. Names include strings YAML would misread if
/// written unquoted.
final class StatisticsScene {
    static let pageSize: UInt64 = 1 << 20
    static let freedNames = ["indices", "scratch"]
    /// Longer than a YAML emitter's default line width, and YAML syntax if unquoted.
    static let longName = "key: value # not a comment, " + String(repeating: "and a long name ", count: 6)

    let allocator: Allocator
    private(set) var buffers: [BoundBuffer] = []
    private(set) var images: [BoundImage] = []
    private(set) var raw: [Allocation] = []
    private(set) var expected: [Allocation: ExpectedRange] = [:]
    private var madeCount = 0

    init(device: VulkanDevice) throws {
        var options = AllocatorOptions()
        for type in MemoryProperties(device: device).types { options.pageSizeByType[type.index] = Self.pageSize }
        allocator = Allocator(device: device, options: options)
        let kibibyte: UInt64 = 1 << 10

        try buffer(256 * kibibyte, .gpuOnly, name: "vertices")
        try buffer(128 * kibibyte, .gpuOnly, name: "indices")
        try image(128, name: "albedo")
        try buffer(128 * kibibyte, .gpuOnly, name: "scratch")
        try allocate(MemoryRequirements(size: 192 * kibibyte), .gpuOnly, name: Self.longName)
        try buffer(64 * kibibyte, .gpuOnly, name: "null")
        try buffer(32 * kibibyte, .gpuOnly, name: nil)
        try allocate(MemoryRequirements(size: 16 * kibibyte, kind: .linear), .gpuOnly, name: "- ünïcødé ✓\n\"quoted\"")
        // The mapped allocations must not fit in the first page, so it stays unmapped.
        let firstPage = try #require(allocator.statistics().pages.first)
        try #require(firstPage.largestFreeRange < 256 * kibibyte && firstPage.ranges.first?.name == "vertices")
        try buffer(320 * kibibyte, .staging, name: "staging", mapped: true)
        try buffer(256 * kibibyte, .readback, name: "readback", mapped: true)

        try buffer(64 * kibibyte, .staging, name: "dedicated staging", mapped: true, dedicated: true)
        try image(256, name: "render target", dedicated: true)

        for name in Self.freedNames {
            let bound = try #require(buffers.first { expected[$0.allocation]?.name == name })
            try allocator.destroyBuffer(bound)
            buffers.removeAll { $0 == bound }
            expected[bound.allocation] = nil
        }
    }

    /// The live allocations in pages with what each should look like.
    var pageAllocations: [(Allocation, ExpectedRange)] {
        expected.filter { !$0.key.isDedicated }.map { ($0.key, $0.value) }
    }

    /// The dedicated allocations in the order they were made (the registry's slot order).
    var dedicatedAllocations: [(Allocation, ExpectedRange)] {
        (buffers.map(\.allocation) + images.map(\.allocation) + raw).filter(\.isDedicated)
            .compactMap { allocation in expected[allocation].map { (allocation, $0) } }
            .sorted { $0.1.sequence < $1.1.sequence }
    }

    var liveCount: Int { expected.count }

    func destroy() throws {
        for bound in buffers { try allocator.destroyBuffer(bound) }
        for bound in images { try allocator.destroyImage(bound) }
        for allocation in raw { try allocator.free(allocation) }
        buffers = []
        images = []
        raw = []
        expected = [:]
    }

    private func made() -> Int {
        madeCount += 1
        return madeCount
    }

    @discardableResult
    private func buffer(_ size: UInt64, _ usage: MemoryUsage, name: String?, mapped: Bool = false,
                        dedicated: Bool = false) throws -> BoundBuffer {
        var info = VkBufferCreateInfo()
        info.size = size
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let bound = try allocator.createBuffer(info, .usage(usage), options: AllocationOptions(
            dedicated: dedicated ? .always : .never, mapped: mapped, name: name))
        buffers.append(bound)
        expected[bound.allocation] = ExpectedRange(name: name, kind: .linear, mapped: mapped, sequence: made())
        return bound
    }

    private func image(_ side: UInt32, name: String, dedicated: Bool = false) throws {
        let info = ImageDescription(width: side, height: side, usage: [.sampled, .colorAttachment]).exclusiveCreateInfo
        let bound = try allocator.createImage(info, .usage(.gpuOnly), options: AllocationOptions(
            dedicated: dedicated ? .always : .never, name: name))
        images.append(bound)
        expected[bound.allocation] = ExpectedRange(name: name, kind: .optimal, mapped: false, sequence: made())
    }

    private func allocate(_ requirements: MemoryRequirements, _ usage: MemoryUsage, name: String) throws {
        let allocation = try allocator.allocate(requirements, usage: usage, options: AllocationOptions(dedicated: .never, name: name))
        raw.append(allocation)
        let kind: RangeStatistics.Kind = requirements.kind == .linear ? .linear : .unknown
        expected[allocation] = ExpectedRange(name: name, kind: kind, mapped: false, sequence: made())
    }
}
