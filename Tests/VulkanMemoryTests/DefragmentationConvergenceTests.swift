import CVulkan
import Testing
@testable import VulkanMemory

/// VMA's defragmentation scenarios (Tests.cpp: Simple, Full, IncrementalBasic,
/// IncrementalComplex), scaled to lavapipe, run pass after pass until a pass has nothing
/// to move, each allocation's contents checked afterwards.
@Suite("Defragmentation converges on VMA's scenarios")
struct DefragmentationConvergenceTests {
    static let kibibyte: UInt64 = 1 << 10

    /// How a run of passes ended.
    struct Run {
        var passes = 0
        var moves = 0
        var releasedPages = 0
        /// The last pass had no moves.
        var converged = false
    }

    /// Runs passes with the given limits until one has no moves (or `maxPasses` ran):
    /// `carryOut` copies each pass's moves and returns once they are done; after each
    /// commit the allocator's invariants must hold.
    static func converge(_ allocator: Allocator, in pool: MemoryPool? = nil, maxBytesToMove: UInt64 = .max,
                         maxMoves: Int = .max, algorithm: DefragmentationAlgorithm = .balanced, maxPasses: Int = 400,
                         between: () throws -> Void = {},
                         carryOut: (borrowing DefragmentationPass) throws -> Void) throws -> Run {
        var run = Run()
        while run.passes < maxPasses {
            let pass = try allocator.beginDefragmentation(in: pool, maxBytesToMove: maxBytesToMove, maxMoves: maxMoves,
                                                          algorithm: algorithm)
            run.passes += 1
            #expect(pass.moves.count <= maxMoves && pass.bytesToMove <= maxBytesToMove)
            guard !pass.moves.isEmpty else {
                pass.cancel()
                run.converged = true
                break
            }
            try between()
            try carryOut(pass)
            run.moves += pass.moves.count
            run.releasedPages += pass.commit().releasedPages
            allocator._checkInvariants()
            try between()
        }
        return run
    }

    /// Copies each move's bytes through mapped views and updates `live` (by key).
    static func copyMapped<Key>(_ pass: borrowing DefragmentationPass, _ allocator: Allocator,
                                _ live: inout [Key: Allocation]) throws {
        var keys: [Allocation: Key] = [:]
        for (key, allocation) in live { keys[allocation] = key }
        for move in pass.moves {
            let source = try allocator.map(move.source)
            try allocator.map(move.destination).write(contentsOf: try source.read(UInt8.self, count: Int(source.size)))
            let key = try #require(keys[move.source], "a move's source is not a live allocation of the scene")
            live[key] = move.destination
        }
    }

    /// Each allocation still holds its key's pattern in its first and last 8 bytes.
    static func checkPatterns(_ allocator: Allocator, _ live: [Int: Allocation],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        for (index, allocation) in live {
            let view = try allocator.map(allocation)
            let words = try view.read(UInt64.self, count: Int(allocation.size / 8))
            #expect(words.first == UInt64(index) && words.last == ~UInt64(index), sourceLocation: sourceLocation)
        }
    }

    static func writePattern(_ allocator: Allocator, _ allocation: Allocation, _ index: Int) throws {
        var words = [UInt64](repeating: 0, count: Int(allocation.size / 8))
        words[0] = UInt64(index)
        words[words.count - 1] = ~UInt64(index)
        try allocator.map(allocation).write(contentsOf: words)
    }

    /// VMA's Simple: a custom pool of host-visible pages, buffers of one size, every other
    /// one freed; defragmenting the pool, in one pass and one move a pass, with each
    /// algorithm, gives half its pages back, moves stay in the pool, and a pass over the
    /// allocator's own pages leaves the pool alone.
    @Test(arguments: DefragmentationAlgorithm.allCases)
    func simpleCustomPool(algorithm: DefragmentationAlgorithm) throws {
        try withTestDevice { context in
            for maxMoves in [Int.max, 1] {
                let allocator = Allocator(device: context.device)
                let pool = try allocator.makePool(PoolOptions(name: "simple", usage: .dynamic, pageSize: 1 << 20))
                let requirements = MemoryRequirements(size: 64 * Self.kibibyte, alignment: 256, kind: .linear)
                var live: [Int: Allocation] = [:]
                for index in 0..<64 {
                    let allocation = try allocator.allocate(requirements, in: pool, options: AllocationOptions(mapped: true))
                    try Self.writePattern(allocator, allocation, index)
                    live[index] = allocation
                }
                for index in stride(from: 1, to: 64, by: 2) { try allocator.free(live.removeValue(forKey: index)!) }
                let pages = allocator.usage.pageCount
                #expect(pages == 4)
                // The allocator's own pages hold nothing: a pass over them has nothing to move.
                let own = try allocator.beginDefragmentation(algorithm: algorithm)
                #expect(own.moves.isEmpty)
                own.cancel()
                let poolMemories = Set(live.values.map(\.memory))
                let run = try Self.converge(allocator, in: pool, maxMoves: maxMoves, algorithm: algorithm) { pass in
                    for move in pass.moves {
                        #expect(poolMemories.contains(move.destination.memory), "a move left its pool")
                        #expect(move.destination.offset % 256 == 0)
                    }
                    try Self.copyMapped(pass, allocator, &live)
                }
                #expect(run.converged)
                #expect(run.releasedPages == 2 && allocator.usage.pageCount == pages - 2)
                if maxMoves == 1 { #expect(run.passes == run.moves + 1) }
                try Self.checkPatterns(allocator, live)
                for allocation in live.values { try allocator.free(allocation) }
                try allocator.destroyPool(pool)
                // A destroyed pool, or one of another allocator, is refused and no pass stays open.
                #expect(throws: AllocationError.unknownAllocation) { try allocator.beginDefragmentation(in: pool) }
                try allocator.beginDefragmentation().cancel()
            }
        }
    }

    /// VMA's Full: random sizes and both resource kinds (granularity), random frees, with
    /// each algorithm; unlimited passes and passes of 256 KiB both end, the contents
    /// intact, with no more pages than one unlimited pass leaves.
    @Test(arguments: DefragmentationAlgorithm.allCases)
    func fullRandomScene(algorithm: DefragmentationAlgorithm) throws {
        try withTestDevice { context in
            for maxBytes in [UInt64.max, 256 * Self.kibibyte] {
                let allocator = smallPageAllocator(context)
                var random = SplitMix64(seed: 7)
                var live: [Int: Allocation] = [:]
                for index in 0..<240 {
                    let size = (1 + random.next() % 48) * 4 * Self.kibibyte
                    let kind: SuballocationKind = index % 4 == 0 ? .optimal : .linear
                    let allocation = try allocator.allocate(MemoryRequirements(size: size, alignment: 64 << (random.next() % 4),
                                                                               kind: kind),
                                                            usage: .dynamic, options: AllocationOptions(mapped: true))
                    try Self.writePattern(allocator, allocation, index)
                    live[index] = allocation
                }
                for index in 0..<240 where random.next() % 10 < 6 { try allocator.free(live.removeValue(forKey: index)!) }
                let before = allocator.usage
                let run = try Self.converge(allocator, maxBytesToMove: maxBytes, algorithm: algorithm) { pass in
                    try Self.copyMapped(pass, allocator, &live)
                }
                #expect(run.converged && run.releasedPages > 0)
                // Nothing is left that a pass without limits would empty.
                let unlimited = try allocator.beginDefragmentation(algorithm: algorithm)
                #expect(unlimited.pagesToRelease == 0)
                unlimited.cancel()
                #expect(allocator.usage.liveBytes == before.liveBytes)
                #expect(allocator.usage.committedBytes < before.committedBytes)
                try Self.checkPatterns(allocator, live)
                for pool in allocator.pools { pool.state.withLock { $0.arena._checkInvariants() } }
                for allocation in live.values { try allocator.free(allocation) }
            }
        }
    }

    /// Passes whose byte budget holds one allocation, not a page, still converge; a budget
    /// below every allocation moves nothing; a break callback ends the plan early.
    @Test func smallBudgetsAndTheBreakCallback() throws {
        try withTestDevice { context in
            let (allocator, before) = try DefragmentationTests.fragmented(context)
            // 64 KiB allocations: 4 KiB moves none of them.
            let tiny = try allocator.beginDefragmentation(maxBytesToMove: 4 * Self.kibibyte)
            #expect(tiny.moves.isEmpty)
            tiny.cancel()
            // Stopped at once: nothing planned. Stopped at the third question: less than all.
            let stopped = try allocator.beginDefragmentation(shouldStop: { true })
            #expect(stopped.moves.isEmpty)
            stopped.cancel()
            let all = try allocator.beginDefragmentation()
            let everyMove = all.moves.count
            all.cancel()
            var questions = 0
            let broken = try allocator.beginDefragmentation(shouldStop: {
                questions += 1
                return questions > 2
            })
            #expect(questions == 3 && broken.moves.count > 0 && broken.moves.count < everyMove)
            var live = before
            try Self.copyMapped(broken, allocator, &live)
            broken.commit()
            allocator._checkInvariants()
            try DefragmentationTests.checkContents(allocator, live)
            // Passes of one allocation's bytes.
            let pages = allocator.usage.pageCount
            let run = try Self.converge(allocator, maxBytesToMove: 64 * Self.kibibyte) { pass in
                #expect(pass.moves.count == 1)
                try Self.copyMapped(pass, allocator, &live)
            }
            #expect(run.converged && run.releasedPages > 0 && allocator.usage.pageCount == pages - run.releasedPages)
            try DefragmentationTests.checkContents(allocator, live)
            // Nothing is left that a pass without limits would empty.
            let unlimited = try allocator.beginDefragmentation()
            #expect(unlimited.pagesToRelease == 0)
            unlimited.cancel()
            for allocation in live.values { try allocator.free(allocation) }
        }
    }

    /// A GPU-only scene as VMA's incremental tests build it (images of three sizes and
    /// buffers, 30% kept): buffers hold data uploaded and copied on the GPU with a real
    /// command buffer; images move by being re-created, their bytes copied through
    /// mapped views where the memory is host-visible.
    struct GPUScene {
        let allocator: Allocator
        let transfer: TransferQueue
        var buffers: [Allocation: (buffer: BoundBuffer, value: UInt32)] = [:]
        var images: [Allocation: BoundImage] = [:]
        var infos: [Allocation: VkBufferCreateInfo]
        let imageInfos: [UInt32: VkImageCreateInfo]
        var imageSide: [Allocation: UInt32] = [:]

        init(_ context: VulkanContext) throws {
            // Pages of 1 MiB: the scene's 14 MB lie over about 15 pages, as VMA's scenario
            // lies over many blocks. Pages growing towards 8 MiB double (1, 2, 4, 8 MiB):
            // four pages, about 30% used after the destruction, and the two buffers
            // IncrementalComplex adds per pass (about 9.6 MB over 41 passes) fill them all
            // before one move a pass empties even the 1 MiB one.
            var options = AllocatorOptions()
            options.setPageSize(1 << 20, forEveryTypeOf: MemoryProperties(device: context.device))
            let allocator = Allocator(device: context.device, options: options)
            let transfer = try TransferQueue(context: context, allocator: allocator)
            var random = SplitMix64(seed: 234_522)
            var made: [(Allocation, () throws -> Void)] = []
            var infos: [Allocation: VkBufferCreateInfo] = [:]
            var imageInfos: [UInt32: VkImageCreateInfo] = [:]
            for side: UInt32 in [32, 64, 128] {
                imageInfos[side] = ImageDescription(width: side, height: side,
                                                    usage: [.sampled, .transferSource, .transferDestination])
                    .exclusiveCreateInfo
            }
            var images: [Allocation: BoundImage] = [:]
            var sides: [Allocation: UInt32] = [:]
            var buffers: [Allocation: (buffer: BoundBuffer, value: UInt32)] = [:]
            for _ in 0..<60 {
                let side: UInt32 = [32, 64, 128][Int(random.next() % 3)]
                let image = try allocator.createImage(imageInfos[side]!, .usage(.gpuOnly))
                images[image.allocation] = image
                sides[image.allocation] = side
                made.append((image.allocation, { try allocator.destroyImage(image) }))
            }
            for index in 0..<100 {
                let size = (80 + random.next() % 80) * DefragmentationConvergenceTests.kibibyte
                let info = BufferDescription(size: size, usage: [.uniformBuffer, .transferSource, .transferDestination])
                    .exclusiveCreateInfo
                let buffer = try allocator.createBuffer(info, .usage(.gpuOnly))
                try transfer.upload([UInt32](repeating: UInt32(index), count: 16), to: buffer)
                buffers[buffer.allocation] = (buffer, UInt32(index))
                infos[buffer.allocation] = info
                made.append((buffer.allocation, { try allocator.destroyBuffer(buffer) }))
            }
            // Destroy 70% at random.
            for _ in 0..<(made.count * 7 / 10) {
                let (allocation, destroy) = made.remove(at: Int(random.next() % UInt64(made.count)))
                try destroy()
                images[allocation] = nil
                buffers[allocation] = nil
            }
            self.allocator = allocator
            self.transfer = transfer
            self.images = images
            self.imageSide = sides.filter { images[$0.key] != nil }
            self.buffers = buffers
            self.infos = infos.filter { buffers[$0.key] != nil }
            self.imageInfos = imageInfos
        }

        /// Creates a buffer holding `value`, as VMA's IncrementalComplex does between passes.
        mutating func add(size: UInt64, value: UInt32) throws {
            let info = BufferDescription(size: size, usage: [.vertexBuffer, .transferSource, .transferDestination])
                .exclusiveCreateInfo
            let buffer = try allocator.createBuffer(info, .usage(.gpuOnly))
            try transfer.upload([UInt32](repeating: value, count: 16), to: buffer)
            buffers[buffer.allocation] = (buffer, value)
            infos[buffer.allocation] = info
        }

        /// Carries out a pass: re-creates each moved resource on its destination, copies
        /// buffers on the GPU in one command buffer (images through mapped views where
        /// host-visible), and destroys the old resources.
        mutating func carryOut(_ pass: borrowing DefragmentationPass) throws {
            let commands = allocator.device.commandFunctions
            var copies: [(from: BoundBuffer, to: BoundBuffer, size: UInt64)] = []
            var oldImages: [BoundImage] = []
            for move in pass.moves {
                if let (old, value) = buffers.removeValue(forKey: move.source) {
                    let info = infos.removeValue(forKey: move.source)!
                    let moved = try allocator.createBuffer(info, boundTo: move.destination)
                    buffers[moved.allocation] = (moved, value)
                    infos[moved.allocation] = info
                    copies.append((old, moved, info.size))
                } else if let old = images.removeValue(forKey: move.source) {
                    let side = imageSide.removeValue(forKey: move.source)!
                    let moved = try allocator.createImage(imageInfos[side]!, boundTo: move.destination)
                    if allocator.properties.types[move.source.memoryTypeIndex].isHostVisible {
                        let source = try allocator.map(move.source)
                        try allocator.map(move.destination)
                            .write(contentsOf: try source.read(UInt8.self, count: Int(move.source.size)))
                    }
                    images[moved.allocation] = moved
                    imageSide[moved.allocation] = side
                    oldImages.append(old)
                } else {
                    Issue.record("a move's source is no resource of the scene")
                    pass.ignore(move)
                }
            }
            try transfer.submit { commandBuffer in
                for copy in copies {
                    var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: copy.size)
                    commands.cmdCopyBuffer(commandBuffer, copy.from.buffer, copy.to.buffer, 1, &region)
                }
            }
            for copy in copies { try allocator.destroyBuffer(copy.from) }
            for image in oldImages { try allocator.destroyImage(image) }
        }

        /// Every buffer still holds its value, read back on the GPU.
        func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
            for (buffer, value) in buffers.values {
                #expect(try transfer.download(UInt32.self, count: 16, from: buffer) == [UInt32](repeating: value, count: 16),
                        sourceLocation: sourceLocation)
            }
        }

        func destroy() throws {
            for (buffer, _) in buffers.values { try allocator.destroyBuffer(buffer) }
            for image in images.values { try allocator.destroyImage(image) }
        }
    }

    /// VMA's IncrementalBasic: one move a pass (`maxAllocationsPerPass = 1`) until a pass
    /// has none; pages go back and every buffer keeps its data.
    @Test func incrementalBasicOneMoveAPass() throws {
        try withTestDevice { context in
            var scene = try GPUScene(context)
            let before = scene.allocator.usage
            let run = try Self.converge(scene.allocator, maxMoves: 1) { pass in
                #expect(pass.moves.count == 1)
                try scene.carryOut(pass)
            }
            #expect(run.converged && run.moves > 0 && run.releasedPages > 0)
            #expect(scene.allocator.usage.committedBytes < before.committedBytes)
            try scene.check()
            try scene.destroy()
            #expect(scene.allocator.usage.allocationCount == 0)
        }
    }

    /// VMA's IncrementalComplex: as IncrementalBasic, with a buffer created while each
    /// pass is open and another after each commit; the passes still end.
    @Test func incrementalComplexWithAllocationsBetweenPasses() throws {
        try withTestDevice { context in
            var scene = try GPUScene(context)
            var random = SplitMix64(seed: 99)
            let before = scene.allocator.usage
            // The new buffers are part of the scene (this API defragments every allocation
            // of a type, not a chosen list as VMA's test does): they move and are checked too.
            let run = try Self.converge(scene.allocator, maxMoves: 1, between: {
                try scene.add(size: (80 + random.next() % 80) * Self.kibibyte, value: UInt32(100_000 + scene.buffers.count))
            }) { pass in
                try scene.carryOut(pass)
            }
            #expect(run.converged && run.moves > 0 && run.releasedPages > 0)
            #expect(scene.allocator.usage.liveBytes > before.liveBytes)
            try scene.check()
            try scene.destroy()
            scene.allocator._checkInvariants()
            #expect(scene.allocator.usage.allocationCount == 0)
        }
    }
}
