import CVulkan
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import VulkanMemory

/// VMA's JSON Schema of its statistics dump, beside the project (`../shared/vma-json`).
let vmaSchemaPath = sharedDirectory.appendingPathComponent("vma-json").appendingPathComponent("GpuMemDump.schema.json").path

/// The trait of a test that reads VMA's schema: CI keeps `shared/` beside the clone; a
/// fresh clone alone has none, and the test says it was skipped.
let needsVMASchema = Testing.ConditionTrait.enabled(
    if: FileManager.default.fileExists(atPath: vmaSchemaPath),
    "skipped: VMA's schema (../shared/vma-json/GpuMemDump.schema.json) is not beside the project")

/// A name that would change the page if a writer let it through as markup.
let hostileName = "<script>document.documentElement.setAttribute('data-pwned','1')</script>"
let hostileAttributeName = "\" onmouseover=\"document.documentElement.setAttribute('data-pwned','2')\" x=\"<img src=x onerror=alert(1)>"

/// `StatisticsScene` (buffers, images, raw memory, dedicated memory, free ranges between
/// allocations) and a custom pool of 512 KiB pages with two buffers and a free range
/// between them; two names are hostile markup.
final class MemoryDumpScene {
    let scene: StatisticsScene
    let pool: MemoryPool
    private(set) var poolBuffers: [BoundBuffer] = []
    var allocator: Allocator { scene.allocator }

    init(device: VulkanDevice) throws {
        scene = try StatisticsScene(device: device)
        pool = try scene.allocator.makePool(PoolOptions(name: "streaming & <pool>", pageSize: 512 << 10))
        var info = VkBufferCreateInfo()
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        for (size, name) in [(64 << 10, hostileName), (32 << 10, "gap"), (128 << 10, hostileAttributeName)] {
            info.size = UInt64(size)
            poolBuffers.append(try scene.allocator.createBuffer(info, in: pool, options: AllocationOptions(name: name)))
        }
        try scene.allocator.destroyBuffer(poolBuffers.remove(at: 1))
    }

    func destroy() throws {
        for bound in poolBuffers { try allocator.destroyBuffer(bound) }
        poolBuffers = []
        try allocator.destroyPool(pool)
        try scene.destroy()
    }
}

@Suite("Statistics: what each range holds")
struct RangeResourceTests {
    @Test func rangesTellTheirResourceUsageAndCallSite() throws {
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let statistics = dump.allocator.statistics()
            let ranges = statistics.pages.flatMap(\.ranges)
            let vertices = try #require(ranges.first { $0.name == "vertices" })
            #expect(vertices.resource == .buffer)
            #expect(vertices.usage == VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
            #expect(vertices.fileID == "VulkanMemoryTests/StatisticsTests.swift")
            #expect((vertices.line ?? 0) > 0)
            let albedo = try #require(ranges.first { $0.name == "albedo" })
            #expect(albedo.resource == .image && albedo.kind == .optimal)
            #expect(albedo.usage == ImageUsage([.sampled, .colorAttachment]).rawValue)
            let raw = try #require(ranges.first { $0.name == StatisticsScene.longName })
            #expect(raw.resource == nil && raw.usage == nil && raw.fileID != nil)
            #expect(ranges.filter { $0.kind == .free }.allSatisfy { $0.resource == nil && $0.fileID == nil && $0.line == nil })

            let target = try #require(statistics.dedicated.first { $0.name == "render target" })
            #expect(target.resource == .image && target.kind == .optimal)
            let staging = try #require(statistics.dedicated.first { $0.name == "dedicated staging" })
            #expect(staging.resource == .buffer && staging.kind == .linear)

            // The pool is listed, and its pages say which pool they are in.
            #expect(statistics.pools.map(\.name) == ["streaming & <pool>"])
            #expect(statistics.pools.first?.pageSize == 512 << 10)
            #expect(statistics.pools.first?.pageCount == 1)
            let poolPages = statistics.pages.filter { $0.poolIndex == 0 }
            #expect(poolPages.count == 1 && poolPages.allSatisfy { $0.pool == "streaming & <pool>" })
            #expect(poolPages.first?.ranges.compactMap(\.name) == [hostileName, hostileAttributeName])
            #expect(statistics.types.allSatisfy { $0.preferredPageSize == StatisticsScene.pageSize })
            try dump.destroy()
        }
    }
}

@Suite("Statistics as VMA's JSON dump")
struct VMAJSONDumpTests {
    @Test(needsVMASchema) func theDumpIsValidAgainstVMAsSchemaAndABrokenOneIsNot() throws {
        let schema = try JSONValue.parse(String(contentsOfFile: vmaSchemaPath, encoding: .utf8))
        let validator = JSONSchemaValidator(root: schema)
        // The validator checks every keyword the schema uses; none is passed over.
        let unknown = validator.keywords().subtracting(JSONSchemaValidator.supported)
            .subtracting(JSONSchemaValidator.annotations)
        #expect(unknown.isEmpty, "keywords the validator does not check: \(unknown)")

        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let text = try dump.allocator.statistics().vmaJSON()
            let document = try JSONValue.parse(text)
            let errors = try validator.errors(in: document)
            #expect(errors.isEmpty, "the dump breaks VMA's schema: \(errors)")

            // Broken dumps, each in one way the schema forbids, are refused.
            guard case .object(var root) = document else { Issue.record("the dump is not an object"); return }
            var missingTotal = root
            missingTotal["Total"] = nil
            #expect(try validator.errors(in: .object(missingTotal)).contains { $0.contains("\"Total\" is missing") })
            var extraMember = root
            extraMember["Extra"] = .integer(1)
            #expect(try !validator.errors(in: .object(extraMember)).isEmpty)
            var wrongAPI = root
            wrongAPI["General"] = .object(["API": .string("Metal"), "GPU": .string("x")])
            #expect(try validator.errors(in: .object(wrongAPI)).contains { $0.contains("$.General.API") })
            var badStats = try #require(root["Total"]?.objectValue)
            badStats["BlockCount"] = .string("three")
            root["Total"] = .object(badStats)
            #expect(try validator.errors(in: .object(root)).contains { $0.contains("$.Total.BlockCount") })
            var badBlock = try #require(document.objectValue)
            var pools = try #require(badBlock["DefaultPools"]?.objectValue)
            let (typeKey, typePool) = try #require(pools.first { !($0.value["Blocks"]?.objectValue ?? [:]).isEmpty })
            var typeObject = try #require(typePool.objectValue)
            var blocks = try #require(typeObject["Blocks"]?.objectValue)
            var block = try #require(blocks.first?.value.objectValue)
            block["TotalBytes"] = nil
            blocks = ["not a number": .object(block)]
            typeObject["Blocks"] = .object(blocks)
            pools[typeKey] = .object(typeObject)
            badBlock["DefaultPools"] = .object(pools)
            let blockErrors = try validator.errors(in: .object(badBlock))
            #expect(blockErrors.contains { $0.contains("\"TotalBytes\" is missing") }, "\(blockErrors)")
            #expect(blockErrors.contains { $0.contains("does not match") }, "\(blockErrors)")
            try dump.destroy()
        }
    }

    @Test func theDumpHoldsEveryBlockRangeAndDedicatedAllocation() throws {
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let statistics = dump.allocator.statistics()
            let document = try JSONValue.parse(try statistics.vmaJSON())
            #expect(try statistics.text(.vmaJSON) == statistics.vmaJSON())
            #expect(document["General"]?["API"]?.stringValue == "Vulkan")
            #expect(document["General"]?["GPU"]?.stringValue == statistics.device)
            let total = try #require(document["Total"])
            #expect(total["BlockCount"]?.integerValue == Int64(statistics.pages.count + statistics.dedicated.count))
            #expect(total["BlockBytes"]?.integerValue == Int64(statistics.totals.committedBytes))
            #expect(total["AllocationCount"]?.integerValue == Int64(statistics.totals.allocationCount))
            #expect(total["AllocationBytes"]?.integerValue == Int64(statistics.totals.liveBytes))
            #expect(total["UnusedRangeCount"]?.integerValue == Int64(statistics.pages.reduce(0) { $0 + $1.freeRangeCount }))
            for heap in statistics.heaps {
                let entry = try #require(document["MemoryInfo"]?["Heap \(heap.index)"])
                #expect(entry["Budget"]?["BudgetBytes"]?.integerValue == Int64(heap.budget))
                #expect(entry["Stats"]?["BlockBytes"]?.integerValue == Int64(heap.committedBytes))
                let types = statistics.types.filter { $0.heapIndex == heap.index }.map { "Type \($0.index)" }
                #expect(Set(entry["MemoryPools"]?.objectValue?.keys ?? [:].keys) == Set(types))
            }

            // Every range of every block, in address order, tiling the block.
            var suballocations: [JSONValue] = []
            var dedicated: [JSONValue] = []
            for type in statistics.types {
                let pool = try #require(document["DefaultPools"]?["Type \(type.index)"])
                #expect(pool["PreferredBlockSize"]?.integerValue == Int64(type.preferredPageSize))
                let blocks = pool["Blocks"]?.objectValue ?? [:]
                let pages = statistics.pages.filter { $0.memoryTypeIndex == type.index && $0.poolIndex == nil }
                #expect(blocks.count == pages.count)
                for (index, page) in pages.enumerated() {
                    let block = try #require(blocks["\(index)"])
                    #expect(block["TotalBytes"]?.integerValue == Int64(page.size))
                    #expect(block["UnusedBytes"]?.integerValue == Int64(page.freeBytes))
                    let ranges = block["Suballocations"]?.arrayValue ?? []
                    #expect(ranges.count == page.ranges.count)
                    var cursor: Int64 = 0
                    for range in ranges {
                        #expect(range["Offset"]?.integerValue == cursor)
                        cursor += range["Size"]?.integerValue ?? 0
                    }
                    #expect(cursor == Int64(page.size))
                    suballocations += ranges
                }
                dedicated += pool["DedicatedAllocations"]?.arrayValue ?? []
            }
            func entry(_ name: String, in list: [JSONValue]) -> JSONValue? { list.first { $0["Name"]?.stringValue == name } }
            #expect(entry("vertices", in: suballocations)?["Type"]?.stringValue == "BUFFER")
            #expect(entry("vertices", in: suballocations)?["Usage"]?.integerValue
                == Int64(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue))
            #expect(entry("albedo", in: suballocations)?["Type"]?.stringValue == "IMAGE_OPTIMAL")
            #expect(entry(StatisticsScene.longName, in: suballocations)?["Type"]?.stringValue == "UNKNOWN")
            #expect(entry(StatisticsScene.longName, in: suballocations)?["Usage"]?.integerValue == 0)
            #expect(entry("- ünïcødé ✓\n\"quoted\"", in: suballocations)?["Type"]?.stringValue == "UNKNOWN")
            #expect(suballocations.contains { $0["Type"]?.stringValue == "FREE" && $0["Name"] == nil && $0["Usage"] == nil })
            #expect(entry("render target", in: dedicated)?["Type"]?.stringValue == "IMAGE_OPTIMAL")
            #expect(entry("dedicated staging", in: dedicated)?["Type"]?.stringValue == "BUFFER")
            #expect(dedicated.count == statistics.dedicated.count)

            // The custom pool, under its memory type, with its hostile names as given.
            let poolType = try #require(statistics.pools.first?.memoryTypeIndex)
            let custom = try #require(document["CustomPools"]?["Type \(poolType)"]?.arrayValue?.first)
            #expect(custom["Name"]?.stringValue == "streaming & <pool>")
            #expect(custom["PreferredBlockSize"]?.integerValue == 512 << 10)
            let poolRanges = custom["Blocks"]?["0"]?["Suballocations"]?.arrayValue ?? []
            #expect(poolRanges.compactMap { $0["Name"]?.stringValue } == [hostileName, hostileAttributeName])
            #expect(poolRanges.map { $0["Type"]?.stringValue ?? "" } == ["BUFFER", "FREE", "BUFFER", "FREE"])
            try dump.destroy()
        }
    }
}

@Suite("Statistics as a memory map")
struct MemoryMapTests {
    @Test func theSVGIsWellFormedAndDrawsEveryRangeWithNamesAsText() throws {
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let statistics = dump.allocator.statistics()
            let svg = statistics.svg()
            #expect(try statistics.text(.svg) == svg)
            let parser = XMLParser(data: Data(svg.utf8))
            let counter = RangeCounter()
            parser.delegate = counter
            #expect(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
            // The parser reads back exactly the names that went in: escaped, never markup.
            #expect(counter.rangeCount == statistics.pages.reduce(0) { $0 + $1.ranges.count } + statistics.dedicated.count)
            #expect(counter.names.contains(hostileName) && counter.names.contains(hostileAttributeName))
            #expect(counter.names.contains("- ünïcødé ✓\\u{A}\"quoted\""), "a line break in a name is shown, not obeyed")
            #expect(counter.elements.isSubset(of: ["svg", "title", "rect", "text", "g"]), "\(counter.elements)")
            #expect(!svg.contains("<script") && !svg.contains("<img") && !svg.contains("<pool>"))
            for category in MemoryMapLayout.Category.allCases { #expect(svg.contains("fill=\"\(category.hex)\"")) }
            #expect(svg.contains("Committed \(formattedBytes(statistics.totals.committedBytes))"))
            try dump.destroy()
        }
    }

    @Test func theHTMLPageHasOneScriptAndNoNetwork() throws {
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let html = dump.allocator.statistics().html()
            #expect(html.components(separatedBy: "<script").count == 2, "only the page's own script")
            #expect(!html.contains("<img") && !html.contains("onmouseover=\"document"))
            #expect(html.contains("&lt;script&gt;document.documentElement.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)"))
            // Escaped names leave no raw '<' behind, so every '<…>' is the page's own markup:
            // known elements, none of which loads anything.
            let tags = html.matches(of: /<[^>]*>/).map { String($0.output) }
            let names = Set(tags.compactMap { $0.firstMatch(of: /^<\/?([!a-zA-Z]+)/).map { String($0.1).lowercased() } })
            #expect(names.isSubset(of: ["!doctype", "html", "head", "meta", "title", "style", "body", "svg", "rect",
                                        "text", "g", "div", "script"]), "\(names)")
            // Attribute values are quoted, and quotes in names escaped: without the values,
            // what is left of each tag is its name and attribute names.
            let attributeNames = tags.map { $0.replacing(/"[^"]*"/, with: "") }
            #expect(!attributeNames.contains { $0.contains("src=") || $0.contains("href=") }, "nothing is fetched")
            #expect(attributeNames.contains { $0.contains("data-name=") }, "the check sees the attributes")
            #expect(!html.contains("url(") && !html.contains("@import"), "the style fetches nothing")
            try dump.destroy()
        }
    }

    @Test func rowsAreScaledToTheirMemoryAndRangesToTheirBytes() throws {
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let statistics = dump.allocator.statistics()
            let layout = MemoryMapLayout(statistics)
            #expect(layout.rows.count == statistics.pages.count + statistics.dedicated.count)
            let largest = max(statistics.pages.map(\.size).max() ?? 0, statistics.dedicated.map(\.size).max() ?? 0)
            let sizes = statistics.pages.map(\.size) + statistics.dedicated.map(\.size)
            for row in layout.rows {
                #expect(row.width <= MemoryMapLayout.barWidth + 0.001)
                let covered = row.boxes.reduce(0.0) { $0 + $1.width }
                #expect(abs(covered - row.width) < Double(row.boxes.count), "boxes tile the row")
            }
            #expect(layout.rows.contains { abs($0.width - MemoryMapLayout.barWidth) < 0.001 })
            // A 512 KiB pool page beside the largest memory shown.
            let poolRow = try #require(layout.rows.first { $0.boxes.contains { $0.name == hostileName } })
            #expect(abs(poolRow.width - MemoryMapLayout.barWidth * Double(512 << 10) / Double(largest)) < 0.001)
            #expect(sizes.count == layout.rows.count)
            let categories = Set(layout.rows.flatMap(\.boxes).map(\.category))
            #expect(categories == Set(MemoryMapLayout.Category.allCases))
            try dump.destroy()
        }
    }
}

/// Counts the ranges of a memory map and reads back their names, as any XML reader would.
private final class RangeCounter: NSObject, XMLParserDelegate {
    var rangeCount = 0
    var names: Set<String> = []
    var elements: Set<String> = []

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes: [String: String] = [:]) {
        elements.insert(elementName)
        guard attributes["class"] == "range" else { return }
        rangeCount += 1
        if let name = attributes["data-name"], !name.isEmpty { names.insert(name) }
    }
}
