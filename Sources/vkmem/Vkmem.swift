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

    @Option(name: .long, help: ArgumentHelp(
        "Device capabilities to ask for, comma-separated, or none (default: the library's).",
        discussion: "Names: " + DeviceCapabilities.all.map(\.name).joined(separator: ", ")
            + ". Some drivers charge every buffer creation for a capability the device has on "
            + "(NVIDIA: VK_EXT_memory_priority doubles W3's raw calls); comparisons with another program "
            + "must ask for the same."))
    var capabilities: String?

    func validate() throws {
        _ = try parsedCapabilities()
    }

    /// `--capabilities` read: nil when not given.
    func parsedCapabilities() throws(ValidationError) -> DeviceCapabilities? {
        guard let capabilities else { return nil }
        var chosen: DeviceCapabilities = []
        for name in capabilities.split(separator: ",").map({ String($0.filter { $0 != " " }) })
        where name != "none" && !name.isEmpty {
            guard let known = DeviceCapabilities.all.first(where: { $0.name == name }) else {
                throw ValidationError("unknown capability \(name); use none or any of "
                                      + DeviceCapabilities.all.map(\.name).joined(separator: ", "))
            }
            chosen.insert(known.capability)
        }
        return chosen
    }

    /// Opens the device these options describe.
    func openContext() throws(VulkanError) -> VulkanContext {
        var options = VulkanContext.Options()
        if let device { options.device = .init(parsing: device) }
        if validation { options.validation = .required }
        // Validated by `validate()` before any command runs.
        if let chosen = try? parsedCapabilities() { options.capabilities = chosen }
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
