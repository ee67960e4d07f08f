import OCI

extension GoDuration {
    /// A duration of docker_auth's configuration, written the Go way (`500ms`, `10s`, `2m`,
    /// `1h30m`; a bare number is seconds), positive and below `limit` seconds.
    static func parse(_ text: String?, key: String, default fallback: Duration, limit: Double = 86_400) throws -> Duration {
        guard let text else { return fallback }
        guard let seconds = Double(text) ?? GoDuration.seconds(text), seconds > 0, seconds < limit else {
            throw AuthError.configuration("\(key): not a duration: \(text)")
        }
        return .milliseconds(Int64(seconds * 1000))
    }
}
