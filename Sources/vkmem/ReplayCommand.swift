import ArgumentParser
import Foundation
import VulkanMemory

/// `vkmem replay FILE`: runs a VMA call recording (format 1,8) through the allocator on
/// a device and reports what it did, what failed, and what the recording left alive.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a Vulkan Memory Allocator call recording (CSV, format 1,8) through the allocator.",
        discussion: """
            Every buffer, image and allocation of the recording is made on the device with \
            the same create-info and an equivalent intent, and destroyed where the recording \
            destroyed it. Also prints the memory type this library would choose for each \
            request on the device the recording was made on, from its Config section. \
            Exit status 1 when a call failed, the file cannot be read, or (with \
            --validation) the validation layer reported anything.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The recording (VMA's 'Calls recording' CSV).")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let recording = try VMARecording(contentsOfFile: file)
            let context = try deviceOptions.openContext()
            let allocator = Allocator(device: context.device)
            let report = allocator.replay(recording)
            let choices = recordedDeviceChoices(recording)
            if json {
                try printJSON(report, recording: recording, choices: choices, device: context.device.info.name)
            } else {
                printText(report, recording: recording, choices: choices, device: context.device.info.name)
            }
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }

    /// For each distinct request of the recording, the type this library ranks first on
    /// the recorded device (nil when none qualifies), in order of first appearance.
    private func recordedDeviceChoices(_ recording: VMARecording) -> [(request: String, type: Int?)] {
        guard let memory = recording.device.memory else { return [] }
        let selection = MemoryTypeSelection(properties: memory, isDiscrete: recording.device.isDiscrete)
        var seen = Set<String>()
        var choices: [(String, Int?)] = []
        for call in recording.calls {
            let info: VMARecording.AllocationCreateInfo
            switch call.function {
            case let .createBuffer(_, create, _, _), let .createImage(_, create, _, _),
                 let .allocateMemory(_, _, create, _, _):
                info = create
            default: continue
            }
            guard let request = info.memoryRequest else { continue }
            let label = describe(request)
            guard seen.insert(label).inserted else { continue }
            choices.append((label, selection.rankedTypes(for: request).first))
        }
        return choices
    }

    private func describe(_ request: MemoryRequest) -> String {
        var parts = [request.usage.map { "\($0)" } ?? "no intent"]
        if !request.required.isEmpty { parts.append("required \(request.required)") }
        if !request.preferred.isEmpty { parts.append("preferred \(request.preferred)") }
        if request.memoryTypeBits != .max { parts.append("type bits 0x\(String(request.memoryTypeBits, radix: 16))") }
        return parts.joined(separator: ", ")
    }

    private func printText(_ report: ReplayReport, recording: VMARecording, choices: [(request: String, type: Int?)],
                           device: String) {
        let recorded = recording.device.name.isEmpty ? "an unnamed device" : recording.device.name
        print("Replayed \(file) (recorded on \(recorded)) on \(device)")
        print("  calls: \(report.calls), replayed: \(report.replayed.values.reduce(0, +))")
        for (function, count) in report.replayed.sorted(by: { $0.key < $1.key }) { print("    \(function): \(count)") }
        if !report.notReplayed.isEmpty {
            print("  not replayed:")
            for (function, count) in report.notReplayed.sorted(by: { $0.key < $1.key }) { print("    \(function): \(count)") }
        }
        if !report.adjustments.isEmpty {
            print("  replayed with a change:")
            report.adjustments.forEach { print("    \($0)") }
        }
        if !report.failures.isEmpty {
            print("  failed:")
            report.failures.forEach { print("    \($0)") }
        }
        if report.omittedNotes > 0 {
            print("  \(report.omittedNotes) more changes and failures not listed (a report keeps "
                  + "\(ReplayReport.maximumNotes) of each)")
        }
        print("  peak committed: \(report.peakCommittedBytes) bytes, peak live: \(report.peakLiveBytes) bytes, "
              + "vkAllocateMemory calls: \(report.deviceMemoryAllocations)")
        print("  time in the allocator: \(String(format: "%.1f", report.nanoseconds / 1_000)) µs")
        if report.leftAlive.isEmpty {
            print("  the recording destroyed everything it created")
        } else {
            print("  left alive by the recording (freed after the replay):")
            report.leftAlive.forEach { print("    \($0)") }
        }
        if !choices.isEmpty {
            print("  memory type this library would choose on \(recorded):")
            for choice in choices { print("    \(choice.request): \(choice.type.map { "type \($0)" } ?? "none")") }
        }
    }

    private struct JSONOutput: Encodable {
        struct Choice: Encodable {
            var request: String
            var memoryTypeIndex: Int?
        }
        var file: String
        var recordedDevice: String
        var device: String
        var report: ReplayReport
        var recordedDeviceChoices: [Choice]
    }

    private func printJSON(_ report: ReplayReport, recording: VMARecording, choices: [(request: String, type: Int?)],
                           device: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let output = JSONOutput(file: file, recordedDevice: recording.device.name, device: device, report: report,
                                recordedDeviceChoices: choices.map { JSONOutput.Choice(request: $0.request,
                                                                                        memoryTypeIndex: $0.type) })
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
}
