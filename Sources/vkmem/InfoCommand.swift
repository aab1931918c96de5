import ArgumentParser
import Foundation
import VulkanMemory

/// `vkmem info`: the device, its heaps with budget, its types, the memory limits and the
/// memory-related extensions.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print the device's memory heaps, types, limits and memory extensions.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Flag(name: .long, help: "Print JSON instead of tables.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            let report = try InfoReport(context: context)
            print(json ? try report.json() : report.text())
        }
    }
}

/// What `vkmem info` prints, with the JSON keys the issue tracker fixed.
struct InfoReport: Encodable {
    struct Device: Encodable {
        let name: String
        let type: String
        let apiVersion: String
        let vendorID: UInt32
        let driverVersion: String
    }
    struct Heap: Encodable {
        let index: Int
        let size: UInt64
        let flags: [String]
        let budget: UInt64
        let usage: UInt64
    }
    struct TypeEntry: Encodable {
        let index: Int
        let heapIndex: Int
        let flags: [String]
    }
    struct Limits: Encodable {
        let bufferImageGranularity: UInt64
        let nonCoherentAtomSize: UInt64
        let maxMemoryAllocationCount: UInt32
        let minMemoryMapAlignment: Int
    }

    let device: Device
    let heaps: [Heap]
    let types: [TypeEntry]
    let limits: Limits
    let extensions: [String]
    let enabledCapabilities: [String]
    let budgetSource: String

    enum CodingKeys: String, CodingKey {
        case device, heaps, types, limits, extensions, enabledCapabilities, budgetSource
    }

    init(context: VulkanContext) throws {
        let vulkan = context.device
        let properties = MemoryProperties(device: vulkan)
        let budget = MemoryBudget(device: vulkan)
        device = Device(name: vulkan.info.name, type: vulkan.info.type.rawValue,
                        apiVersion: vulkan.info.apiVersion.description,
                        vendorID: vulkan.info.vendorID,
                        driverVersion: vulkan.info.driverVersionString)
        heaps = properties.heaps.map { heap in
            Heap(index: heap.index, size: heap.size, flags: heap.flags.names,
                 budget: budget.heaps[heap.index].budget, usage: budget.heaps[heap.index].usage)
        }
        types = properties.types.map { TypeEntry(index: $0.index, heapIndex: $0.heapIndex, flags: $0.flags.names) }
        let l = properties.limits
        limits = Limits(bufferImageGranularity: l.bufferImageGranularity,
                        nonCoherentAtomSize: l.nonCoherentAtomSize,
                        maxMemoryAllocationCount: l.maxMemoryAllocationCount,
                        minMemoryMapAlignment: l.minMemoryMapAlignment)
        extensions = try vulkan.availableExtensions()
            .filter(VulkanDevice.isMemoryRelated(extension:)).sorted()
        enabledCapabilities = vulkan.capabilities.names
        budgetSource = budget.source.rawValue
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        var out: [String] = []
        out.append("Device: \(device.name)")
        out.append("  type \(device.type), Vulkan \(device.apiVersion), driver \(device.driverVersion), vendor 0x\(String(device.vendorID, radix: 16))")
        out.append("")
        out.append("Heaps (budget: \(budgetSource == "estimated" ? "estimated, 80% of size; usage is this process's allocations" : "VK_EXT_memory_budget")):")
        var heapTable = TextTable(header: ["heap", "size", "flags", "budget", "usage"], rightAligned: [0, 1, 3, 4])
        heapTable.rows = heaps.map {
            ["\($0.index)", formatBytes($0.size), $0.flags.isEmpty ? "-" : $0.flags.joined(separator: "|"),
             formatBytes($0.budget), formatBytes($0.usage)]
        }
        out.append(heapTable.render())
        out.append("")
        out.append("Memory types:")
        var typeTable = TextTable(header: ["type", "heap", "flags"], rightAligned: [0, 1])
        typeTable.rows = types.map {
            ["\($0.index)", "\($0.heapIndex)", $0.flags.isEmpty ? "-" : $0.flags.joined(separator: "|")]
        }
        out.append(typeTable.render())
        out.append("")
        out.append("Limits:")
        var limitTable = TextTable(header: ["limit", "value"], rightAligned: [1])
        limitTable.rows = [
            ["bufferImageGranularity", "\(limits.bufferImageGranularity)"],
            ["nonCoherentAtomSize", "\(limits.nonCoherentAtomSize)"],
            ["maxMemoryAllocationCount", "\(limits.maxMemoryAllocationCount)"],
            ["minMemoryMapAlignment", "\(limits.minMemoryMapAlignment)"],
        ]
        out.append(limitTable.render())
        out.append("")
        out.append("Memory-related extensions offered: " + (extensions.isEmpty ? "none" : ""))
        out.append(contentsOf: extensions.map { "  \($0)" })
        out.append("Enabled by vkmem: " + (enabledCapabilities.isEmpty ? "none" : enabledCapabilities.joined(separator: ", ")))
        return out.joined(separator: "\n")
    }
}
