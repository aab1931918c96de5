import ArgumentParser
import CVulkan
import VulkanMemory

/// `vkmem stats`: builds a small scene of buffers and images through the allocator on a
/// device and prints the allocator's statistics (`Allocator.statistics()`) as YAML, JSON,
/// VMA's JSON dump, or a memory map (SVG or an HTML page).
struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Allocate a small scene of buffers and images and print the allocator's statistics.",
        discussion: """
            The scene: GPU-only vertex, index and uniform buffers, an optimal-tiling texture, \
            a mapped staging buffer, a mapped readback buffer and a dedicated render target; \
            two buffers are then freed so the page shows free ranges between allocations. \
            Everything is destroyed before the command exits.
            """)

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Output format: yaml, json, vma-json (VMA's vmaBuildStatsString dump, for VMA's tools), svg or html (a memory map).")
    var format: StatisticsFormat = .yaml

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            let allocator = Allocator(device: context.device)
            var scene = StatsScene(allocator: allocator)
            let text: String
            do {
                try scene.build()
                text = try allocator.statistics().text(format)
            } catch {
                // The scene's own error is the one worth reporting, not a cleanup failure after it.
                try? scene.destroy()
                throw error
            }
            try scene.destroy()
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            if allocator.usage.allocationCount != 0 {
                throw StatsFailure(description: "the scene left \(allocator.usage.allocationCount) allocation(s) alive")
            }
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}

extension StatisticsFormat: ExpressibleByArgument {}

/// The resources `vkmem stats` shows: a few of each kind the allocator tells apart.
struct StatsScene {
    let allocator: Allocator
    private(set) var buffers: [BoundBuffer] = []
    private(set) var images: [BoundImage] = []

    init(allocator: Allocator) { self.allocator = allocator }

    /// Creates the scene, then frees the index buffer and the unnamed uniform buffer, which
    /// lie on either side of the texture, so the page shows free ranges between allocations.
    mutating func build() throws(AllocationError) {
        let mebibyte: UInt64 = 1 << 20
        let vertexUsage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue
        try buffer(4 * mebibyte, usage: vertexUsage, .gpuOnly, name: "vertices")
        let indices = try buffer(mebibyte, usage: VK_BUFFER_USAGE_INDEX_BUFFER_BIT.rawValue
                                     | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue, .gpuOnly, name: "indices")
        try image(512, usage: VK_IMAGE_USAGE_SAMPLED_BIT.rawValue | VK_IMAGE_USAGE_TRANSFER_DST_BIT.rawValue,
                  options: AllocationOptions(name: "albedo"))
        let uniforms = try buffer(256 << 10, usage: VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT.rawValue, .gpuOnly, name: nil)
        try buffer(2 * mebibyte, usage: vertexUsage, .gpuOnly, name: "instances")
        try buffer(mebibyte, usage: VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue, .staging, name: "upload", mapped: true)
        try buffer(256 << 10, usage: VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue, .readback, name: "readback", mapped: true)
        try image(1024, usage: VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT.rawValue | VK_IMAGE_USAGE_SAMPLED_BIT.rawValue,
                  options: AllocationOptions(dedicated: .always, name: "render target"))
        try destroy(indices)
        try destroy(uniforms)
    }

    /// Destroys every resource still alive; reports the first failure after trying all.
    mutating func destroy() throws(AllocationError) {
        var firstError: AllocationError?
        for bound in buffers {
            do { try allocator.destroyBuffer(bound) } catch { firstError = firstError ?? error }
        }
        for bound in images {
            do { try allocator.destroyImage(bound) } catch { firstError = firstError ?? error }
        }
        buffers = []
        images = []
        if let firstError { throw firstError }
    }

    @discardableResult
    private mutating func buffer(_ size: UInt64, usage: UInt32, _ memory: MemoryUsage, name: String?,
                                 mapped: Bool = false) throws(AllocationError) -> BoundBuffer {
        var info = VkBufferCreateInfo()
        info.size = size
        info.usage = VkBufferUsageFlags(usage)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let bound = try allocator.createBuffer(info, .usage(memory), options: AllocationOptions(mapped: mapped, name: name))
        buffers.append(bound)
        return bound
    }

    private mutating func image(_ side: UInt32, usage: UInt32, options: AllocationOptions) throws(AllocationError) {
        let info = ImageDescription(width: side, height: side, usage: ImageUsage(rawValue: usage)).exclusiveCreateInfo
        images.append(try allocator.createImage(info, .usage(.gpuOnly), options: options))
    }

    private mutating func destroy(_ bound: BoundBuffer) throws(AllocationError) {
        try allocator.destroyBuffer(bound)
        buffers.removeAll { $0 == bound }
    }
}

/// The stats scene did not end as the allocator promises.
struct StatsFailure: Error, CustomStringConvertible {
    let description: String
}
