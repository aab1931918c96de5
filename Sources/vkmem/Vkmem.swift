import ArgumentParser
import VulkanMemory

/// `vkmem`: inspect a device's memory, tour the library, and benchmark it.
@main
struct Vkmem: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vkmem",
        abstract: "GPU memory management for Vulkan: inspect, demonstrate, benchmark.",
        subcommands: [InfoCommand.self, TypesCommand.self, DemoCommand.self, StatsCommand.self, CheckCommand.self, BenchCommand.self,
                      ReplayCommand.self, TimelineCommand.self]
    )
}

/// Options shared by commands that open a device.
struct DeviceOptions: ParsableArguments {
    @Option(name: .long, help: "Device index or name substring (default: VKMEM_DEVICE, else the first discrete GPU, integrated GPU, then CPU).")
    var device: String?

    @Flag(name: .long, help: "Enable the Khronos validation layer and fail on its messages.")
    var validation = false

    /// Opens the device these options describe.
    func openContext() throws(VulkanError) -> VulkanContext {
        var options = VulkanContext.Options()
        if let device { options.device = .init(parsing: device) }
        if validation { options.validation = .required }
        return try VulkanContext(options: options)
    }
}

/// Runs `body`, turning any error into a message on standard error and exit status 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

/// Prints a line on standard error.
func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeStandardError(string)
    }
}
