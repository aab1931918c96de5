import ArgumentParser
import CVulkan
import Dispatch
import VulkanMemory

/// `vkmem check`: the allocator's promises verified on the device at hand, for real
/// hardware where the test suite (which runs on lavapipe) cannot go: type fallback across
/// heaps, refusal to map device-only memory, granularity between buffers and images,
/// rollback of a failed batch, exported memory, and many threads.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the allocator's behaviour on this device; exits non-zero if a check fails.")

    @OptionGroup var deviceOptions: DeviceOptions

    func run() throws {
        try runReportingErrors {
            let context = try deviceOptions.openContext()
            var failures = 0
            print("Checks on \(context.device.info.name):")
            let progress = ProgressLine("check", total: Checks.all.count)
            for (index, check) in Checks.all.enumerated() {
                progress.update(index, "checks, running: \(check.name)")
                do {
                    let outcome = try check.run(context)
                    progress.clear()
                    print("  PASS  \(check.name): \(outcome)")
                } catch let skip as CheckSkipped {
                    progress.clear()
                    print("  SKIP  \(check.name): \(skip.reason)")
                } catch {
                    progress.clear()
                    failures += 1
                    print("  FAIL  \(check.name): \(error)")
                }
            }
            progress.finish()
            if let log = context.validationLog, !log.messages.isEmpty {
                failures += 1
                print("  FAIL  validation messages: \(log.messages)")
            }
            print(failures == 0 ? "all checks passed" : "\(failures) check(s) failed")
            if failures > 0 { throw ExitCode(1) }
        }
    }
}

/// A check that does not apply to this device.
struct CheckSkipped: Error { let reason: String }

/// One check: a name and a body that returns what it saw or throws.
struct Check: Sendable {
    let name: String
    let run: @Sendable (VulkanContext) throws -> String
}

enum Checks {
    static let all: [Check] = [typeFallback, deviceOnlyMapping, granularity, rollback, export, threads, defragmentation]

    static let typeFallback = Check(name: "a full heap falls back to the next memory type") { context in
        let probe = Allocator(device: context.device)
        guard let best = probe.selection.bestType(for: .usage(.gpuOnly)) else { throw CheckSkipped(reason: "no type") }
        let heap = probe.properties.types[best].heapIndex
        let others = probe.selection.rankedTypes(for: .usage(.gpuOnly)).filter { probe.properties.types[$0].heapIndex != heap }
        guard !others.isEmpty else { throw CheckSkipped(reason: "one heap only") }
        var options = AllocatorOptions()
        options.heapSizeLimits = [heap: 0]
        let allocator = Allocator(device: context.device, options: options)
        let allocation = try allocator.allocate(MemoryRequirements(size: 1 << 20), usage: .gpuOnly)
        defer { try? allocator.free(allocation) }
        guard allocation.memoryTypeIndex != best,
              probe.properties.types[allocation.memoryTypeIndex].heapIndex != heap else {
            throw DemoFailure("allocated in type \(allocation.memoryTypeIndex) despite heap \(heap) being capped at 0")
        }
        return "heap \(heap) capped at 0: gpuOnly went from type \(best) to type \(allocation.memoryTypeIndex)"
    }

    static let deviceOnlyMapping = Check(name: "mapping device-only memory is refused") { context in
        let allocator = Allocator(device: context.device)
        guard let type = allocator.properties.types.first(where: { !$0.isHostVisible && $0.isDeviceLocal }) else {
            throw CheckSkipped(reason: "every device-local type is host-visible")
        }
        let allocation = try allocator.allocate(MemoryRequirements(size: 4096),
                                                MemoryRequest(required: .deviceLocal, notPreferred: .hostVisible))
        defer { try? allocator.free(allocation) }
        do {
            _ = try allocator.map(allocation)
        } catch {
            return "type \(type.index): \(error)"
        }
        throw DemoFailure("mapping type \(allocation.memoryTypeIndex) was not refused")
    }

    static let granularity = Check(name: "buffers and optimal images keep bufferImageGranularity") { context in
        let allocator = Allocator(device: context.device)
        var batch = ResourceBatch()
        for index in 0..<16 {
            batch = index % 2 == 0
                ? batch.nextBuffer(size: 1000 + UInt64(index) * 37, usage: [.vertexBuffer, .transferDestination])
                : batch.nextImage(width: 17, height: 9, usage: .sampled)
        }
        let bound = try batch.bind(allocator, strategy: .scatter)
        defer { try? allocator.destroy(many: bound) }
        let granularity = allocator.properties.limits.bufferImageGranularity
        for (a, aIsImage) in bound.map({ ($0.allocation, $0.isImage) }) {
            for (b, bIsImage) in bound.map({ ($0.allocation, $0.isImage) })
            where a.memory == b.memory && aIsImage != bIsImage && a.offset < b.offset {
                guard (a.offset + a.size - 1) / granularity < b.offset / granularity else {
                    throw DemoFailure("\(a) and \(b) share a \(granularity)-byte granularity page")
                }
            }
        }
        return "16 alternating resources, no linear/optimal pair within \(granularity) bytes"
    }

    static let rollback = Check(name: "a batch failing part-way leaves nothing behind") { context in
        var options = AllocatorOptions()
        let probe = Allocator(device: context.device)
        guard let best = probe.selection.bestType(for: .usage(.gpuOnly)) else { throw CheckSkipped(reason: "no type") }
        // Cap every heap so the third resource cannot fit anywhere.
        for heap in probe.properties.heaps { options.heapSizeLimits[heap.index] = 32 << 20 }
        let allocator = Allocator(device: context.device, options: options)
        let before = allocator.usage
        let batch = ResourceBatch
            .buffer(size: 64 << 10, usage: .storageBuffer)
            .nextImage(width: 64, height: 64, usage: .sampled)
            .nextBuffer(size: 256 << 20, usage: .storageBuffer)
            .nextBuffer(size: 4096, usage: .uniformBuffer)
            .nextImage(width: 8, height: 8, usage: .sampled)
        for strategy in BindStrategy.allCases {
            do {
                _ = try batch.bind(allocator, strategy: strategy)
                throw DemoFailure("\(strategy): a 256 MiB buffer fitted under a 32 MiB cap")
            } catch is AllocationError {
                var after = allocator.usage
                after.deviceMemoryAllocations = before.deviceMemoryAllocations
                guard after == before else { throw DemoFailure("\(strategy): state changed to \(after)") }
            }
        }
        return "all four strategies rolled back (type \(best) first choice)"
    }

    static let export = Check(name: "exported memory is shared with its import") { context in
        let device = context.device
        guard device.capabilities.contains(.externalMemoryFd) else { throw CheckSkipped(reason: "no VK_KHR_external_memory_fd") }
        let properties = MemoryProperties(device: device)
        guard let type = properties.types.first(where: { $0.isHostVisible && $0.isHostCoherent }) else {
            throw CheckSkipped(reason: "no host-visible coherent type")
        }
        let exported = try DeviceMemory.allocate(on: device, size: 1 << 16, memoryTypeIndex: type.index,
                                                 options: .init(exportHandleTypes: .opaqueFd))
        let imported = try DeviceMemory.importFileDescriptor(try exported.exportFileDescriptor(), on: device,
                                                             size: 1 << 16, memoryTypeIndex: type.index)
        try exported.map().write(UInt64(0xC0FFEE), at: 128)
        let seen = try imported.map().read(UInt64.self, at: 128)
        try imported.free()
        try exported.free()
        guard seen == 0xC0FFEE else { throw DemoFailure("the import read \(seen)") }
        return "type \(type.index): a value written through the exporter is read through the importer"
    }

    static let threads = Check(name: "eight threads allocating and freeing") { context in
        let allocator = Allocator(device: context.device)
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var live: [Allocation] = []
            var state = UInt64(thread + 1)
            for _ in 0..<5_000 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                do {
                    if state >> 63 == 0 || live.isEmpty {
                        let usage: MemoryUsage = [.gpuOnly, .staging, .readback, .dynamic][Int(state >> 40 & 3)]
                        live.append(try allocator.allocate(MemoryRequirements(size: 256 + (state >> 44) % 65536), usage: usage))
                    } else {
                        try allocator.free(live.remove(at: Int(state >> 33) % live.count))
                    }
                } catch { errors.append("\(error)") }
            }
            for allocation in live { do { try allocator.free(allocation) } catch { errors.append("\(error)") } }
        }
        guard errors.isEmpty, allocator.usage.allocationCount == 0 else {
            throw DemoFailure("\(errors.first ?? "allocations left: \(allocator.usage.allocationCount)")")
        }
        return "40,000 operations, no error, nothing left"
    }
}

extension Checks {
    static let defragmentation = Check(name: "defragmentation moves buffers and keeps their bytes") { context in
        var options = AllocatorOptions()
        options.hostPageSize = 8 << 20
        options.deviceLocalPageSize = 8 << 20
        let allocator = Allocator(device: context.device, options: options)
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffers: [(index: UInt64, buffer: BoundBuffer)] = []
        for index in 0..<150 as Range<UInt64> {
            info.size = 20_000 + index * 997
            let buffer = try allocator.createBuffer(info, .usage(.staging))
            try allocator.map(.buffer(buffer)).write(contentsOf: [UInt64](repeating: index, count: 16))
            buffers.append((index, buffer))
        }
        for position in stride(from: buffers.count - 1, through: 0, by: -1) where position % 3 != 0 {
            try allocator.destroyBuffer(buffers.remove(at: position).buffer)
        }
        let before = allocator.usage.committedBytes
        let pass = try allocator.beginDefragmentation()
        guard !pass.moves.isEmpty else { throw DemoFailure("nothing to move with \(allocator.usage.pageCount) pages") }
        for move in pass.moves {
            guard let position = buffers.firstIndex(where: { $0.buffer.allocation == move.source }) else {
                throw DemoFailure("a move's source is no buffer's memory")
            }
            let old = buffers[position].buffer
            info.size = old.size
            let moved = try allocator.createBuffer(info, boundTo: move.destination)
            try allocator.map(.buffer(moved)).write(contentsOf: try allocator.map(.buffer(old)).read(UInt8.self, count: Int(old.size)))
            try allocator.destroyBuffer(old)
            buffers[position].buffer = moved
        }
        let moveCount = pass.moves.count
        let pagesToRelease = pass.pagesToRelease
        let result = pass.commit()
        for (index, buffer) in buffers {
            guard try allocator.map(.buffer(buffer)).read(UInt64.self, count: 16) == [UInt64](repeating: index, count: 16) else {
                throw DemoFailure("buffer \(index) lost its bytes in the move")
            }
            try allocator.destroyBuffer(buffer)
        }
        guard result.releasedPages == pagesToRelease, result.releasedPages > 0 else {
            throw DemoFailure("released \(result.releasedPages) of \(pagesToRelease) pages")
        }
        return "\(moveCount) buffers moved, \(result.releasedPages) pages released, committed "
            + "\(formatBytes(before)) -> \(formatBytes(before - result.releasedBytes))"
    }
}

/// Errors collected from several threads.
final class ErrorList: @unchecked Sendable {
    private var messages: [String] = []
    private let lock = DispatchQueue(label: "vkmem.check.errors")
    func append(_ message: String) { lock.sync { messages.append(message) } }
    var isEmpty: Bool { lock.sync { messages.isEmpty } }
    var first: String? { lock.sync { messages.first } }
}

extension Resource {
    /// Whether the resource is an image.
    var isImage: Bool {
        if case .image = self { return true }
        return false
    }
}
