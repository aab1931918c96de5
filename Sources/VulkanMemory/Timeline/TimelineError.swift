/// Why a `Timeline` could not be written or built.
public enum TimelineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The trace-event JSON could not be encoded (a time or size the encoder refused).
    case encodingFailed(reason: String)
    /// The recording to build the timeline from could not be read.
    case recording(VMARecordingError)

    /// What failed, and why.
    public var description: String {
        switch self {
        case let .encodingFailed(reason): return "cannot encode the timeline as trace-event JSON: \(reason)"
        case let .recording(error): return "cannot build a timeline from the recording: \(error)"
        }
    }
}
