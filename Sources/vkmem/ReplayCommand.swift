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
            let context = try deviceOptions.openContext()
            let allocator = Allocator(device: context.device)
            // Streamed: the file is replayed as it is read, in bounded memory; only the
            // distinct requests are kept, for the summary of type choices.
            var requests: [MemoryRequest] = []
            var seen = Set<String>()
            let progress = ProgressLine("replay \(file)", total: Self.lineCount(of: file), quiet: json)
            let (report, recorded) = try allocator.replay(contentsOfFile: file) { call in
                progress.update(call.line, "lines")
                guard let request = Self.memoryRequest(of: call), seen.insert(describe(request)).inserted else { return }
                requests.append(request)
            }
            progress.finish()
            let choices = recordedDeviceChoices(requests, recorded: recorded)
            if json {
                try printJSON(report, recorded: recorded, choices: choices, device: context.device.info.name)
            } else {
                printText(report, recorded: recorded, choices: choices, device: context.device.info.name)
            }
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
            if !report.failures.isEmpty { throw ExitCode(1) }
        }
    }

    /// The file's lines, for the progress line's total (0 when it cannot be read: the
    /// replay itself then reports why).
    private static func lineCount(of path: String) -> Int {
        guard let handle = FileHandle(forReadingAtPath: path) else { return 0 }
        defer { try? handle.close() }
        var lines = 0
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            lines += chunk.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        }
        return lines
    }

    /// For each distinct request of the recording, the type this library ranks first on
    /// the recorded device (nil when none qualifies), in order of first appearance.
    private static func memoryRequest(of call: VMARecording.Call) -> MemoryRequest? {
        switch call.function {
        case let .createBuffer(_, create, _, _), let .createImage(_, create, _, _),
             let .allocateMemory(_, _, create, _, _):
            return create.memoryRequest
        default:
            return nil
        }
    }

    private func recordedDeviceChoices(_ requests: [MemoryRequest],
                                       recorded: VMARecording.RecordedDevice) -> [(request: String, type: Int?)] {
        guard let memory = recorded.memory else { return [] }
        let selection = MemoryTypeSelection(properties: memory, isDiscrete: recorded.isDiscrete)
        return requests.map { (describe($0), selection.rankedTypes(for: $0).first) }
    }

    private func describe(_ request: MemoryRequest) -> String {
        var parts = [request.usage.map { "\($0)" } ?? "no intent"]
        if !request.required.isEmpty { parts.append("required \(request.required)") }
        if !request.preferred.isEmpty { parts.append("preferred \(request.preferred)") }
        if request.memoryTypeBits != .max { parts.append("type bits 0x\(String(request.memoryTypeBits, radix: 16))") }
        return parts.joined(separator: ", ")
    }

    private func printText(_ report: ReplayReport, recorded recordedDevice: VMARecording.RecordedDevice, choices: [(request: String, type: Int?)],
                           device: String) {
        let recorded = recordedDevice.name.isEmpty ? "an unnamed device" : recordedDevice.name
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

    private func printJSON(_ report: ReplayReport, recorded recordedDevice: VMARecording.RecordedDevice, choices: [(request: String, type: Int?)],
                           device: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let output = JSONOutput(file: file, recordedDevice: recordedDevice.name, device: device, report: report,
                                recordedDeviceChoices: choices.map { JSONOutput.Choice(request: $0.request,
                                                                                        memoryTypeIndex: $0.type) })
        print(String(decoding: try encoder.encode(output), as: UTF8.self))
    }
}
