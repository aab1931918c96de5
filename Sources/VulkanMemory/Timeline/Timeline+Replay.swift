extension Timeline {
    /// The timeline of a VMA recording replayed on `device`: an allocator is made with a
    /// `TimelineRecorder` among its observers, the file is replayed through it
    /// (`Allocator.replay(contentsOfFile:observe:)`), and each event is stamped with its
    /// recorded call's time. What the recording leaves alive is marked as leaked before the
    /// replay frees it.
    ///
    /// The same recorder serves live observation; this only drives it from a file.
    ///
    /// - Parameters:
    ///   - path: the recording (VMA 2.x's calls-recording CSV, format 1,8).
    ///   - device: the device to replay it on.
    ///   - options: the allocator's options; the recorder is added to its observers.
    /// - Returns: the timeline and the replay's own report (whose peaks the timeline's equal).
    /// - Throws: `TimelineError.recording` when the file cannot be read or a line is malformed.
    public static func replaying(contentsOfFile path: String, on device: VulkanDevice,
                                 options: AllocatorOptions = AllocatorOptions())
        throws(TimelineError) -> (timeline: Timeline, report: ReplayReport) {
        let recorder = TimelineRecorder(timeSource: .manual)
        var options = options
        options.observers.append(recorder)
        let allocator = Allocator(device: device, options: options)
        do {
            let (report, _) = try allocator.replay(contentsOfFile: path, observe: { call in
                recorder.setTime(seconds: call.time)
            }, beforeCleanup: { recorder.markEnd() })
            return (recorder.timeline(), report)
        } catch {
            throw .recording(error)
        }
    }
}
