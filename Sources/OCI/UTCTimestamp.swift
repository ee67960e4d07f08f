#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A moment as ISO 8601 in UTC to the second (`2026-12-06T12:59:36Z`), as docker_auth's
/// `issued_at` and Berth's log lines write it. Formatted by hand: it runs for every token and
/// every log line, where Foundation's date formatting was a visible cost.
public enum UTCTimestamp {
    public static func iso8601(secondsSince1970 seconds: Int) -> String {
        String(decoding: bytes(secondsSince1970: seconds), as: UTF8.self)
    }

    public static func bytes(secondsSince1970 seconds: Int) -> [UInt8] {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var out: [UInt8] = []
        out.reserveCapacity(20)
        func digits(_ value: Int32, _ count: Int) {
            var divisor: Int32 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(0x30 + UInt8(truncatingIfNeeded: (value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(parts.tm_year + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2); out.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2); out.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2); out.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2); out.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2); out.append(UInt8(ascii: "Z"))
        return out
    }
}
