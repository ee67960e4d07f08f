import Foundation
import OCI
import Testing

@Suite struct UTCTimestampTests {
    /// As Foundation's `.iso8601` writes the same second, across years, leap days and the epoch.
    @Test(arguments: [0, 951_782_400, 1_709_164_800, 1_796_561_979, 4_102_444_799, 253_402_300_799])
    func matchesFoundation(_ seconds: Int) {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        #expect(UTCTimestamp.iso8601(secondsSince1970: seconds) == date.formatted(.iso8601))
    }
}
