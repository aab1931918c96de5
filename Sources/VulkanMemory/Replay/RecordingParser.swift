#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a VMA recording from bytes fed in chunks of any size, one line at a time: the
/// header, the format version, the optional `Config` section, then the calls.
///
/// Memory beyond the calls it keeps is the part of a line that straddles two chunks,
/// capped at `VMARecording.maximumLineLength` bytes, and that line's fields; a longer line
/// is refused as soon as the cap is crossed, and a run of more than
/// `VMARecording.maximumBlankLines` blank lines as soon as it is. Lines end with `\n`;
/// a `\r` before it (Windows, VMA's own platform) is dropped.
struct RecordingParser {
    private enum Stage {
        case header, version, configOrCalls, config, calls
    }

    private var stage = Stage.header
    /// The number of the line being read (1-based).
    private var lineNumber = 0
    /// The start of a line whose end is in a later chunk.
    private var pending: [UInt8] = []
    private var blankRun = 0
    private var config = ConfigReader()
    private var device = VMARecording.RecordedDevice()
    /// The calls read so far; `takeCalls()` hands them over for a caller that runs them as
    /// they come.
    private(set) var calls: [VMARecording.Call] = []

    /// Reads every whole line of `bytes`, keeping an unfinished last line for the next chunk.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(VMARecordingError) {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            let remaining = bytes.count - start
            guard let newline = memchr(base + start, 0x0A, remaining) else {
                try keep(UnsafeBufferPointer(start: base + start, count: remaining))
                return
            }
            let length = UnsafeRawPointer(newline) - UnsafeRawPointer(base + start)
            let piece = UnsafeBufferPointer(start: base + start, count: length)
            if pending.isEmpty {
                try checkLength(length)
                try line(piece)
            } else {
                try keep(piece)
                let whole = pending
                pending.removeAll(keepingCapacity: true)
                try whole.withUnsafeBufferPointer { (line) throws(VMARecordingError) in try self.line(line) }
            }
            start += length + 1
        }
    }

    /// The calls read since the last call, which the parser then forgets.
    mutating func takeCalls() -> [VMARecording.Call] {
        defer { calls.removeAll(keepingCapacity: true) }
        return calls
    }

    /// Reads the last line (one with no `\n` after it) and checks the file was whole.
    mutating func finish() throws(VMARecordingError) -> VMARecording {
        if !pending.isEmpty {
            let last = pending
            pending = []
            try last.withUnsafeBufferPointer { (line) throws(VMARecordingError) in try self.line(line) }
        }
        switch stage {
        case .header:
            throw .notARecording(firstLine: "")
        case .version:
            throw .malformedLine(line: 2, reason: "the format version is missing")
        case .config:
            throw .malformedLine(line: lineNumber, reason: "'Config,Begin' has no 'Config,End'")
        case .configOrCalls:
            device = config.recordedDevice()
        case .calls:
            break
        }
        return VMARecording(versionMajor: 1, versionMinor: 8, device: device, calls: calls)
    }

    private mutating func keep(_ bytes: UnsafeBufferPointer<UInt8>) throws(VMARecordingError) {
        try checkLength(pending.count + bytes.count)
        pending.append(contentsOf: bytes)
    }

    private func checkLength(_ length: Int) throws(VMARecordingError) {
        // A `\r` before the `\n` does not count against the limit.
        guard length <= VMARecording.maximumLineLength + 1 else {
            throw .lineTooLong(line: lineNumber + 1, limit: VMARecording.maximumLineLength)
        }
    }

    private mutating func line(_ raw: UnsafeBufferPointer<UInt8>) throws(VMARecordingError) {
        lineNumber += 1
        var bytes = raw
        if bytes.last == 0x0D { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        guard bytes.count <= VMARecording.maximumLineLength else {
            throw .lineTooLong(line: lineNumber, limit: VMARecording.maximumLineLength)
        }
        if bytes.isEmpty {
            switch stage {
            case .header: throw .notARecording(firstLine: "")
            case .version: throw .malformedLine(line: 2, reason: "the format version is missing")
            default: break
            }
            blankRun += 1
            if blankRun > VMARecording.maximumBlankLines {
                throw .malformedLine(line: lineNumber, reason: "more than \(VMARecording.maximumBlankLines) blank lines "
                                         + "in a row; a VMA recording has none")
            }
            return
        }
        blankRun = 0
        let text = String(decoding: bytes, as: UTF8.self)
        switch stage {
        case .header:
            guard text == "Vulkan Memory Allocator,Calls recording" else {
                throw .notARecording(firstLine: VMARecording.quoted(text))
            }
            stage = .version
        case .version:
            let version = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            // Only 1,8's call layouts are known here; earlier versions printed other fields.
            guard version == [1, 8] else { throw .unsupportedVersion(VMARecording.quoted(text)) }
            stage = .configOrCalls
        case .configOrCalls:
            device = config.recordedDevice()
            if text == "Config,Begin" {
                stage = .config
            } else {
                stage = .calls
                calls.append(try VMARecording.call(Substring(text), line: lineNumber))
            }
        case .config:
            if text == "Config,End" {
                device = config.recordedDevice()
                stage = .calls
            } else {
                try config.read(Substring(text), line: lineNumber)
            }
        case .calls:
            calls.append(try VMARecording.call(Substring(text), line: lineNumber))
        }
    }
}
