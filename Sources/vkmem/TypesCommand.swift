import ArgumentParser
import Foundation
import VulkanMemory

/// `vkmem types`: the memory-type choice for each intent, on each device of a profile file.
struct TypesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "Rank memory types for each intent (gpuOnly, staging, dynamic, readback, transientAttachment) on profiled devices.")

    @Option(name: .long, help: "A profile file in the format of shared/gpu-profiles/devices.json.")
    var profiles: String

    @Option(name: .long, help: "Only devices whose name contains this text.")
    var device: String?

    @Flag(name: .long, help: "Print JSON: [{device, usages: {gpuOnly, staging, dynamic, readback, transientAttachment: [type indices, best first]}}].")
    var json = false

    struct Entry: Encodable {
        let device: String
        let usages: [String: [Int]]
    }

    func run() throws {
        try runReportingErrors {
            var selected = try DeviceProfile.load(path: profiles)
            if let device {
                selected = selected.filter { $0.name.lowercased().contains(device.lowercased()) }
                guard !selected.isEmpty else {
                    throw ValidationError("no device in \(profiles) matches '\(device)'")
                }
            }
            var entries: [Entry] = []
            var text: [String] = []
            for profile in selected {
                let properties = try profile.memoryProperties()
                let selection = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
                var usages: [String: [Int]] = [:]
                text.append("\(profile.name) (\(profile.deviceType))")
                for usage in MemoryUsage.allCases {
                    let ranked = selection.rankedTypes(for: .usage(usage))
                    usages[usage.rawValue] = ranked
                    let shown = ranked.map { "\($0) [\(properties.types[$0].flags)]" }
                    text.append("  \(usage.rawValue.padding(toLength: 19, withPad: " ", startingAt: 0)) "
                                + (shown.isEmpty ? "no suitable type" : shown.joined(separator: ", ")))
                }
                entries.append(Entry(device: profile.name, usages: usages))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
            } else {
                print(text.joined(separator: "\n"))
            }
        }
    }
}
