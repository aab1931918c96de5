extension AllocationOptions {
    /// The options' small fields in one word: the policies, the booleans, the log2 of a
    /// power-of-two `minAlignment`, and the priority's bits with a bit for its presence.
    /// All zero is the default of every field.
    ///
    /// Bits 0–31 priority (`Float.bitPattern`), 32 priority present, 33–34 `dedicated`,
    /// 35 `canAlias`, 36 `mapped`, 37–38 `strategy`, 39 `upperAddress`, 40 `neverAllocate`,
    /// 41 `withinBudget`, 42–43 `hostAccess`, 44 `allowTransferInstead`, 45–50 log2 of
    /// `minAlignment`.
    @usableFromInline
    struct Flags: Sendable, Hashable {
        @usableFromInline var raw: UInt64

        /// Every field at its default.
        @inlinable init() { raw = 0 }

        @inlinable static var priorityPresent: UInt64 { 1 << 32 }
        @inlinable static var canAlias: UInt64 { 1 << 35 }
        @inlinable static var mapped: UInt64 { 1 << 36 }
        @inlinable static var upperAddress: UInt64 { 1 << 39 }
        @inlinable static var neverAllocate: UInt64 { 1 << 40 }
        @inlinable static var withinBudget: UInt64 { 1 << 41 }
        @inlinable static var allowTransferInstead: UInt64 { 1 << 44 }

        /// Whether the flag `bit` (one of the static masks) is set.
        @inlinable subscript(bit: UInt64) -> Bool {
            get { raw & bit != 0 }
            set { raw = newValue ? raw | bit : raw & ~bit }
        }

        /// The `width`-bit field at `shift`.
        @inlinable @inline(__always) func field(_ shift: UInt64, _ width: UInt64) -> UInt64 {
            (raw >> shift) & ((1 << width) - 1)
        }

        /// Sets the `width`-bit field at `shift` to `value` (which fits it).
        @inlinable @inline(__always) mutating func setField(_ shift: UInt64, _ width: UInt64, _ value: UInt64) {
            let mask: UInt64 = ((1 << width) - 1) << shift
            raw = (raw & ~mask) | (value << shift & mask)
        }

        /// Kept as its bits, so options compare and hash by them: -0.0 is stored as 0.0
        /// (equal as numbers, and the same priority to Vulkan), and a NaN equals itself.
        @inlinable var priority: Float? {
            get { raw & Self.priorityPresent != 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: raw)) : nil }
            set {
                raw &= ~(Self.priorityPresent | 0xFFFF_FFFF)
                if let newValue {
                    let canonical: Float = newValue == 0 ? 0 : newValue
                    raw |= Self.priorityPresent | UInt64(canonical.bitPattern)
                }
            }
        }

        /// The two-bit field at `shift` as a case of `Policy` (raw values 0–2), or
        /// `fallback` for a value no case has.
        @inlinable @inline(__always) func policy<Policy: RawRepresentable>(at shift: UInt64,
                                                         or fallback: Policy) -> Policy where Policy.RawValue == UInt8 {
            Policy(rawValue: UInt8(truncatingIfNeeded: field(shift, 2))) ?? fallback
        }

        @inlinable var dedicated: DedicatedPolicy {
            get { policy(at: 33, or: .automatic) }
            set { setField(33, 2, UInt64(newValue.rawValue)) }
        }

        @inlinable var strategy: AllocationStrategy {
            get { policy(at: 37, or: .bestFit) }
            set { setField(37, 2, UInt64(newValue.rawValue)) }
        }

        @inlinable var hostAccess: HostAccess {
            get { policy(at: 42, or: .none) }
            set { setField(42, 2, UInt64(newValue.rawValue)) }
        }

        /// A power-of-two `minAlignment`, kept as its log2.
        @inlinable var minAlignment: UInt64 {
            get { 1 << field(45, 6) }
            set { setField(45, 6, UInt64(newValue.trailingZeroBitCount)) }
        }
    }

    /// The rarely set fields, shared by copies of the options and never changed: a setter
    /// makes a new one (or nil when every field is back at its default).
    ///
    /// One reference rather than four fields keeps `AllocationOptions` small enough to be
    /// passed in place (see the type's discussion); setting one of these costs an object.
    @usableFromInline
    final class Rare: Sendable, Hashable {
        let dedicatedTarget: DeviceMemory.DedicatedTarget?
        let exportHandleTypes: ExternalMemoryHandleTypes
        let memoryAllocateNext: DeviceMemory.NextChain?
        /// A `minAlignment` that is not a power of two, kept as given for the error that
        /// names it; nil when the flags hold it.
        @usableFromInline let minAlignment: UInt64?

        private init(dedicatedTarget: DeviceMemory.DedicatedTarget?, exportHandleTypes: ExternalMemoryHandleTypes,
                     memoryAllocateNext: DeviceMemory.NextChain?, minAlignment: UInt64?) {
            self.dedicatedTarget = dedicatedTarget
            self.exportHandleTypes = exportHandleTypes
            self.memoryAllocateNext = memoryAllocateNext
            self.minAlignment = minAlignment
        }

        /// The fields given, or nil when all are defaults.
        private static func build(_ dedicatedTarget: DeviceMemory.DedicatedTarget?,
                                  _ exportHandleTypes: ExternalMemoryHandleTypes,
                                  _ memoryAllocateNext: DeviceMemory.NextChain?, _ minAlignment: UInt64?) -> Rare? {
            if dedicatedTarget == nil, exportHandleTypes.isEmpty, memoryAllocateNext == nil, minAlignment == nil {
                return nil
            }
            return Rare(dedicatedTarget: dedicatedTarget, exportHandleTypes: exportHandleTypes,
                        memoryAllocateNext: memoryAllocateNext, minAlignment: minAlignment)
        }

        /// `old` with the three dedicated-memory fields replaced.
        @usableFromInline @inline(never)
        static func make(_ old: Rare?, dedicatedTarget: DeviceMemory.DedicatedTarget?,
                         exportHandleTypes: ExternalMemoryHandleTypes,
                         memoryAllocateNext: DeviceMemory.NextChain?) -> Rare? {
            build(dedicatedTarget, exportHandleTypes, memoryAllocateNext, old?.minAlignment)
        }

        /// `old` with `dedicatedTarget` replaced.
        @usableFromInline @inline(never)
        static func make(_ old: Rare?, dedicatedTarget: DeviceMemory.DedicatedTarget?) -> Rare? {
            build(dedicatedTarget, old?.exportHandleTypes ?? [], old?.memoryAllocateNext, old?.minAlignment)
        }

        /// `old` with `exportHandleTypes` replaced.
        @usableFromInline @inline(never)
        static func make(_ old: Rare?, exportHandleTypes: ExternalMemoryHandleTypes) -> Rare? {
            build(old?.dedicatedTarget, exportHandleTypes, old?.memoryAllocateNext, old?.minAlignment)
        }

        /// `old` with `memoryAllocateNext` replaced.
        @usableFromInline @inline(never)
        static func make(_ old: Rare?, memoryAllocateNext: DeviceMemory.NextChain?) -> Rare? {
            build(old?.dedicatedTarget, old?.exportHandleTypes ?? [], memoryAllocateNext, old?.minAlignment)
        }

        /// `old` with the unpacked `minAlignment` replaced (nil: the flags hold it).
        @usableFromInline @inline(never)
        static func make(_ old: Rare?, minAlignment: UInt64?) -> Rare? {
            build(old?.dedicatedTarget, old?.exportHandleTypes ?? [], old?.memoryAllocateNext, minAlignment)
        }

        @usableFromInline static func == (lhs: Rare, rhs: Rare) -> Bool {
            lhs.dedicatedTarget == rhs.dedicatedTarget && lhs.exportHandleTypes == rhs.exportHandleTypes
                && lhs.memoryAllocateNext == rhs.memoryAllocateNext && lhs.minAlignment == rhs.minAlignment
        }

        @usableFromInline func hash(into hasher: inout Hasher) {
            hasher.combine(dedicatedTarget)
            hasher.combine(exportHandleTypes)
            hasher.combine(memoryAllocateNext)
            hasher.combine(minAlignment)
        }
    }
}
