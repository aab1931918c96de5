import Foundation
import ArgumentParser
import VulkanMemory

/// `vkmem demo`: a tour of the library on the default device, each step printed with
/// what it shows. Exits non-zero with a clear message if any step fails.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Tour the library: memory properties, raw memory, a chain of resources bound in bulk, mapping, statistics, destruction.")

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: ArgumentHelp("Write the memory map of step 6's scene to this file: an SVG picture if it ends in .svg, else an HTML page.",
                               valueName: "file"))
    var map: String?

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            try Demo(context: context, mapPath: map).run()
            if let log = context.validationLog, !log.messages.isEmpty {
                printError("validation messages:")
                log.messages.forEach { printError("  \($0)") }
                throw ExitCode(1)
            }
        }
    }
}

/// The demo's steps; the README shows the same code.
struct Demo {
    let context: VulkanContext
    /// Where step 6 writes its memory map; nil for none.
    var mapPath: String? = nil

    func step(_ title: String) { print("\n== \(title)") }

    /// A vertex as a shader would read it.
    struct Vertex: Equatable {
        var position: SIMD3<Float>
        var color: UInt32
    }

    /// A uniform block: what a frame writes through the mapping.
    struct Camera: Equatable {
        var viewProjection: SIMD16<Float>
        var eye: SIMD4<Float>
        var frame: UInt32
    }

    func run() throws {
        let device = context.device
        step("1. The device's memory heaps and types")
        print(try InfoReport(context: context).text())

        try rawMemory(device)

        let allocator = Allocator(device: device)
        step("3. A uniform buffer, an image and a vertex buffer in one chain, bound with .scatter")
        let scene = try ResourceBatch
            .buffer(size: UInt64(MemoryLayout<Camera>.stride), usage: .uniformBuffer,
                    memory: .usage(.dynamic), name: "camera")
            .nextImage(width: 256, height: 256, usage: [.sampled, .transferDestination], name: "albedo")
            .nextBuffer(size: 64 * 1024, usage: [.vertexBuffer, .transferDestination], name: "mesh")
            .bind(allocator, strategy: .scatter)
        for (resource, name) in zip(scene, ["camera", "albedo", "mesh"]) {
            let a = resource.allocation
            print("\(name): memory type \(a.memoryTypeIndex) (\(allocator.properties.types[a.memoryTypeIndex].flags)), offset \(a.offset), \(formatBytes(a.size))")
        }

        step("4. A struct written through the mapping and read back")
        let camera = Camera(viewProjection: SIMD16<Float>(repeating: 0.5), eye: SIMD4<Float>(0, 1, 5, 1), frame: 42)
        let view = try allocator.map(scene[0])
        try view.write(camera)
        let back = try view.read(Camera.self)
        guard back == camera else { throw DemoFailure("the camera read back differs from the one written") }
        print("wrote a \(MemoryLayout<Camera>.size)-byte Camera through the mapping and read it back equal (frame \(back.frame))")
        do {
            try view.write(camera, at: 16)
            throw DemoFailure("a write past the end of the uniform buffer was not refused")
        } catch let error as MemoryError {
            print("a write that would run past the buffer into its neighbour is refused: \(error)")
        }

        step("5. A .contiguous group and a .privatePage group")
        let contiguous = try ResourceBatch
            .buffer(size: 16 * 1024, usage: [.vertexBuffer, .transferDestination], name: "terrain vertices")
            .nextBuffer(size: 8 * 1024, usage: [.indexBuffer, .transferDestination], name: "terrain indices")
            .nextImage(width: 128, height: 128, usage: .sampled, name: "terrain height")
            .bind(allocator, strategy: .contiguous)
        let start = contiguous.map(\.allocation.offset).min()!
        let end = contiguous.map { $0.allocation.offset + $0.allocation.size }.max()!
        print("contiguous: 3 resources in one range of \(formatBytes(end - start)) at offset \(start) of one page")
        let privatePage = try ResourceBatch
            .buffer(size: 32 * 1024, usage: .storageBuffer, name: "particles")
            .nextBuffer(size: 32 * 1024, usage: .storageBuffer, name: "particles, previous frame")
            .bind(allocator, strategy: .privatePage)
        print("privatePage: 2 buffers in a page of their own (\(privatePage[0].allocation.memory == privatePage[1].allocation.memory ? "same" : "different") memory)")

        step("6. The statistics, as YAML")
        let before = allocator.statistics()
        print(try before.yaml())
        if let mapPath {
            let picture = mapPath.lowercased().hasSuffix(".svg") ? before.svg() : before.html()
            do {
                try picture.write(toFile: mapPath, atomically: true, encoding: .utf8)
            } catch {
                throw DemoFailure("cannot write the memory map to \(mapPath): \(error.localizedDescription)")
            }
            print("wrote the memory map of this scene to \(mapPath)")
        }

        step("7. destroy(many:) of the first chain and the private-page group")
        try allocator.destroy(many: Array(scene) + Array(privatePage))
        print("destroyed 5 resources; \(allocator.usage.allocationCount) allocations remain (the contiguous group)")

        step("8. freeUnusedPages()")
        let released = allocator.freeUnusedPages()
        print("returned \(formatBytes(released)) of wholly free pages to the driver")

        step("9. The statistics again: what went back")
        let after = allocator.statistics()
        print("committed \(formatBytes(before.totals.committedBytes)) -> \(formatBytes(after.totals.committedBytes)), "
              + "live \(formatBytes(before.totals.liveBytes)) -> \(formatBytes(after.totals.liveBytes)), "
              + "pages \(before.totals.pageCount) -> \(after.totals.pageCount), "
              + "allocations \(before.totals.allocationCount) -> \(after.totals.allocationCount)")
        print(try after.yaml())
        try allocator.destroy(many: contiguous)
        allocator.freeUnusedPages()
        guard allocator.leaks().isEmpty, allocator.usage.committedBytes == 0 else {
            throw DemoFailure("memory was left behind after destroying everything")
        }
        try recordAndReplay(device)
        print("\nDemo finished: everything destroyed, nothing leaked.")
    }

    /// Step 10: memory reserved up front, a session recorded in VMA's format, and that
    /// recording replayed through a fresh allocator.
    func recordAndReplay(_ device: VulkanDevice) throws {
        step("10. A reservation, a recorded session, and its replay")
        let recorder = CallRecorder()
        var options = AllocatorOptions()
        options.recorder = recorder
        do {
            let allocator = Allocator(device: device, options: options)
            let reserved = try allocator.reserve(16 << 20, usage: .gpuOnly)
            let calls = allocator.usage.deviceMemoryAllocations
            let frame = try ResourceBatch
                .buffer(size: 256 * 1024, usage: [.vertexBuffer, .transferDestination], name: "frame vertices")
                .nextImage(width: 512, height: 512, usage: [.sampled, .transferDestination], name: "frame texture")
                .bind(allocator, strategy: .scatter)
            let upload = try allocator.allocate(MemoryRequirements(size: 64 * 1024), usage: .staging,
                                                options: AllocationOptions(mapped: true, name: "upload"))
            print("reserved \(formatBytes(reserved)) of GPU-only memory; since then \(allocator.usage.deviceMemoryAllocations - calls) "
                  + "vkAllocateMemory call(s) (a staging buffer of another memory type needs a page of its own)")
            try allocator.free(upload)
            try allocator.destroy(many: frame)
            allocator.releaseReservations()
            allocator.freeUnusedPages()
        }
        let recording = try VMARecording(parsing: recorder.text)
        print("recorded \(recording.calls.count) calls: \(recording.calls.map(\.function.name).joined(separator: ", "))")
        let replayer = Allocator(device: device)
        let report = replayer.replay(recording)
        guard report.failures.isEmpty, report.leftAlive.isEmpty, replayer.usage.allocationCount == 0 else {
            throw DemoFailure("the replay failed: \(report.failures)")
        }
        print("replayed \(report.replayed.values.reduce(0, +)) of \(report.calls) calls with no failure; "
              + "peak committed \(formatBytes(report.peakCommittedBytes)), peak live \(formatBytes(report.peakLiveBytes))")
    }

    /// Step 2: one `vkAllocateMemory`, mapped, written, read back, freed.
    func rawMemory(_ device: VulkanDevice) throws {
        step("2. Raw device memory: vkAllocateMemory, map, write, read back, free")
        let properties = MemoryProperties(device: device)
        guard let type = properties.types.first(where: { $0.isHostVisible && $0.isHostCoherent })
            ?? properties.types.first(where: \.isHostVisible) else {
            print("This device has no host-visible memory type; skipping.")
            return
        }
        let size: UInt64 = 64 * 1024
        let memory = try DeviceMemory.allocate(on: device, size: size, memoryTypeIndex: type.index)
        let view = try memory.map()
        let vertices = (0..<256).map { Vertex(position: SIMD3(Float($0), 0, 1), color: UInt32($0) &* 0x01010101) }
        try view.write(contentsOf: vertices, at: 4096)
        guard try view.read(Vertex.self, count: vertices.count, at: 4096) == vertices else {
            throw DemoFailure("the vertices read back differ from those written")
        }
        print("memory type \(type.index) (\(type.flags)): wrote \(vertices.count) vertices and read them back equal")
        try memory.unmap()
        try memory.free()
        print("freed; a second free is refused: ", terminator: "")
        do {
            try memory.free()
            throw DemoFailure("a second free was not refused")
        } catch let error as MemoryError {
            print(error)
        }
        if let deviceOnly = properties.types.first(where: { !$0.isHostVisible && (properties.heap(of: $0)?.size ?? 0) > 0 }) {
            let hidden = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: deviceOnly.index)
            do {
                _ = try hidden.map()
                throw DemoFailure("mapping memory that is not host-visible was not refused")
            } catch let error as MemoryError {
                print("mapping memory type \(deviceOnly.index) is refused: \(error)")
            }
            try hidden.free()
        } else {
            print("every memory type of this device is host-visible (a CPU or unified-memory device)")
        }
    }
}

/// A demo step whose outcome was not what the library promises.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
