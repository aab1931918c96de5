import ArgumentParser
import Foundation
import VulkanMemory

/// `vkmem timeline FILE`: a VMA call recording replayed on a device, written as Chrome's
/// trace-event JSON (Perfetto, chrome://tracing) or an SVG chart of the heaps' bytes.
struct TimelineCommand: ParsableCommand {
    /// The output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case chromeTrace = "chrome-trace"
        case svg
    }

    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Replay a VMA call recording and write its memory over time (trace-event JSON or SVG).",
        discussion: """
            chrome-trace: committed and live bytes per heap as counters, each allocation as a \
            span with its name, vkAllocateMemory calls as instants, the peaks and what the \
            recording leaves alive marked; open it in ui.perfetto.dev or chrome://tracing. \
            svg: the same counters as a chart. Times are the recording's.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Argument(help: "The recording (VMA's 'Calls recording' CSV).")
    var file: String

    @Option(help: "chrome-trace or svg.")
    var format: Format = .chromeTrace

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            let (timeline, _) = try Timeline.replaying(contentsOfFile: file, on: context.device)
            let data: Data
            switch format {
            case .chromeTrace: data = try timeline.chromeTraceJSON() + Data("\n".utf8)
            case .svg: data = Data(timeline.svg().utf8)
            }
            if let output {
                do {
                    try data.write(to: URL(fileURLWithPath: output))
                } catch {
                    throw ValidationError("cannot write \(output): \(error.localizedDescription)")
                }
            } else {
                FileHandle.standardOutput.write(data)
            }
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}
