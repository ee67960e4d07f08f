import Config
import Foundation
import Logging
import OCI

enum Logging {
    static func make(_ config: RegistryConfiguration) -> Logger {
        let json = config.logFormatter == "json"
        let fields = config.logFields
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            for (key, value) in fields { handler[metadataKey: key] = .string(value) }
            return handler
        }
        var logger = Logger(label: "berth")
        logger.logLevel = switch config.logLevel {
        case "debug": .debug
        case "warn": .warning
        case "error": .error
        default: .info
        }
        return logger
    }
}

/// StreamLogHandler's line format on standard error. Unlike StreamLogHandler, metadata is
/// formatted when a line is written, not each time a key is set: every request sets its
/// request id, and most requests write no line at all.
struct TextLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        // Built as bytes and written with one write(2): with the access log on, a line per
        // request, and Foundation's date formatting and string building were a tenth of a
        // token server's CPU.
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line += UTCTimestamp.bytes(secondsSince1970: time(nil))
        line.append(0x20)
        line += event.level.rawValue.utf8
        line.append(0x20)
        line += label.utf8
        line += " :".utf8
        let fields: Logger.Metadata
        if let extra = event.metadata, !extra.isEmpty {
            fields = metadata.isEmpty ? extra : metadata.merging(extra, uniquingKeysWith: { $1 })
        } else {
            fields = metadata
        }
        for key in fields.keys.sorted() {
            line.append(0x20)
            line += key.utf8
            line.append(0x3D)
            line += fields[key]!.description.utf8
        }
        line.append(0x20)
        line += event.message.description.utf8
        line.append(0x0A)
        line.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(STDERR_FILENO, bytes.baseAddress! + done, bytes.count - done)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return }
                done += n
            }
        }
    }
}

/// One JSON object per line on standard error, for log collectors.
struct JSONLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: String] = [
            "time": Date().formatted(.iso8601.time(includingFractionalSeconds: true).year().month().day().dateSeparator(.dash).timeSeparator(.colon)),
            "level": event.level.rawValue,
            "msg": event.message.description,
            "logger": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = value.description
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }
}
