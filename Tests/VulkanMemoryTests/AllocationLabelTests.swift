import CVulkan
import Synchronization
import Testing
@testable import VulkanMemory

/// Names and user data read back and changed after allocation (`name(of:)`,
/// `setName(_:of:)`, `userData(of:)`, `setUserData(_:of:)`), on a page's range, dedicated
/// memory and a contiguous group's member, as reports and statistics show them.
@Suite("Allocation names and user data")
struct AllocationLabelTests {
    /// One allocation of each kind: a range of a page, dedicated memory, and the second
    /// member of a contiguous group (whose first member is `kept`).
    private struct Kinds {
        let page: Allocation
        let dedicated: Allocation
        let member: Allocation
        let group: BoundResources

        init(_ allocator: Allocator, tag: String = "") throws {
            page = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                          options: AllocationOptions(name: "page\(tag)", userData: 1))
            dedicated = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly,
                                               options: AllocationOptions(dedicated: .always, name: "dedicated\(tag)",
                                                                          userData: 2))
            group = try ResourceBatch.buffer(size: 4096, usage: .transferDestination, name: "first\(tag)")
                .nextBuffer(size: 4096, usage: .transferDestination, name: "second\(tag)")
                .bind(allocator, strategy: .contiguous)
            member = group.buffers[1].allocation
        }

        var all: [Allocation] { [page, dedicated, member] }

        func release(_ allocator: Allocator) throws {
            try allocator.free(page)
            try allocator.free(dedicated)
            try allocator.destroy(many: group.resources)
        }
    }

    /// Every name a report or the statistics show.
    private static func reportedNames(_ allocator: Allocator) -> (reports: Set<String>, statistics: Set<String>) {
        let statistics = allocator.statistics()
        return (Set(allocator.liveAllocations().compactMap(\.name)),
                Set(statistics.pages.flatMap(\.ranges).compactMap(\.name) + statistics.dedicated.compactMap(\.name)))
    }

    @Test func namesAndUserDataChangeOnEveryKindOfAllocation() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let kinds = try Kinds(allocator)
            #expect(kinds.group.buffers[1].allocation.description.contains("group"))
            #expect(try kinds.all.map { try allocator.name(of: $0) } == ["page", "dedicated", "second"])
            #expect(try kinds.all.map { try allocator.userData(of: $0) } == [1, 2, 0])
            // A group's range is reported once, listing its named members.
            #expect(Self.reportedNames(allocator).reports
                    == ["page", "dedicated", "contiguous group of 2 (member 0 'first', member 1 'second')"])

            try allocator.setName("vertices", of: kinds.page)
            try allocator.setName("albedo", of: kinds.dedicated)
            try allocator.setName("indices", of: kinds.member)
            for (allocation, value) in zip(kinds.all, [10, 20, 30] as [UInt64]) {
                try allocator.setUserData(value, of: allocation)
            }
            #expect(try kinds.all.map { try allocator.name(of: $0) } == ["vertices", "albedo", "indices"])
            #expect(try kinds.all.map { try allocator.userData(of: $0) } == [10, 20, 30])
            let renamed: Set = ["vertices", "albedo", "contiguous group of 2 (member 0 'first', member 1 'indices')"]
            let (reports, statistics) = Self.reportedNames(allocator)
            #expect(reports == renamed)
            #expect(statistics == renamed)
            let byName = Dictionary(allocator.liveAllocations().compactMap { report in report.name.map { ($0, report) } },
                                    uniquingKeysWith: { first, _ in first })
            #expect(byName["vertices"]?.userData == 10 && byName["albedo"]?.userData == 20)
            #expect(try allocator.statistics().yaml().contains("albedo"))

            // nil takes a name away; the group's range then lists only the other member.
            for allocation in kinds.all { try allocator.setName(nil, of: allocation) }
            #expect(try kinds.all.map { try allocator.name(of: $0) } == [nil, nil, nil])
            #expect(Self.reportedNames(allocator).reports == ["contiguous group of 2 (member 0 'first')"])
            try kinds.release(allocator)
            #expect(allocator.usage.allocationCount == 0)
        }
    }

    /// A name that could not come back from a report is refused, as on allocation; a
    /// freed allocation and another allocator's are errors. Nothing changes then.
    @Test func badNamesAndStaleAllocationsAreRefused() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let theirs = Allocator(device: context.device)
            let kinds = try Kinds(allocator)
            for allocation in kinds.all {
                let name = try allocator.name(of: allocation)
                #expect(throws: AllocationError.self) { try allocator.setName("\u{FEFF}bom", of: allocation) }
                do throws(AllocationError) {
                    try allocator.setName("\u{FEFF}bom", of: allocation)
                } catch {
                    guard case .invalidName("\u{FEFF}bom", _) = error else {
                        Issue.record("expected .invalidName, got \(error)")
                        continue
                    }
                }
                #expect(try allocator.name(of: allocation) == name)
                #expect(throws: AllocationError.unknownAllocation) { try theirs.setName("x", of: allocation) }
                #expect(throws: AllocationError.unknownAllocation) { _ = try theirs.userData(of: allocation) }
            }
            let all = kinds.all
            try kinds.release(allocator)
            for allocation in all {
                #expect(throws: AllocationError.alreadyFreed) { try allocator.setName("late", of: allocation) }
                #expect(throws: AllocationError.alreadyFreed) { try allocator.setUserData(7, of: allocation) }
                #expect(throws: AllocationError.alreadyFreed) { _ = try allocator.name(of: allocation) }
            }
            #expect(allocator.liveAllocations().isEmpty)
        }
    }

    /// Observers see one `.labelChanged` a change; the recorder writes VMA's
    /// `vmaSetAllocationUserData` with the name, which the recording reads back and a
    /// replay applies.
    @Test func changesAreObservedAndRecorded() throws {
        try withTestDevice { context in
            let recorder = CallRecorder()
            let log = EventLog()
            var options = AllocatorOptions()
            options.recorder = recorder
            options.observers = [log]
            let allocator = Allocator(device: context.device, options: options)
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            try allocator.setName("mesh, LOD 0", of: allocation)
            try allocator.setUserData(0xBEEF, of: allocation)
            let labels = log.all.compactMap { event -> LabelEvent? in
                if case .labelChanged(let label) = event { label } else { nil }
            }
            #expect(labels == [LabelEvent(allocation: allocation, name: "mesh, LOD 0", userData: 0),
                               LabelEvent(allocation: allocation, name: "mesh, LOD 0", userData: 0xBEEF)])
            let recording = try VMARecording(parsing: recorder.text)
            let set = recording.calls.compactMap { call -> String? in
                if case let .setAllocationUserData(_, userData) = call.function { userData } else { nil }
            }
            #expect(set == ["mesh, LOD 0", "mesh, LOD 0"])
            try allocator.free(allocation)

            // Replayed, the rename reaches the replaying allocator: what is left alive has the new name.
            let replayer = Allocator(device: context.device)
            let report = replayer.replay(recording)
            #expect(report.failures.isEmpty, "\(report.failures)")
            #expect(report.replayed["vmaSetAllocationUserData"] == 2)
            #expect(report.leftAlive.map(\.name) == ["mesh, LOD 0"])
        }
    }

    /// Eight threads rename and re-tag allocations of every kind, their own and three they
    /// share, while others allocate, free and read reports and statistics. Each thread's
    /// own allocations end with the last label it gave them; the shared ones with one of
    /// the labels given; reports and statistics never show a name that was never set.
    @Test func labelsChangeFromManyThreadsAtOnce() throws {
        try withTestDevice { context in
            let allocator = Allocator(device: context.device)
            let shared = try Kinds(allocator, tag: "-shared")
            let failures = Failures()
            let threads = 8
            let rounds = 60
            runOnThreads(threads) { thread in
                do {
                    let own = try Kinds(allocator, tag: "-\(thread)")
                    for round in 0..<rounds {
                        for (kind, allocation) in own.all.enumerated() {
                            try allocator.setName("t\(thread)-k\(kind)-r\(round)", of: allocation)
                            try allocator.setUserData(UInt64(thread << 16 | round), of: allocation)
                        }
                        try allocator.setName("shared-t\(thread)-r\(round)", of: shared.all[round % 3])
                        try allocator.setUserData(UInt64(thread), of: shared.all[(round + 1) % 3])
                        // Churn beside the renames: allocations made and freed, reports read.
                        let scratch = try allocator.allocate(MemoryRequirements(size: 1024), usage: .gpuOnly,
                                                             options: AllocationOptions(name: "scratch"))
                        if round % 10 == 0 {
                            for report in allocator.liveAllocations() {
                                guard let name = report.name else { continue }
                                let known = ["page", "dedicated", "t", "shared", "scratch", "contiguous group of 2"]
                                if !known.contains(where: { name.hasPrefix($0) }) {
                                    failures.append("thread \(thread) saw name '\(name)'")
                                }
                            }
                            _ = allocator.statistics()
                        }
                        try allocator.free(scratch)
                    }
                    for (kind, allocation) in own.all.enumerated() {
                        let name = try allocator.name(of: allocation)
                        let userData = try allocator.userData(of: allocation)
                        if name != "t\(thread)-k\(kind)-r\(rounds - 1)" || userData != UInt64(thread << 16 | (rounds - 1)) {
                            failures.append("thread \(thread) kind \(kind): \(name ?? "nil") \(userData)")
                        }
                    }
                    let member = "contiguous group of 2 (member 0 'first-\(thread)', member 1 't\(thread)-k2-r\(rounds - 1)')"
                    if !allocator.liveAllocations().contains(where: { $0.name == member }) {
                        failures.append("thread \(thread): no report names \(member)")
                    }
                    try own.release(allocator)
                } catch {
                    failures.append("thread \(thread): \(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all)")
            for allocation in shared.all {
                let name = try #require(try allocator.name(of: allocation))
                #expect(name.hasPrefix("shared-t"), "\(name)")
                #expect(try allocator.userData(of: allocation) < UInt64(threads))
            }
            try shared.release(allocator)
            #expect(allocator.usage.allocationCount == 0)
        }
    }
}
