import ArgumentParser
import VulkanMemory

/// `vkmem demo`: a tour of the library on the default device, each step printed with
/// what it shows. Exits non-zero with a clear message if any step fails.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Tour the library on a device: memory properties, then a raw allocation mapped, written, read back and freed.")

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            try Demo(context: context).run()
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}

/// The demo's steps.
struct Demo {
    let context: VulkanContext

    func step(_ title: String) { print("\n== \(title)") }

    func run() throws {
        let device = context.device
        step("1. The device and its memory")
        print(try InfoReport(context: context).text())

        step("2. A raw allocation: vkAllocateMemory, map, write, read back, free")
        let properties = MemoryProperties(device: device)
        guard let type = properties.types.first(where: { $0.isHostVisible && $0.isHostCoherent })
            ?? properties.types.first(where: \.isHostVisible) else {
            print("This device has no host-visible memory type; skipping.")
            return
        }
        let size: UInt64 = 64 * 1024
        let memory = try DeviceMemory.allocate(on: device, size: size, memoryTypeIndex: type.index)
        print("allocated \(formatBytes(size)) from memory type \(type.index) (\(type.flags)), heap \(type.heapIndex)")
        let view = try memory.map()
        let pattern = (0..<1024).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        try view.write(contentsOf: pattern, at: 4096)
        let back = try view.read(UInt32.self, count: pattern.count, at: 4096)
        guard back == pattern else {
            throw DemoFailure("the values read back differ from those written")
        }
        print("wrote \(pattern.count) UInt32 values at offset 4096 through the mapping and read them back equal")
        do {
            try view.write(UInt64(1), at: size - 4)
            throw DemoFailure("a write past the end of the mapping was not refused")
        } catch let error as MemoryError {
            print("a write past the end is refused: \(error)")
        }
        let budget = MemoryBudget(device: device)
        print("heap \(type.heapIndex) usage while allocated: \(formatBytes(budget.heaps[type.heapIndex].usage)) (\(budget.source.rawValue))")
        try memory.unmap()
        try memory.free()
        print("unmapped and freed; heap \(type.heapIndex) usage now \(formatBytes(MemoryBudget(device: device).heaps[type.heapIndex].usage))")
        print("\nDemo finished.")
    }
}

/// A demo step whose outcome was not what the library promises.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
