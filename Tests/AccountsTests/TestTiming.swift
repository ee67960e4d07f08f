import Foundation

/// Bounds on elapsed time, stretched by `BERTH_TEST_TIME_SCALE` for runs that are slow on
/// purpose (ThreadSanitizer makes every test several times slower).
enum TestTiming {
    static let scale = Double(ProcessInfo.processInfo.environment["BERTH_TEST_TIME_SCALE"] ?? "").flatMap { $0 >= 1 ? $0 : nil } ?? 1

    static func bound(_ duration: Duration) -> Duration { duration * scale }
}
