/// The durations docker_auth's configuration writes the Go way: `500ms`, `10s`, `2m`
/// (a bare number is seconds).
enum GoDuration {
    static func parse(_ text: String?, key: String, default fallback: Duration) throws -> Duration {
        guard let text else { return fallback }
        let (number, unit): (String, Double) = text.hasSuffix("ms") ? (String(text.dropLast(2)), 0.001)
            : text.hasSuffix("s") ? (String(text.dropLast()), 1) : text.hasSuffix("m") ? (String(text.dropLast()), 60) : (text, 1)
        guard let value = Double(number), value > 0, value < 86_400 else {
            throw AuthError.configuration("\(key): not a duration: \(text)")
        }
        return .milliseconds(Int(value * unit * 1000))
    }
}
