import Suballocation

/// Where each resource of a group goes inside one range: in order, each at its own
/// alignment, a linear resource and an optimal one `bufferImageGranularity` apart.
struct GroupLayout: Equatable {
    /// Each member's offset from the start of the range.
    var offsets: [UInt64] = []
    /// Each member's size (rounded to whole atoms on non-coherent memory).
    var sizes: [UInt64] = []
    /// The range's size.
    var size: UInt64 = 0
    /// The alignment the range's start needs so every member keeps its own.
    var alignment: UInt64 = 1
    /// The members' common kind, or `.unknown` when they differ (neighbours outside the
    /// range then keep the granularity from both kinds).
    var kind: SuballocationKind = .unknown

    /// Lays out members.
    ///
    /// - Complexity: O(n).
    init(_ members: [MemoryRequirements], granularity: UInt64, atom: UInt64) {
        var previous: SuballocationKind?
        for member in members {
            var alignment = max(member.alignment, atom, 1)
            if let previous, previous != member.kind || member.kind == .unknown {
                alignment = max(alignment, granularity)
            }
            // Sizes come from the driver; should one be absurd, the sums saturate at
            // UInt64.max, which the caller refuses as a group too large for any heap.
            let offset = GroupLayout.roundUp(size, to: alignment)
            let length = GroupLayout.roundUp(member.size, to: atom)
            offsets.append(offset)
            sizes.append(length)
            let (end, overflow) = offset.addingReportingOverflow(length)
            size = overflow ? .max : end
            self.alignment = max(self.alignment, alignment)
            previous = member.kind
        }
        let kinds = Set(members.map(\.kind))
        kind = kinds.count == 1 ? kinds.first! : .unknown
    }

    /// `value` rounded up to a multiple of `step` (at least 1), or `UInt64.max` when
    /// that overflows.
    static func roundUp(_ value: UInt64, to step: UInt64) -> UInt64 {
        let (sum, overflow) = value.addingReportingOverflow(step - 1)
        return overflow ? .max : sum / step * step
    }
}
