import Foundation
import Testing
@testable import Workloads

/// The VMA side-by-side program (`Tools/VMASideBySide`) must run the same work as
/// `vkmem bench`: its C++ draws (`workload_draws.hpp`) are compiled here and compared,
/// value for value through a digest, with the Swift draws the workloads use.
@Suite("VMA side-by-side draws")
struct VMASideBySideDrawTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A C++ compiler on this machine, or nil.
    static let compiler: String? = ["/usr/bin/c++", "/usr/bin/g++", "/usr/bin/clang++"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// FNV-1a over each value as eight little-endian bytes, as `draws_check.cpp` hashes.
    struct Digest: Equatable, CustomStringConvertible {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var count = 0

        init<S: Sequence>(_ values: S) where S.Element: BinaryInteger {
            for value in values {
                let word = UInt64(truncatingIfNeeded: value)
                for byte in 0..<8 {
                    hash ^= (word >> UInt64(8 * byte)) & 0xff
                    hash &*= 0x100_0000_01b3
                }
                count += 1
            }
        }

        init(count: Int, hash: UInt64) {
            self.count = count
            self.hash = hash
        }

        var description: String { "\(count) values, digest \(String(hash, radix: 16))" }
    }

    /// Builds and runs `draws_check.cpp`; its lines by name.
    static func cxxDigests(compiler: String) throws -> [String: Digest] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vkmem-draws-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let program = folder.appendingPathComponent("draws_check").path
        let source = root.appendingPathComponent("Tools/VMASideBySide/draws_check.cpp").path
        #expect(try run(compiler, ["-std=c++17", "-O1", "-o", program, source]).status == 0, "draws_check.cpp did not build")
        let (status, output) = try run(program, [])
        #expect(status == 0)
        var digests: [String: Digest] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let count = Int(fields[1]), let hash = UInt64(fields[2], radix: 16) else {
                Issue.record("unexpected line from draws_check: \(line)")
                continue
            }
            digests[String(fields[0])] = Digest(count: count, hash: hash)
        }
        return digests
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("the C++ draws equal the Swift draws of W3, W1 and W2",
          .enabled(if: compiler != nil, "skipped: no C++ compiler (c++, g++ or clang++) to build draws_check.cpp"))
    func cxxDrawsEqualSwiftDraws() throws {
        let cxx = try Self.cxxDigests(compiler: try #require(Self.compiler))
        let w3 = ResourceWorkload(live: 2_000, steps: 100_000, seed: 3).draw()
        let w1 = drawSteady(live: 10_000, steps: 1_000_000, seed: 1)
        let swift: [String: Digest] = [
            "w3.initialSizes": Digest(w3.initialSizes),
            "w3.stepSizes": Digest(w3.stepSizes),
            "w3.victims": Digest(w3.victims),
            "w1.initial": Digest(w1.initial),
            "w1.sizes": Digest(w1.work.map(\.size)),
            "w1.victims": Digest(w1.work.map(\.victim)),
            "w2.order": Digest(drawFreeOrder(count: 100_000, seed: 1)),
        ]
        for (name, digest) in swift.sorted(by: { $0.key < $1.key }) {
            #expect(cxx[name] == digest, "\(name): C++ \(cxx[name].map(String.init(describing:)) ?? "missing"), Swift \(digest)")
        }
    }
}
