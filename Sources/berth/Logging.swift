import Config
import Foundation
import Logging

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
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let fields = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = Date().formatted(.iso8601)
        FileHandle.standardError.write(Data("\(time) \(event.level) \(label) :\(fields) \(event.message)\n".utf8))
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
