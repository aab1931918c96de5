#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A long command's progress on standard error: what is running, how far, time left;
/// one line redrawn in place.
///
/// Shown only when standard error is a terminal and the command's output is for a person
/// (not `--json`): piped or redirected, nothing is written, so what a script captures is
/// byte for byte what it was without it.
final class ProgressLine {
    private let task: String
    private let total: Int
    private let isShown: Bool
    private let start = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var lastDetail = ""

    /// Progress of `task` over `total` steps; `quiet` (a `--json` run) hides it. `total`
    /// is only evaluated when the line is shown (counting a file's lines reads it).
    init(_ task: String, total: @autoclosure () -> Int, quiet: Bool = false) {
        self.task = task
        isShown = !quiet && isatty(STDERR_FILENO) == 1
        self.total = isShown ? max(total(), 1) : 1
    }

    /// `done` steps of `total` are done; `detail` says what runs now. Redrawn at most ten
    /// times a second, so a fast loop pays a clock read and no write, except when `detail`
    /// changes: a new step is always named.
    func update(_ done: Int, _ detail: String = "") {
        guard isShown else { return }
        let now = ContinuousClock.now
        if let lastDrawn, now - lastDrawn < .milliseconds(100), done < total, detail == lastDetail { return }
        lastDrawn = now
        lastDetail = detail
        let fraction = min(Double(done) / Double(total), 1)
        let elapsed = Self.seconds(now - start)
        var line = "\(task): \(Int(fraction * 100))% (\(done)/\(total))"
        if !detail.isEmpty { line += " \(detail)" }
        if fraction > 0, fraction < 1 { line += ", \(Self.duration(elapsed / fraction - elapsed)) left" }
        // Carriage return and erase-line: the line is redrawn where it stands.
        FileHandleWriter.writeStandardError("\r\u{1B}[K" + line)
    }

    /// Erases the line, so a line printed on standard output next (a check's result, on
    /// the same terminal) starts at the left and is not mixed with it; the next `update`
    /// draws it again below.
    func clear() {
        guard isShown else { return }
        FileHandleWriter.writeStandardError("\r\u{1B}[K")
    }

    /// The task is done: the line says so, with the time taken, and ends.
    func finish() {
        guard isShown else { return }
        let elapsed = Self.seconds(ContinuousClock.now - start)
        FileHandleWriter.writeStandardError("\r\u{1B}[K\(task): done in \(Self.duration(elapsed))\n")
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func duration(_ seconds: Double) -> String {
        seconds < 60 ? "\(oneDecimal(seconds)) s" : "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
    }
}
