import Testing
@testable import VulkanMemory

/// `AllocationOptions` keeps its small fields packed and its rare ones in a shared box;
/// these tests hold every property to a plain model of stored fields, through seeded
/// random sequences of sets, and check that equal options compare and hash equal however
/// they were reached.
@Suite("Allocation options storage")
struct AllocationOptionsStorageTests {
    /// What the options mean: one stored field a property.
    struct Model: Equatable {
        var dedicated = AllocationOptions.DedicatedPolicy.automatic
        var canAlias = false
        var mapped = false
        var name: String?
        var userData: UInt64 = 0
        var priority: Float?
        var strategy = AllocationStrategy.bestFit
        var dedicatedTarget: DeviceMemory.DedicatedTarget?
        var upperAddress = false
        var minAlignment: UInt64 = 1
        var neverAllocate = false
        var withinBudget = false
        var hostAccess = HostAccess.none
        var allowTransferInstead = false
        var exportHandleTypes: ExternalMemoryHandleTypes = []
        var memoryAllocateNext: DeviceMemory.NextChain?

        /// Priorities equal as numbers (-0.0 is 0.0), or by bits, so a NaN equals itself.
        static func samePriority(_ lhs: Float?, _ rhs: Float?) -> Bool {
            guard let lhs, let rhs else { return lhs == nil && rhs == nil }
            return lhs == rhs || lhs.bitPattern == rhs.bitPattern
        }

        static func == (lhs: Model, rhs: Model) -> Bool {
            lhs.dedicated == rhs.dedicated && lhs.canAlias == rhs.canAlias && lhs.mapped == rhs.mapped
                && lhs.name == rhs.name && lhs.userData == rhs.userData
                && samePriority(lhs.priority, rhs.priority) && lhs.strategy == rhs.strategy
                && lhs.dedicatedTarget == rhs.dedicatedTarget && lhs.upperAddress == rhs.upperAddress
                && lhs.minAlignment == rhs.minAlignment && lhs.neverAllocate == rhs.neverAllocate
                && lhs.withinBudget == rhs.withinBudget && lhs.hostAccess == rhs.hostAccess
                && lhs.allowTransferInstead == rhs.allowTransferInstead
                && lhs.exportHandleTypes == rhs.exportHandleTypes && lhs.memoryAllocateNext == rhs.memoryAllocateNext
        }

        /// The model read back from options.
        init(_ options: AllocationOptions) {
            dedicated = options.dedicated
            canAlias = options.canAlias
            mapped = options.mapped
            name = options.name
            userData = options.userData
            priority = options.priority
            strategy = options.strategy
            dedicatedTarget = options.dedicatedTarget
            upperAddress = options.upperAddress
            minAlignment = options.minAlignment
            neverAllocate = options.neverAllocate
            withinBudget = options.withinBudget
            hostAccess = options.hostAccess
            allowTransferInstead = options.allowTransferInstead
            exportHandleTypes = options.exportHandleTypes
            memoryAllocateNext = options.memoryAllocateNext
        }

        init() {}

        /// The options the initializer makes from the model.
        var options: AllocationOptions {
            var options = AllocationOptions(
                dedicated: dedicated, mapped: mapped, name: name, userData: userData, priority: priority,
                strategy: strategy, dedicatedTarget: dedicatedTarget, canAlias: canAlias, minAlignment: minAlignment,
                neverAllocate: neverAllocate, withinBudget: withinBudget, hostAccess: hostAccess,
                allowTransferInstead: allowTransferInstead, exportHandleTypes: exportHandleTypes,
                memoryAllocateNext: memoryAllocateNext)
            options.upperAddress = upperAddress
            return options
        }
    }

    /// Handles and a chain pointer that are only stored and compared, never used.
    static var handle: OpaquePointer { OpaquePointer(bitPattern: 0x1000)! }
    static var chain: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 0x2000)! }

    /// Sets one random property on both sides; the values include the edges the packing
    /// must keep: every power of two and non-powers for `minAlignment` (0 included), NaN,
    /// negative and out-of-range priorities, defaults that must empty the rare box.
    static func mutate(_ options: inout AllocationOptions, _ model: inout Model, _ random: inout SplitMix64) {
        switch random.below(16) {
        case 0:
            let value = [AllocationOptions.DedicatedPolicy.automatic, .always, .never][random.below(3)]
            options.dedicated = value; model.dedicated = value
        case 1: let value = random.below(2) == 0; options.canAlias = value; model.canAlias = value
        case 2: let value = random.below(2) == 0; options.mapped = value; model.mapped = value
        case 3:
            let value: String? = [nil, "", "mesh", "a longer name that is not a small string \(random.below(9))"][random.below(4)]
            options.name = value; model.name = value
        case 4: let value = random.next(); options.userData = value; model.userData = value
        case 5:
            let value: Float? = [nil, 0, -0.0, 0.5, 1, -1, 2, .nan, .infinity, Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))][random.below(10)]
            options.priority = value; model.priority = value
        case 6:
            let value = AllocationStrategy.allCases[random.below(AllocationStrategy.allCases.count)]
            options.strategy = value; model.strategy = value
        case 7:
            let value: DeviceMemory.DedicatedTarget? = [nil, .buffer(handle), .image(handle)][random.below(3)]
            options.dedicatedTarget = value; model.dedicatedTarget = value
        case 8: let value = random.below(2) == 0; options.upperAddress = value; model.upperAddress = value
        case 9:
            let choices: [UInt64] = [1, 0, 3, 6, 1 << UInt64(random.below(64)), random.next(), UInt64.max, 1 << 63]
            let value = choices[random.below(choices.count)]
            options.minAlignment = value; model.minAlignment = value
        case 10: let value = random.below(2) == 0; options.neverAllocate = value; model.neverAllocate = value
        case 11: let value = random.below(2) == 0; options.withinBudget = value; model.withinBudget = value
        case 12:
            let value = HostAccess.allCases[random.below(HostAccess.allCases.count)]
            options.hostAccess = value; model.hostAccess = value
        case 13: let value = random.below(2) == 0; options.allowTransferInstead = value; model.allowTransferInstead = value
        case 14:
            let value = ExternalMemoryHandleTypes(rawValue: [0, 1, 0x200, UInt32(truncatingIfNeeded: random.next())][random.below(4)])
            options.exportHandleTypes = value; model.exportHandleTypes = value
        default:
            let value: DeviceMemory.NextChain? = random.below(2) == 0 ? nil : .init(chain)
            options.memoryAllocateNext = value; model.memoryAllocateNext = value
        }
    }

    @Test func everyPropertyReadsBackWhatWasSet() {
        for seed in 0..<40 as Range<UInt64> {
            var random = SplitMix64(seed: seed)
            var options = AllocationOptions()
            var model = Model()
            for step in 0..<200 {
                Self.mutate(&options, &model, &random)
                #expect(Model(options) == model, "seed \(seed), step \(step)")
                // The initializer stores the same thing the setters do.
                let made = model.options
                #expect(Model(made) == model, "seed \(seed), step \(step)")
                #expect(made == options, "seed \(seed), step \(step)")
                #expect(made.hashValue == options.hashValue, "seed \(seed), step \(step)")
            }
        }
    }

    @Test func defaultsLeaveNothingInTheRareBox() {
        var options = AllocationOptions(dedicatedTarget: .buffer(Self.handle), minAlignment: 3,
                                        exportHandleTypes: .opaqueFd,
                                        memoryAllocateNext: .init(Self.chain))
        #expect(options.rare != nil)
        options.dedicatedTarget = nil
        options.minAlignment = 1
        options.exportHandleTypes = []
        options.memoryAllocateNext = nil
        #expect(options.rare == nil)
        #expect(options == AllocationOptions())
        // A power of two other than 1 needs no box either.
        options.minAlignment = 1 << 40
        #expect(options.rare == nil)
        #expect(options.minAlignment == 1 << 40)
    }

    @Test func equalPrioritiesMakeEqualOptions() {
        // -0.0 and 0.0 are the same priority: equal options with equal hashes, as before
        // the fields were packed; a NaN (refused when allocating) equals itself.
        let zero = AllocationOptions(priority: 0)
        let negativeZero = AllocationOptions(priority: -0.0)
        #expect(zero == negativeZero)
        #expect(zero.hashValue == negativeZero.hashValue)
        #expect(AllocationOptions(priority: .nan) == AllocationOptions(priority: .nan))
        #expect(AllocationOptions(priority: 0.5) != AllocationOptions(priority: 0.25))
    }

    @Test func printingShowsTheProperties() {
        // `print` and `dump` show what the options mean, not their packed storage.
        let options = AllocationOptions(mapped: true, name: "mesh", minAlignment: 256)
        let text = String(describing: options)
        #expect(text.hasPrefix("AllocationOptions(dedicated: "))
        #expect(text.contains("mapped: true"))
        #expect(text.contains("name: Optional(\"mesh\")"))
        #expect(text.contains("minAlignment: 256"))
        #expect(!text.contains("flags") && !text.contains("rare"))
    }

    @Test func optionsStaySixWordsOrLess() {
        // Larger, a struct holding a reference was copied through value witnesses at each
        // call site (see `AllocationOptions`).
        #expect(MemoryLayout<AllocationOptions>.size <= 6 * MemoryLayout<UInt64>.size)
    }

    @Test func invalidValuesStillReachTheirErrors() throws {
        // Kept as given, so the request's validation names them.
        let requirements = MemoryRequirements(size: 256, alignment: 16)
        #expect(throws: AllocationError.alignmentNotPowerOfTwo(6)) {
            try PlacementRequest(requirements, AllocationOptions(minAlignment: 6), fileID: #fileID, line: #line)
        }
        #expect(throws: AllocationError.alignmentNotPowerOfTwo(0)) {
            try PlacementRequest(requirements, AllocationOptions(minAlignment: 0), fileID: #fileID, line: #line)
        }
        #expect(throws: AllocationError.invalidPriority(2)) {
            try PlacementRequest(requirements, AllocationOptions(priority: 2), fileID: #fileID, line: #line)
        }
        let placed = try PlacementRequest(requirements, AllocationOptions(minAlignment: 1 << 12), fileID: #fileID,
                                          line: #line)
        #expect(placed.alignment == 1 << 12)
    }
}

extension SplitMix64 {
    /// Uniform in `0..<count`.
    fileprivate mutating func below(_ count: Int) -> Int { Int(below(UInt64(count))) }
}
