#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unbuffered writes to the standard streams without Foundation.
enum FileHandleWriter {
    static func writeStandardError(_ string: String) {
        var string = string
        string.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
    }
}
