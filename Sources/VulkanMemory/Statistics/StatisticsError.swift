/// Why `Statistics` could not be written out.
public enum StatisticsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The encoder refused the value; `message` is its explanation.
    case encodingFailed(format: StatisticsFormat, message: String)

    /// What failed and why.
    public var description: String {
        switch self {
        case let .encodingFailed(format, message):
            return "cannot encode the statistics as \(format.rawValue): \(message)"
        }
    }
}
