#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension VMARecording {
    /// The longest line a recording may have, in bytes (65,536). VMA's own lines are
    /// under a few hundred bytes; the limit keeps a broken or hostile file (100 MB of
    /// commas on one line) from being held, split and echoed whole.
    public static let maximumLineLength = 65_536
    /// The most blank lines a recording may have in a row (1,000): VMA writes none, and
    /// a file of millions is corrupt, so it is refused at once rather than read to its end.
    public static let maximumBlankLines = 1_000
    /// The most characters of a field or line an error quotes (80).
    public static let maximumQuotedLength = 80

    /// Reads a recording from its text.
    ///
    /// The user data of a call is its last field and may itself hold commas; the rest
    /// of each line is split on commas (VMA printed no quoting).
    /// - Throws: `VMARecordingError` naming the first line that cannot be read;
    ///   `.lineTooLong` for a line of more than `maximumLineLength` bytes.
    /// - Complexity: O(length of the text); memory beyond the calls read is one line.
    public init(parsing text: String) throws(VMARecordingError) {
        var parser = RecordingParser()
        var text = text
        var failure: VMARecordingError?
        text.withUTF8 { bytes in
            do throws(VMARecordingError) { try parser.feed(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
        self = try parser.finish()
    }

    /// Reads a recording file, 64 KiB at a time: memory beyond the calls read is one
    /// chunk and one line, whatever the file holds.
    /// - Throws: `.unreadable` when the file cannot be read, else as `init(parsing:)`.
    public init(contentsOfFile path: String) throws(VMARecordingError) {
        var parser = RecordingParser()
        try Self.read(path) { (chunk) throws(VMARecordingError) in try parser.feed(chunk) }
        self = try parser.finish()
    }

    /// Feeds the file at `path` to `body` in chunks of 64 KiB.
    static func read(_ path: String,
                     _ body: (UnsafeBufferPointer<UInt8>) throws(VMARecordingError) -> Void) throws(VMARecordingError) {
        guard let file = fopen(path, "rb") else {
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        let chunk = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 65_536)
        defer { chunk.deallocate() }
        while true {
            let count = fread(chunk.baseAddress, 1, chunk.count, file)
            if count > 0 { try body(UnsafeBufferPointer(rebasing: chunk[..<count])) }
            if count < chunk.count { break }
        }
        if ferror(file) != 0 { throw .unreadable(path: path, reason: "read error") }
    }

    /// `text` as an error quotes it: at most `maximumQuotedLength` characters of the
    /// quote, with what could break or forge a line escaped as everywhere else
    /// (`escapingControlCharacters`: NUL, CR, bidirectional overrides… as `\u{…}`, each
    /// escape counted whole), and the length in bytes when it was cut.
    static func quoted(_ text: some StringProtocol) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            let piece = String(scalar).escapingControlCharacters
            if count + piece.count > maximumQuotedLength {
                return result + "… (\(text.utf8.count) bytes)"
            }
            result += piece
            count += piece.count
        }
        return result
    }

    /// One call line: `threadId,time,frameIndex,function,parameters…`.
    static func call(_ text: Substring, line: Int) throws(VMARecordingError) -> Call {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count >= 4, let thread = UInt32(fields[0]), let time = Double(fields[1]),
              let frame = UInt32(fields[2]) else {
            throw .malformedLine(line: line,
                                 reason: "expected 'threadId,time,frameIndex,function,…', got '\(VMARecording.quoted(text))'")
        }
        // `Double` also reads "inf", "nan" and "-5": no recording's clock gives those.
        guard time.isFinite, time >= 0 else {
            throw .malformedLine(line: line, reason: "the time '\(VMARecording.quoted(fields[1]))' is not a finite "
                                     + "number of seconds at or after 0")
        }
        var reader = FieldReader(fields: Array(fields.dropFirst(4)), line: line,
                                 function: VMARecording.quoted(fields[3]))
        let function: Function
        switch fields[3] {
        case "vmaCreateAllocator": function = .createAllocator
        case "vmaDestroyAllocator": function = .destroyAllocator
        case "vmaCreateBuffer":
            let buffer = BufferParameters(flags: try reader.uint32(), size: try reader.uint64(), usage: try reader.uint32(),
                                          sharingMode: try reader.uint32())
            let create = try reader.allocationCreateInfo()
            function = .createBuffer(buffer, create, handle: try reader.text(), userData: reader.rest())
        case "vmaCreateImage":
            let image = ImageParameters(
                flags: try reader.uint32(), imageType: try reader.uint32(), format: try reader.uint32(),
                width: try reader.uint32(), height: try reader.uint32(), depth: try reader.uint32(),
                mipLevels: try reader.uint32(), arrayLayers: try reader.uint32(), samples: try reader.uint32(),
                tiling: try reader.uint32(), usage: try reader.uint32(), sharingMode: try reader.uint32(),
                initialLayout: try reader.uint32())
            let create = try reader.allocationCreateInfo()
            function = .createImage(image, create, handle: try reader.text(), userData: reader.rest())
        case "vmaAllocateMemory", "vmaAllocateMemoryForBuffer", "vmaAllocateMemoryForImage":
            let forResource = fields[3] != "vmaAllocateMemory"
            let size = try reader.uint64()
            let alignment = try reader.uint64()
            let bits = try reader.uint32()
            let requires = forResource ? try reader.uint32() != 0 : false
            let prefers = forResource ? try reader.uint32() != 0 : false
            let memory = MemoryParameters(size: size, alignment: alignment, memoryTypeBits: bits,
                                          requiresDedicated: requires, prefersDedicated: prefers)
            let create = try reader.allocationCreateInfo()
            function = .allocateMemory(function: String(fields[3]), memory, create, handle: try reader.text(),
                                       userData: reader.rest())
        case "vmaDestroyBuffer": function = .destroyBuffer(handle: try reader.text())
        case "vmaDestroyImage": function = .destroyImage(handle: try reader.text())
        case "vmaFreeMemory": function = .freeMemory(handle: try reader.text())
        case "vmaMapMemory": function = .mapMemory(handle: try reader.text())
        case "vmaUnmapMemory": function = .unmapMemory(handle: try reader.text())
        case "vmaSetAllocationUserData":
            function = .setAllocationUserData(handle: try reader.text(), userData: reader.rest())
        default:
            guard fields[3].hasPrefix("vma") else {
                throw .malformedLine(line: line, reason: "'\(VMARecording.quoted(fields[3]))' is not a VMA function")
            }
            function = .other(name: String(fields[3]), parameters: fields.dropFirst(4).map(String.init))
        }
        return Call(line: line, threadID: thread, time: time, frameIndex: frame, function: function)
    }
}

/// Reads a call's parameters in order, with errors that name the line, the function and
/// the parameter.
private struct FieldReader {
    let fields: [Substring]
    let line: Int
    let function: String
    var position = 0

    private mutating func next(_ what: String) throws(VMARecordingError) -> Substring {
        guard position < fields.count else {
            throw .malformedLine(line: line, reason: "\(function) has \(fields.count) parameters; parameter \(position + 1) (\(what)) is missing")
        }
        defer { position += 1 }
        return fields[position]
    }

    mutating func uint32() throws(VMARecordingError) -> UInt32 {
        let field = try next("a 32-bit number")
        guard let value = UInt32(field) else {
            throw .malformedLine(line: line, reason: "\(function) parameter \(position) is '\(VMARecording.quoted(field))', not a 32-bit number")
        }
        return value
    }

    mutating func uint64() throws(VMARecordingError) -> UInt64 {
        let field = try next("a 64-bit number")
        guard let value = UInt64(field) else {
            throw .malformedLine(line: line, reason: "\(function) parameter \(position) is '\(VMARecording.quoted(field))', not a 64-bit number")
        }
        return value
    }

    mutating func text() throws(VMARecordingError) -> String { String(try next("a handle")) }

    /// The remaining fields joined back together: the user data, which may hold commas.
    mutating func rest() -> String {
        defer { position = fields.count }
        return position < fields.count ? fields[position...].joined(separator: ",") : ""
    }

    /// `VmaAllocationCreateInfo`: flags, usage, requiredFlags, preferredFlags,
    /// memoryTypeBits, pool.
    mutating func allocationCreateInfo() throws(VMARecordingError) -> VMARecording.AllocationCreateInfo {
        VMARecording.AllocationCreateInfo(flags: try uint32(), usage: try uint32(), requiredFlags: try uint32(),
                                          preferredFlags: try uint32(), memoryTypeBits: try uint32(), pool: try text())
    }
}

/// Collects the `Config` section: device identity, limits, heaps and types.
struct ConfigReader {
    var device = VMARecording.RecordedDevice()
    var limits: (granularity: UInt64, atom: UInt64, maxAllocations: UInt32) = (1, 1, 4096)
    var heaps: [Int: (size: UInt64?, flags: UInt32?)] = [:]
    var types: [Int: (heap: Int?, flags: UInt32?)] = [:]
    var heapCount: Int?
    var typeCount: Int?

    mutating func read(_ text: Substring, line: Int) throws(VMARecordingError) {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        func number<T: FixedWidthInteger>(_ index: Int, _ type: T.Type) throws(VMARecordingError) -> T {
            guard index < fields.count, let value = T(fields[index]) else {
                throw .malformedLine(line: line,
                                     reason: "expected a number in field \(index + 1) of '\(VMARecording.quoted(text))'")
            }
            return value
        }
        switch (fields.first, fields.count > 1 ? fields[1] : "") {
        case ("PhysicalDevice", "deviceName"):
            device.name = fields.dropFirst(2).joined(separator: ",")
        case ("PhysicalDevice", "vendorID"): device.vendorID = try number(2, UInt32.self)
        case ("PhysicalDevice", "deviceID"): device.deviceID = try number(2, UInt32.self)
        case ("PhysicalDevice", "deviceType"): device.deviceType = try number(2, UInt32.self)
        case ("PhysicalDeviceLimits", "bufferImageGranularity"): limits.granularity = try number(2, UInt64.self)
        case ("PhysicalDeviceLimits", "nonCoherentAtomSize"): limits.atom = try number(2, UInt64.self)
        case ("PhysicalDeviceLimits", "maxMemoryAllocationCount"): limits.maxAllocations = try number(2, UInt32.self)
        case ("PhysicalDeviceMemory", "HeapCount"):
            let count = try number(2, Int.self)
            // VK_MAX_MEMORY_HEAPS and VK_MAX_MEMORY_TYPES.
            guard (0...16).contains(count) else {
                throw .malformedLine(line: line, reason: "\(count) memory heaps: Vulkan allows at most 16")
            }
            heapCount = count
        case ("PhysicalDeviceMemory", "TypeCount"):
            let count = try number(2, Int.self)
            guard (0...32).contains(count) else {
                throw .malformedLine(line: line, reason: "\(count) memory types: Vulkan allows at most 32")
            }
            typeCount = count
        case ("PhysicalDeviceMemory", "Heap"):
            let heap = Int(try number(2, UInt8.self))
            let key = fields.count > 3 ? fields[3] : ""
            if key == "size" { heaps[heap, default: (nil, nil)].size = try number(4, UInt64.self) }
            if key == "flags" { heaps[heap, default: (nil, nil)].flags = try number(4, UInt32.self) }
        case ("PhysicalDeviceMemory", "Type"):
            let type = Int(try number(2, UInt8.self))
            let key = fields.count > 3 ? fields[3] : ""
            if key == "heapIndex" {
                let heap = Int(try number(4, UInt8.self))
                if let heapCount, heap >= heapCount {
                    throw .malformedLine(line: line, reason: "memory type \(type) names heap \(heap) of \(heapCount)")
                }
                types[type, default: (nil, nil)].heap = heap
            }
            if key == "propertyFlags" { types[type, default: (nil, nil)].flags = try number(4, UInt32.self) }
        default:
            // Versions, extensions and VMA's macros: recorded, not needed to replay.
            break
        }
    }

    /// The device, with its memory when every heap and type was recorded whole.
    func recordedDevice() -> VMARecording.RecordedDevice {
        var device = self.device
        guard let heapCount, let typeCount, heapCount > 0, typeCount > 0 else { return device }
        var memoryHeaps: [MemoryHeap] = []
        for index in 0..<heapCount {
            guard let heap = heaps[index], let size = heap.size, let flags = heap.flags else { return device }
            memoryHeaps.append(MemoryHeap(index: index, size: size, flags: MemoryHeapFlags(rawValue: flags)))
        }
        var memoryTypes: [MemoryType] = []
        for index in 0..<typeCount {
            guard let type = types[index], let heap = type.heap, let flags = type.flags, heap < heapCount else {
                return device
            }
            memoryTypes.append(MemoryType(index: index, heapIndex: heap, flags: MemoryPropertyFlags(rawValue: flags)))
        }
        // A recording's counts may be past Vulkan's: such a device table is left out.
        guard let memory = try? MemoryProperties(
            heaps: memoryHeaps, types: memoryTypes,
            limits: MemoryLimits(bufferImageGranularity: limits.granularity, nonCoherentAtomSize: limits.atom,
                                 maxMemoryAllocationCount: limits.maxAllocations, minMemoryMapAlignment: 64)) else {
            return device
        }
        device.memory = memory
        return device
    }
}
