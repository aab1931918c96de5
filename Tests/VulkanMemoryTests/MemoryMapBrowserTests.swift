import Foundation
import Testing
@testable import VulkanMemory

/// A headless Chromium that starts here, or nil: found on the path (Debian's `chromium`;
/// `make deps` installs it) and answering `--version` within 20 seconds.
let headlessChromium: String? = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = "\(directory)/\(name)"
            guard FileManager.default.isExecutableFile(atPath: candidate),
                  let run = try? runBounded(candidate, ["--version"], seconds: 20), run.status == 0 else { continue }
            return candidate
        }
    }
    return nil
}()

/// The browser test runs alone, in `make test-info`'s browser step (`VKMEM_BROWSER_TEST=1`):
/// started beside the rest of the suite on two cores, Chromium took minutes to draw a page.
let browserTestAsked = ProcessInfo.processInfo.environment["VKMEM_BROWSER_TEST"] == "1"

let needsChromium = Testing.ConditionTrait.enabled(
    if: browserTestAsked && headlessChromium != nil,
    browserTestAsked ? "skipped: no headless Chromium runs here (make deps installs Debian's chromium)"
        : "skipped here: runs alone in make test-info's browser step (VKMEM_BROWSER_TEST=1)")

/// Runs a program, killing it past `seconds`; its exit status and both outputs.
func runBounded(_ program: String, _ arguments: [String],
                seconds: Double) throws -> (status: Int32, stdout: String, stderr: String, timedOut: Bool) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vkmem-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    // Files, not pipes: a browser's chatter can fill a pipe nobody reads yet and stall it.
    let out = directory.appendingPathComponent("stdout")
    let err = directory.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    var timedOut = false
    while process.isRunning {
        if Date() > deadline {
            timedOut = true
            process.terminate()
            process.waitUntilExit()
            break
        }
        Thread.sleep(forTimeInterval: 0.05)
    }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            (try? String(contentsOf: err, encoding: .utf8)) ?? "", timedOut)
}

@Suite("Memory map in a headless browser")
struct MemoryMapBrowserTests {
    /// Chromium draws the HTML page of a known scene: each kind of range shows in its
    /// colour where the layout puts it, the page's script ran to its end with no console
    /// message, and the hostile names changed nothing.
    @Test(needsChromium, .timeLimit(.minutes(1)))
    func chromiumDrawsEachKindInItsColourAndThePageScriptRuns() throws {
        let chromium = try #require(headlessChromium)
        try withTestDevice { context in
            let dump = try MemoryDumpScene(device: context.device)
            let statistics = dump.allocator.statistics()
            try dump.destroy()
            let layout = MemoryMapLayout(statistics)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vkmem-map-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let page = directory.appendingPathComponent("map.html")
            try statistics.html().write(to: page, atomically: true, encoding: .utf8)
            let screenshot = directory.appendingPathComponent("map.png")
            let height = Int(layout.height) + 100
            let common = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                          "--disable-dev-shm-usage", "--force-device-scale-factor=1", "--force-color-profile=srgb",
                          "--user-data-dir=\(directory.appendingPathComponent("profile").path)"]

            let shot = try runBounded(chromium, common + ["--window-size=\(Int(MemoryMapLayout.width)),\(height)",
                                                          "--screenshot=\(screenshot.path)", page.absoluteString],
                                      seconds: 30)
            #expect(!shot.timedOut, "chromium --screenshot ran past 30 s")
            let image = try PNGImage(contentsOf: screenshot)
            #expect(image.width == Int(MemoryMapLayout.width) && image.height == height)

            // One box of each kind, wide enough to hit its middle, and a dedicated one.
            var checked: [MemoryMapLayout.Category: Int] = [:]
            let dedicatedRows = layout.rows.suffix(statistics.dedicated.count)
            let probes = layout.rows.flatMap(\.boxes).filter { $0.width >= 6 }
            for box in probes where checked[box.category] == nil {
                expectColour(image, x: box.x + box.width / 2, y: box.y + box.height / 2, box.category.rgb,
                             "\(box.category) \(box.name ?? "") at offset \(box.offset)")
                checked[box.category] = 1
            }
            #expect(Set(checked.keys) == Set(MemoryMapLayout.Category.allCases))
            for row in dedicatedRows {
                let box = try #require(row.boxes.first)
                expectColour(image, x: box.x + min(box.width / 2, 40), y: box.y + box.height / 2, box.category.rgb,
                             "dedicated \(box.name ?? "")")
            }
            // White beyond the end of a row narrower than the widest.
            if let narrow = layout.rows.first(where: { $0.width < MemoryMapLayout.barWidth - 40 }) {
                expectColour(image, x: narrow.x + narrow.width + 20, y: narrow.y + MemoryMapLayout.barHeight / 2,
                             (255, 255, 255), "past the end of a row")
            }

            let dom = try runBounded(chromium, common + ["--enable-logging=stderr", "--v=0", "--dump-dom",
                                                         page.absoluteString], seconds: 30)
            #expect(!dom.timedOut, "chromium --dump-dom ran past 30 s")
            let rangeCount = statistics.pages.reduce(0) { $0 + $1.ranges.count } + statistics.dedicated.count
            #expect(dom.stdout.contains("<title>Memory map ready: \(rangeCount) ranges</title>"),
                    "the page's script did not finish: \(dom.stdout.prefix(300))")
            let consoleLines = dom.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }
            #expect(consoleLines.isEmpty, "console messages: \(consoleLines)")
            let htmlTag = try #require(dom.stdout.range(of: "<html[^>]*>", options: .regularExpression))
            #expect(!dom.stdout[htmlTag].contains("pwned"), "a name ran as script: \(dom.stdout[htmlTag])")
            #expect(dom.stdout.components(separatedBy: "<script").count == 2, "a name became a script element")
        }
    }

    private func expectColour(_ image: PNGImage, x: Double, y: Double, _ expected: (red: UInt8, green: UInt8, blue: UInt8),
                              _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let px = Int(x.rounded(.down))
        let py = Int(y.rounded(.down))
        guard px >= 0, py >= 0, px < image.width, py < image.height else {
            Issue.record("\(what): (\(px), \(py)) is outside the \(image.width)×\(image.height) screenshot",
                         sourceLocation: sourceLocation)
            return
        }
        let found = image.rgb(x: px, y: py)
        let close = abs(Int(found.red) - Int(expected.red)) <= 6 && abs(Int(found.green) - Int(expected.green)) <= 6
            && abs(Int(found.blue) - Int(expected.blue)) <= 6
        #expect(close, "\(what): pixel (\(px), \(py)) is \(found), expected \(expected)", sourceLocation: sourceLocation)
    }
}
